/**
 * What every request gets before routing and before any check (SPEC §1, §4): its canonical target
 * (request hygiene), its interaction id, and its `request.ofb` context.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OfbContext } from '../context.js';
import { freshInteractionId, isInteractionId } from '../checks/interaction-id.js';
import { HeadersTooLargeError, InvalidParameterError, type GatewayError } from '../errors.js';
import { markAnswered } from './connections.js';
import { canonicalRequest, type AmbiguousRequest } from './canonical-request.js';
import { pathOf } from './url.js';

/** Set on a raw request that canonicalRequest refused; beginRequest answers it before any check. */
const AMBIGUOUS = Symbol('guarita.ambiguousRequest');
type MarkedRequest = IncomingMessage & { [AMBIGUOUS]?: AmbiguousRequest };

/**
 * SPEC §4 request hygiene, before routing: the canonical target is what is routed, checked, logged
 * and forwarded. An ambiguous request is routed to `/` only to reach beginRequest, which refuses it.
 */
export function rewriteUrl(req: IncomingMessage): string {
  const target = canonicalRequest(req);
  if (typeof target === 'string') return target;
  (req as MarkedRequest)[AMBIGUOUS] = target;
  return '/';
}

/**
 * Every request: its interaction id (SPEC §1 — echoed on every response, refusals included) and
 * the refusal of an ambiguous target; the canonical path goes on request.ofb for checks and logs.
 */
export function beginRequest(request: FastifyRequest, reply: FastifyReply): GatewayError | undefined {
  const sent = request.headers['x-fapi-interaction-id'];
  const valid = isInteractionId(sent);
  request.ofb = new OfbContext(valid ? sent : freshInteractionId(), valid);
  reply.header('x-fapi-interaction-id', request.ofb.interactionId);
  const ambiguous = (request.raw as MarkedRequest)[AMBIGUOUS];
  if (ambiguous !== undefined) {
    // The framing of an ambiguous request cannot be trusted: answer it, then close the connection
    // (and give no second answer should the parser fail on what follows).
    reply.header('connection', 'close');
    markAnswered(request.raw.socket);
    return ambiguous.tooLarge ? new HeadersTooLargeError(ambiguous.detail) : new InvalidParameterError(ambiguous.detail);
  }
  request.ofb.path = pathOf(request.url);
  return undefined;
}

