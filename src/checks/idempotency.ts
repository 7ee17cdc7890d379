import { createHash, hash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseStrictJson } from '../jws/strict-json.js';
import { REPLAY_TTL_MS, type ReplayStore } from '../stores/types.js';
import {
  ClientCertificateError,
  IdempotencyConflictError,
  IdempotencyError,
  MissingParameterError,
  UnprocessableParameterError,
} from '../errors.js';
import { routeKey } from '../config/problems.js';
import { ensured, type CheckDefinition } from './types.js';

/** OFB OpenAPI `x-idempotency-key`: 1–40 characters, pattern `^(?!\s)(.*)(\S)$`. */
const MAX_KEY_LENGTH = 40;

/** Every body-carrying method (OFB lists the key on POST and PATCH; a route may also accept PUT). */
const METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The in-progress lock outlives the upstream timeout by this much, then lapses on its own. */
const LOCK_MARGIN_MS = 60_000;

/** What this request holds while its key is locked: store the answer, or free the key. */
export interface IdempotencyHandle {
  /** Store the response (2xx only) for replays; any other status releases the key. */
  settle(statusCode: number, contentType: string | undefined, body: Buffer): Promise<void>;
  /** Release the in-progress lock without storing (refused, upstream error, client gone). */
  release(): Promise<void>;
}

/** A stored record: `pending` while the first request is upstream, `done` once a 2xx was stored. */
type IdempotencyRecord =
  | { state: 'pending'; target: string; fingerprint: string }
  | { state: 'done'; target: string; fingerprint: string; status: number; contentType?: string; body: string };

/**
 * SPEC §1 row 10 — `x-idempotency-key` required (missing → 422 PARAMETRO_NAO_INFORMADO, malformed →
 * 422 PARAMETRO_INVALIDO), scoped per client (client id from the token, else org_id). The request is
 * compared on the decoded `data` claim of the verified JWS (each retry carries a new jti/iat), or on
 * the JSON body of an unsigned route, plus its method and path:
 * - first use: an atomic in-progress lock is taken in the replay store (acquire) and the request
 *   forwarded; a 2xx response is stored for 24 h when it is sent (settle, onSend), anything else —
 *   or a request that ends without a response — releases the key (release, onResponse);
 * - same key, same request, response stored → the stored status and body are the answer
 *   (short-circuit: the check replies, the upstream is not called);
 * - same key, different request → 422 ERRO_IDEMPOTENCIA;
 * - same key while the first is still upstream → 409 + Retry-After (IETF idempotency-key draft
 *   §2.6): a concurrent duplicate never reaches upstream twice.
 */
export const idempotencyCheck: CheckDefinition = {
  name: 'idempotency',
  phase: 'body',
  validate(route) {
    // SPEC §1 row 10: keys are scoped per client, so the route must know the client.
    if (!route.idempotency || route.mtls === 'required' || route.auth !== undefined) return [];
    return [{ path: routeKey(route, 'idempotency'), message: 'idempotency keys are scoped per client: the route needs `mtls: required` or `auth`' }];
  },
  hooks(route) {
    return route.idempotency ? { onSend: settleOnSend, onResponse: releaseOnResponse } : undefined;
  },
  create(route, deps) {
    if (!route.idempotency) return undefined;
    const store = ensured(deps.replayStore, 'deps.replayStore');
    const lockTtlMs = route.timeoutMs + LOCK_MARGIN_MS;

    return async function enforceIdempotency(request, reply) {
      if (!METHODS.has(request.method)) return;
      const key = request.headers['x-idempotency-key'];
      // An empty header is a key not provided (PARAMETRO_NAO_INFORMADO), not a malformed one.
      if (key === undefined || key === '') throw new MissingParameterError('x-idempotency-key header is required');
      if (typeof key !== 'string' || !validKey(key)) {
        throw new UnprocessableParameterError(`x-idempotency-key must have 1 to ${MAX_KEY_LENGTH} characters, without leading or trailing white space`);
      }
      const namespace = request.ofb.clientId ?? request.ofb.identity?.orgId;
      if (namespace === undefined) throw new ClientCertificateError('idempotency keys are scoped per client: a client certificate is required');

      const storeKey = `idem:${encodeURIComponent(namespace)}:${hash('sha256', key, 'base64url')}`;
      const target = `${request.method} ${request.ofb.path ?? request.url}`;
      const fingerprint = fingerprintOf(request);
      const lock = JSON.stringify({ state: 'pending', target, fingerprint } satisfies IdempotencyRecord);

      // Two rounds: the record may lapse between a failed SET NX and the GET.
      for (let round = 0; round < 2; round++) {
        if (await store.setIfAbsent(storeKey, lock, lockTtlMs)) {
          request.ofb.idempotency = idempotencyHandle(store, storeKey, target, fingerprint);
          return;
        }
        const record = parseRecord(await store.get(storeKey));
        if (record === undefined) continue;
        if (record.target !== target) throw new IdempotencyError('this x-idempotency-key was already used for a different request (method or path)');
        if (record.fingerprint !== fingerprint) throw new IdempotencyError();
        if (record.state === 'pending') throw new IdempotencyConflictError();
        // Short-circuit: the stored answer is the response; the upstream is not called.
        reply.code(record.status);
        if (record.contentType !== undefined) reply.header('content-type', record.contentType);
        // Returning the (thenable) reply makes this check settle once the answer has been sent.
        return reply.send(Buffer.from(record.body, 'base64'));
      }
      throw new IdempotencyConflictError();
    };
  },
};

