/**
 * SPEC §10 per-consent monthly limit, right after §1 row 8 (the consent and its permission are
 * known): per UTC month, endpoint, consent id, most specific resource id and client org id
 * (operations.md "Monthly call limits"). Once the count has reached the limit → 423.
 *
 * Only 2xx answers count, and concurrent requests never let more than the limit through: a request
 * reserves one call atomically before it is forwarded (check-and-add in the store), and gives it back
 * when the answer is not 2xx, when the client went away before its answer, or when the request ends
 * without an answer.
 *
 * Pagination: the `pagination-key`s of a 2xx JSON answer's `links` are remembered for 60 minutes per
 * consent and endpoint; a request presenting a remembered key is not counted (and so never refused
 * here). A follow-up page's own keys are remembered too: every page of one query is free. An unknown
 * or expired key is counted like any request.
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Readable } from 'node:stream';
import { MonthlyLimitError } from '../errors.js';
import { ensured, type CheckDefinition } from '../checks/types.js';
import type { LimitRuntime } from './runtime.js';
import { limitProblems, limitWarnings } from './config.js';
import { perMonthTargets, type LimitTarget } from './endpoints.js';
import { monthWindow, retryAfterSeconds } from './windows.js';
import { PAGINATION_TTL_MS, paginationKeysIn, rememberedKey, requestPaginationKey, tapStream } from './pagination.js';

/** What a counted (or pagination-free) request holds until its answer is known (`request.ofb.monthlyReservation`). */
export class MonthlyReservation {
  settled = false;

  constructor(
    readonly runtime: LimitRuntime,
    /** The monthly counter it reserved one call on; undefined for a free pagination follow-up. */
    readonly counter: string | undefined,
    readonly consentId: string,
    readonly endpoint: string,
  ) {}

  /** `lim:p:<consent>:<endpoint>`: where the answer's pagination keys are remembered (built only for a page that has some). */
  get pages(): string {
    return pagesScope(this.consentId, this.endpoint);
  }
}

function pagesScope(consentId: string, endpoint: string): string {
  return `lim:p:${part(consentId)}:${part(endpoint)}`;
}

const part = encodeURIComponent;

export const perConsentMonthLimitCheck: CheckDefinition = {
  name: 'limit-per-consent-month',
  phase: 'headers',
  validate: (route, config) => limitProblems(route, config, 'perConsentMonth'),
  warnings: (route, config) => limitWarnings(route, config, 'perConsentMonth'),
  hooks(route) {
    return route.limits?.perConsentMonth === undefined ? undefined : { onSend: settleOnSend, onResponse: releaseOnResponse };
  },
  create(route, deps) {
    const setting = route.limits?.perConsentMonth;
    if (setting === undefined) return undefined;
    const runtime = ensured(deps.limits, 'deps.limits');
    const targetOf = perMonthTargets(route, setting);
    const policy = deps.config.limits.onStoreError;
    const storeError = () => deps.metrics?.limitStoreErrors.inc({ limit: 'perConsentMonth', policy });

    /** Reserve one call of this month's count, or refuse with 423 once it has reached the limit. */
    const reserveCall = (request: FastifyRequest, consentId: string, target: LimitTarget) => {
      const window = monthWindow(runtime.now());
      const ofb = request.ofb;
      const org = ofb.identity?.orgId ?? ofb.clientId ?? '';
      const counter = `lim:c:${window.id}:${part(target.endpoint)}:${part(consentId)}:${part(target.resourceId)}:${part(org)}`;
      const decide = (reserved: boolean | undefined): void => {
        if (reserved === undefined) return; // store down, onStoreError: allow — uncounted
        if (!reserved) {
          deps.metrics?.limitRefusals.inc({ route: route.path, limit: 'perConsentMonth' });
          throw new MonthlyLimitError(
            retryAfterSeconds(window),
            `the monthly limit of ${target.limit} calls to ${target.endpoint} for this consent and resource has been reached (calls still being answered count until they end)`,
          );
        }
        ofb.monthlyReservation = new MonthlyReservation(runtime, counter, consentId, target.endpoint);
      };
      const reserved = runtime.reserve(counter, target.limit, window.remainingMs, storeError);
      // The memory store answers at once: no promise on one replica.
      return reserved instanceof Promise ? reserved.then(decide) : decide(reserved);
    };

    return function perConsentMonthLimit(request) {
      const ofb = request.ofb;
      const consentId = ofb.consentId;
      // A token naming no consent (payments) has nothing to count per consent.
      if (consentId === undefined) return;
      const target = targetOf(ofb.endpoint(request.method));
      if (target === undefined) return; // exempt under `ofb`
      const pageKey = requestPaginationKey(request.url);
      if (pageKey === undefined) return reserveCall(request, consentId, target);
      const afterLookup = (seen: string | undefined) => {
        if (seen === undefined) return reserveCall(request, consentId, target);
        ofb.monthlyReservation = new MonthlyReservation(runtime, undefined, consentId, target.endpoint);
        return undefined;
      };
      const seen = runtime.get(rememberedKey(pagesScope(consentId, target.endpoint), pageKey), storeError);
      return seen instanceof Promise ? seen.then(afterLookup) : afterLookup(seen);
    };
  },
};

