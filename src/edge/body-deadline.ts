/**
 * SPEC §4 Connections: a request's body must arrive within its route's `timeoutMs`. A client that
 * stops sending gets a 408 in the OFB shape (or, once an answer has started, loses the connection),
 * and its connection is closed; what the upstream was sent so far is aborted with it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestTimeoutError } from '../errors.js';
import { carriesBody } from './canonical-request.js';
import { answerError, LINGER_MS } from './refusals.js';

/** Start the route's body deadline for a request that announced a body (no timer otherwise). */
export function startBodyDeadline(request: FastifyRequest, reply: FastifyReply, timeoutMs: number): void {
  const raw = request.raw;
  if (!carriesBody(raw) || raw.complete) return;
  const timer = setTimeout(() => {
    if (raw.complete) return;
    if (reply.sent || reply.raw.headersSent) {
      raw.socket.destroy();
      return;
    }
    reply.header('connection', 'close');
    const refusal = new RequestTimeoutError(`the request body was not received within ${timeoutMs} ms`);
    answerError(refusal, request, reply);
    // Once the answer is out (and had time to be read), the request stream ends in an error: the
    // forwarder's upstream request, fed by it, is aborted instead of waiting for bytes never sent.
    reply.raw.once('finish', () => setTimeout(() => raw.destroy(refusal), LINGER_MS).unref());
  }, timeoutMs);
  timer.unref();
  const stop = () => clearTimeout(timer);
  raw.once('end', stop);
  raw.once('close', stop);
}
