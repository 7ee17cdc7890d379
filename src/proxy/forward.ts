/**
 * Forwarding (SPEC §4) with @fastify/reply-from (undici): streamed bodies, method, path and query
 * kept, upstream failures mapped to OFB 502/504 (reply-from's own default maps a reset to 500).
 * Routes that verify or key on the body (`jws.request`, `idempotency`) forward the buffered body;
 * routes that sign or store responses (`jws.response`, `idempotency`) buffer the upstream's.
 */
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/reply-from';
import type { Config, Route } from '../config/load.js';
import { BadGatewayError, GatewayTimeoutError } from '../errors.js';
import { requestHeaderRewriter, responseHeaderRewriter, strippedRequestHeaders } from './headers.js';

type FromOptions = NonNullable<Parameters<FastifyReply['from']>[1]>;

/** Largest upstream response buffered for signing or idempotency storage; larger → 502. */
export const MAX_BUFFERED_RESPONSE_BYTES = 10 * 1_048_576;

/** Whether the route's request body is buffered (and so bounded by server.bodyLimit) before its checks. */
export function buffersRequestBody(route: Route): boolean {
  return route.jws?.request === true || route.idempotency;
}

/** Whether the route's upstream responses are buffered (signed, or stored for idempotency). */
export function buffersResponseBody(route: Route): boolean {
  return route.jws?.response === true || route.idempotency;
}

/** Build the handler that forwards one route's accepted requests; its options are built once. */
export function createForwarder(route: Route, config: Config, trustedProxy?: (ip: string) => boolean) {
  const names = config.upstreamHeaders;
  const extraStrip = config.server.ingress ? [config.server.ingress.header] : [];
  const stripped = strippedRequestHeaders(names, extraStrip);
  const upstream = route.upstream;
  const rewriteRequestHeaders = requestHeaderRewriter(names, stripped, route.forwardClientCert, trustedProxy);
  const options: FromOptions = {
    getUpstream: () => upstream,
    timeout: route.timeoutMs,
    rewriteRequestHeaders,
    rewriteHeaders: responseHeaderRewriter(),
    onError(reply, { error }) {
      const cause = error as { code?: string; statusCode?: number };
      // reply-from reports a headers timeout as a 504 GatewayTimeoutError; anything else is 502.
      reply.send(cause.statusCode === 504 ? new GatewayTimeoutError({ cause: error }) : new BadGatewayError({ cause: error }));
    },
  };
  if (buffersResponseBody(route)) {
    // A compressed body could be neither signed nor stored: ask the upstream for identity coding.
    options.rewriteRequestHeaders = (request, headers) => {
      const rewritten = rewriteRequestHeaders(request, headers);
      delete rewritten['accept-encoding'];
      return rewritten;
    };
    options.onResponse = captureResponse;
  }
  if (!buffersRequestBody(route)) {
    return function forward(request: FastifyRequest, reply: FastifyReply): FastifyReply {
      request.ofb.forwardedAt = performance.now();
      return reply.from(undefined, options);
    };
  }
  const asJson = route.jws?.forward === 'json';
  return function forwardBuffered(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    // SPEC §1 row 10: a repeated idempotency key gets the stored response; upstream is not called.
    const stored = request.ofb.storedResponse;
    if (stored !== undefined) {
      reply.code(stored.statusCode);
      if (stored.contentType !== undefined) reply.header('content-type', stored.contentType);
      return reply.send(stored.body);
    }
    request.ofb.forwardedAt = performance.now();
    const payload = request.ofb.jwsPayload;
    // SPEC §2: `jws.forward: json` sends the decoded payload as application/json.
    if (asJson && payload !== undefined) return reply.from(undefined, { ...options, body: payload });
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0) return reply.from(undefined, options);
    // The original bytes and Content-Type (parameters included), unchanged. reply-from would
    // otherwise re-encode an application/json Buffer and drop the Content-Type parameters.
    return reply.from(undefined, { ...options, body, contentType: request.headers['content-type'] ?? 'application/octet-stream' });
  };
}

/** reply-from `onResponse`: buffer the upstream body (bounded), settle idempotency, then send. */
const captureResponse: NonNullable<FromOptions['onResponse']> = function captureResponse(request, reply, res): void {
  readBounded(res.stream, MAX_BUFFERED_RESPONSE_BYTES).then(
    async (body) => {
      reply.removeHeader('content-length');
      const handle = request.ofb.idempotency;
      if (handle !== undefined) {
        const type = reply.getHeader('content-type');
        try {
          await handle.settle(reply.statusCode, typeof type === 'string' ? type : undefined, body);
        } catch (err) {
          // The upstream has answered: the client gets its response even if it could not be stored.
          request.log.warn({ err, interactionId: request.ofb.interactionId }, 'idempotency record could not be stored');
        }
      }
      reply.send(body);
    },
    (err: unknown) => {
      reply.send(new BadGatewayError({ cause: err }));
    },
  );
};

function readBounded(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stream.destroy(new Error(`upstream response exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}