/**
 * The answer decides: 2xx keeps the call counted and its pagination keys are remembered; anything
 * else (the upstream's error, or a later check's refusal) gives the call back. Runs before response
 * signing, on the upstream's JSON. Callback style: most answers need no store call, and so no promise.
 */
function settleOnSend(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void): void {
  const reservation = request.ofb.monthlyReservation;
  if (reservation === undefined || reservation.settled) return done(null, payload);
  reservation.settled = true;
  const status = reply.statusCode;
  // A client gone before its answer got nothing: the call is given back, whatever the upstream said.
  if (status < 200 || status > 299 || request.raw.socket?.destroyed === true) {
    void giveBack(request, reservation).then(() => done(null, payload));
    return;
  }
  const type = reply.getHeader('content-type');
  if (typeof type !== 'string' || !/json/i.test(type)) return done(null, payload);
  if (Buffer.isBuffer(payload) || typeof payload === 'string') {
    const keys = paginationKeysIn(Buffer.isBuffer(payload) ? payload : Buffer.from(payload), requestPaginationKey(request.url));
    if (keys.length === 0) return done(null, payload);
    void remember(request, reservation, keys).then(() => done(null, payload));
    return;
  }
  if (isReadable(payload)) {
    // A large or unsized page streams through; its keys are remembered once it has passed.
    return done(
      null,
      tapStream(payload, (body) => {
        if (body !== undefined) void remember(request, reservation, paginationKeysIn(body, requestPaginationKey(request.url)));
      }),
    );
  }
  done(null, payload);
}

/** A request that reserved a call and ended without an answer (error, client gone) gives it back. */
function releaseOnResponse(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const reservation = request.ofb.monthlyReservation;
  if (reservation === undefined || reservation.settled) return done();
  reservation.settled = true;
  void giveBack(request, reservation).then(() => done());
}

async function giveBack(request: FastifyRequest, reservation: MonthlyReservation): Promise<void> {
  const counter = reservation.counter;
  if (counter === undefined) return;
  try {
    await reservation.runtime.store.release(counter);
  } catch (err) {
    // The call stays counted: the client may be refused one call early this month, never let past the limit.
    request.log.warn({ err, interactionId: request.ofb.interactionId }, 'monthly limit reservation could not be released');
  }
}

async function remember(request: FastifyRequest, reservation: MonthlyReservation, keys: readonly string[]): Promise<void> {
  try {
    await Promise.all(keys.map((key) => reservation.runtime.store.set(rememberedKey(reservation.pages, key), '1', PAGINATION_TTL_MS)));
  } catch (err) {
    // The next page will be counted: the client pays one call, the limit still holds.
    request.log.warn({ err, interactionId: request.ofb.interactionId }, 'pagination keys could not be remembered');
  }
}

function isReadable(payload: unknown): payload is Readable {
  return typeof payload === 'object' && payload !== null && typeof (payload as Readable).pipe === 'function';
}
