/**
 * Every refusal leaves in the OFB shape (SPEC §1): Fastify errors, errors before a request object
 * exists (malformed HTTP, timeouts, CONNECT, Expect), each with an interaction id and `Date`.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { freshInteractionId } from '../checks/interaction-id.js';
import { wasAnswered } from './connections.js';
import {
  ExpectationFailedError,
  GatewayError,
  HeadersTooLargeError,
  InternalError,
  InvalidParameterError,
  PayloadTooLargeError,
  RequestTimeoutError,
  RouteNotFoundError,
  UnsupportedMediaTypeError,
  errorBody,
  errorContentType,
  wwwAuthenticate,
} from '../errors.js';

/** The one error handler: any error → OFB ResponseError body with the FAPI headers. */
export function answerError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const refusal = toGatewayError(error);
  // The cause in one line, no stack: during an outage every request is refused, and a stack trace
  // per request would bury the one "dependency is down" line (SPEC §7). Stacks only for 500s.
  if (refusal.statusCode >= 500) {
    const cause = refusal.cause ?? error;
    if (refusal.statusCode === 500) request.log.error({ err: cause, interactionId: request.ofb?.interactionId }, refusal.detail);
    else request.log.warn({ cause: describeCause(cause), interactionId: request.ofb?.interactionId }, refusal.detail);
  }
  reply.code(refusal.statusCode);
  reply.header('content-type', errorContentType(refusal));
  // RFC 7591 §3.2.2 / RFC 6749 §5.2: registration answers are never cached.
  if (refusal.oauthError !== undefined) reply.header('cache-control', 'no-store');
  if (request.ofb !== null && request.ofb !== undefined) {
    request.ofb.errorCode = refusal.internalCode;
    request.ofb.errorDetail = refusal.detail;
    reply.header('x-fapi-interaction-id', request.ofb.interactionId);
  }
  const authenticate = wwwAuthenticate(refusal);
  if (authenticate !== undefined) reply.header('www-authenticate', authenticate);
  if (refusal.headers) reply.headers(refusal.headers);
  const body = errorBody(refusal);
  // As bytes: Fastify would append "; charset=utf-8" to a string's application/json (RFC 8259 §11 defines no charset).
  return reply.send(refusal.oauthError !== undefined ? Buffer.from(body) : body);
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  return `${cause.name}${typeof code === 'string' ? ` ${code}` : ''}: ${cause.message}`;
}

/** Fastify's own errors (body too large, bad media type ...) mapped into the catalogue. */
export function toGatewayError(error: FastifyError | Error): GatewayError {
  if (error instanceof GatewayError) return error;
  const status = (error as FastifyError).statusCode;
  if (status === 413) return new PayloadTooLargeError();
  if (status === 415) return new UnsupportedMediaTypeError('the request content type is not supported');
  if (status === 404) return new RouteNotFoundError();
  if (status !== undefined && status >= 400 && status < 500) return new InvalidParameterError('the request could not be parsed', { cause: error });
  return new InternalError({ cause: error });
}

/**
 * Malformed HTTP before Fastify sees a request (oversized headers → 431, too slow → 408): still an
 * OFB body. Errors below HTTP (a TLS handshake that failed, timed out or was abandoned, a reset)
 * end the socket at once: an answer written there would wait for a handshake that never comes,
 * and hold the descriptor for ever (issue 10: CLOSE-WAIT sockets exhausted the descriptor limit).
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  const refusal = refusalOf(error.code);
  if (refusal === undefined || !socket.writable || wasAnswered(socket)) {
    socket.destroy();
    return;
  }
  writeRawRefusal(socket, refusal);
}

/** The answer to an HTTP-level client error (llhttp `HPE_*`, Node's request timeout); undefined below HTTP. */
function refusalOf(code: string | undefined): GatewayError | undefined {
  if (code === 'HPE_HEADER_OVERFLOW') return new HeadersTooLargeError();
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new RequestTimeoutError();
  if (code?.startsWith('HPE_') === true) return new InvalidParameterError('the HTTP request is malformed');
  return undefined;
}

/** SPEC §4: a CONNECT request (never origin-form) is answered, in the OFB shape, then closed. */
export function answerConnect(_req: IncomingMessage, socket: Socket): void {
  writeRawRefusal(socket, new InvalidParameterError('the request target must be a path starting with "/" (origin-form)'));
}

/**
 * How long a socket that was sent a raw refusal may linger for its peer's FIN: long enough for the
 * answer to be read instead of reset, bounded so a peer that never closes cannot hold the descriptor.
 */
export const LINGER_MS = 2000;

/** An OFB error written straight on the socket (no request object exists), then the connection closed. */
function writeRawRefusal(socket: Socket, refusal: GatewayError): void {
  const body = errorBody(refusal);
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
  socket.end(
    `HTTP/1.1 ${refusal.statusCode} ${STATUS_CODES[refusal.statusCode] ?? ''}\r\n` +
      `Date: ${new Date().toUTCString()}\r\n` +
      `x-fapi-interaction-id: ${freshInteractionId()}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/** Node answers an unknown `Expect` itself (417, bare); this answers it in the OFB shape instead. */
export function answerExpectation(_req: IncomingMessage, res: ServerResponse): void {
  const refusal = new ExpectationFailedError();
  res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'x-fapi-interaction-id': freshInteractionId(), connection: 'close' });
  res.end(errorBody(refusal));
}