/**
 * Settle when the answer is sent: the payload here is the upstream's body (the forwarder reads an
 * idempotent route's response whole), before any response signing. A gateway refusal after the
 * lock (502, 504) is not 2xx, so it frees the key.
 */
async function settleOnSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  const handle = request.ofb.idempotency;
  if (handle === undefined) return payload;
  const type = reply.getHeader('content-type');
  const body = Buffer.isBuffer(payload) ? payload : typeof payload === 'string' ? Buffer.from(payload) : undefined;
  try {
    if (body === undefined) await handle.release();
    else await handle.settle(reply.statusCode, typeof type === 'string' ? type : undefined, body);
  } catch (err) {
    // The upstream has answered: the client gets its response even if it could not be stored.
    request.log.warn({ err, interactionId: request.ofb.interactionId }, 'idempotency record could not be stored');
  }
  return payload;
}

/** A request that took a key and ended without settling it (client gone, error) frees the key. */
async function releaseOnResponse(request: FastifyRequest): Promise<void> {
  const handle = request.ofb.idempotency;
  if (handle === undefined) return;
  try {
    await handle.release();
  } catch (err) {
    request.log.warn({ err, interactionId: request.ofb.interactionId }, 'idempotency key could not be released');
  }
}

/** 1–40 characters, not starting or ending with white space. */
function validKey(key: string): boolean {
  return key.length >= 1 && key.length <= MAX_KEY_LENGTH && !/^\s|\s$/.test(key);
}

/**
 * SPEC §1 row 10 compares the decoded `data`: SHA-256 of the canonical JSON of the JWS `data` claim,
 * else of the JSON body's `data` member (or the whole JSON body when it has none), else of the raw bytes.
 */
function fingerprintOf(request: FastifyRequest): string {
  const sha256 = createHash('sha256');
  const payload = request.ofb.jwsPayload;
  if (payload !== undefined) return sha256.update(`data:${canonicalJson(payload.data ?? null)}`).digest('base64url');
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  let json: unknown;
  try {
    // Strict: a body repeating `data` could be read differently here and upstream; it is then
    // compared byte for byte instead.
    json = parseStrictJson(body.toString('utf8'));
  } catch {
    return sha256.update('raw:').update(body).digest('base64url');
  }
  if (typeof json === 'object' && json !== null && !Array.isArray(json) && 'data' in json) {
    return sha256.update(`data:${canonicalJson((json as { data: unknown }).data)}`).digest('base64url');
  }
  return sha256.update(`json:${canonicalJson(json)}`).digest('base64url');
}

/** JSON with object members sorted by name, recursively: equal data → equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function parseRecord(raw: string | undefined): IdempotencyRecord | undefined {
  if (raw === undefined) return undefined;
  try {
    const record = JSON.parse(raw) as IdempotencyRecord;
    return record.state === 'pending' || record.state === 'done' ? record : undefined;
  } catch {
    return undefined;
  }
}

function idempotencyHandle(store: ReplayStore, storeKey: string, target: string, fingerprint: string): IdempotencyHandle {
  let settled = false;
  return {
    async settle(statusCode, contentType, body) {
      if (settled) return;
      settled = true;
      // SPEC §1 row 10: only 2xx responses are stored; anything else frees the key for a retry.
      if (statusCode < 200 || statusCode > 299) {
        await store.delete(storeKey);
        return;
      }
      const record: IdempotencyRecord = {
        state: 'done',
        target,
        fingerprint,
        status: statusCode,
        ...(contentType === undefined ? {} : { contentType }),
        body: body.toString('base64'),
      };
      await store.set(storeKey, JSON.stringify(record), REPLAY_TTL_MS);
    },
    async release() {
      if (settled) return;
      settled = true;
      await store.delete(storeKey);
    },
  };
}
