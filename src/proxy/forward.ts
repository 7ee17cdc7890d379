/**
 * Forwarding (SPEC §4) straight on undici: one keep-alive pool per upstream origin, bodies streamed
 * both ways, method, path and query kept, upstream failures mapped to OFB 502/504.
 * Routes that verify or key on the body (`jws.request`, `idempotency`) forward the buffered body;
 * routes that sign or store responses (`jws.response`, `idempotency`) buffer the upstream's.
 *
 * Not @fastify/reply-from: in `npm run bench` its per-request work (URL cache keyed by a JSON
 * string, header copies, its own stream plumbing) was the largest gateway-side cost on the hot path.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Pool } from 'undici';
import type { Config, Route } from '../config/load.js';
import { carriesBody } from '../edge/canonical-request.js';
import { BadGatewayError, GatewayTimeoutError } from '../errors.js';
import { filterHeaders, requestHeaderRewriter, responseHeaderRewriter, strippedRequestHeaders } from './headers.js';

/** Largest upstream response buffered for signing or idempotency storage; larger → 502. */
export const MAX_BUFFERED_RESPONSE_BYTES = 10 * 1_048_576;

/**
 * Responses up to this declared length are read whole and sent as one buffer: streaming them costs
 * more than the copy (`npm run bench`, row (d): about 6 µs of ~85 per request went to piping a small
 * JSON body through Node streams). Larger or unsized bodies stream.
 */
export const SMALL_RESPONSE_BYTES = 64 * 1024;

/** Whether the route's request body is buffered (and so bounded by server.bodyLimit) before its checks. */
export function buffersRequestBody(route: Route): boolean {
  return route.jws?.request === true || route.idempotency || route.dcr;
}

/** Whether the route's upstream responses are buffered (signed, or stored for idempotency). */
export function buffersResponseBody(route: Route): boolean {
  return route.jws?.response === true || route.idempotency;
}

/** Keep-alive connection pools by upstream origin, shared by the routes of one listener. */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

  get(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /**
   * Runs once the listener has closed, so every client connection is gone: an upstream request
   * still open belongs to nobody (a client that stalled mid-body) and is destroyed, not awaited.
   */
  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.destroy()));
    this.#pools.clear();
  }
}

/** Build the handler that forwards one route's accepted requests; everything per-route is built once. */
export function createForwarder(route: Route, config: Config, pools: UpstreamPools, trustedProxy?: (ip: string) => boolean) {
  const names = config.upstreamHeaders;
  const extraStrip = config.server.ingress ? [config.server.ingress.header] : [];
  // undici refuses `expect`, and sets `host` (the upstream's) itself.
  const stripped = strippedRequestHeaders(names, [...extraStrip, 'host', 'expect']);
  const publicBaseUrl = config.server.publicBaseUrl;
  const rewriteRequestHeaders = requestHeaderRewriter(names, route.forwardClientCert, trustedProxy, publicBaseUrl === undefined ? undefined : new URL(publicBaseUrl).host);
  const rewriteResponseHeaders = responseHeaderRewriter();
  const pool = pools.get(route.upstream);
  const timeout = route.timeoutMs;
  const captures = buffersResponseBody(route);
  const buffered = buffersRequestBody(route);
  const asJson = route.jws?.forward === 'json';

  return async function forward(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const ofb = request.ofb;

    const headers = filterHeaders(request.headers, stripped);
    let body: Buffer | Readable | undefined;
    if (buffered) {
      const payload = ofb.jwsPayload;
      let bytes: Buffer | undefined;
      // SPEC §2: `jws.forward: json` sends the decoded payload as application/json; by default the
      // original bytes and Content-Type (parameters included) go unchanged.
      if (asJson && payload !== undefined) {
        bytes = Buffer.from(JSON.stringify(payload));
        headers['content-type'] = 'application/json';
      } else if (Buffer.isBuffer(request.body) && request.body.length > 0) {
        bytes = request.body;
      }
      if (bytes !== undefined) headers['content-length'] = String(bytes.length);
      else delete headers['content-length'];
      body = bytes;
    } else if (carriesBody(request.raw)) {
      body = request.raw;
    }
    // A compressed body could be neither signed nor stored: ask the upstream for identity coding.
    if (captures) delete headers['accept-encoding'];
    rewriteRequestHeaders(request, headers);

    ofb.forwardedAt = performance.now();
    // SPEC §4: where the response is read whole, timeoutMs bounds all of it — undici's bodyTimeout
    // is per chunk, and an upstream trickling a few bytes at a time would hold the client for ever.
    const deadline = captures ? new Deadline(timeout) : undefined;
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      res = await pool.request({
        method: request.method as 'GET',
        path: request.url,
        headers,
        body: body ?? null,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: deadline?.signal,
      });
    } catch (err) {
      deadline?.clear();
      throw upstreamError(err);
    }
    const responseHeaders = rewriteResponseHeaders(res.headers as IncomingHttpHeaders, request);
    if (!captures && carriesNoBody(request.method, res.statusCode)) {
      // Nothing to read — and undici fails a 304 whose Content-Length (the representation's, as
      // RFC 9110 §8.6 allows) was not followed by that many bytes.
      res.body.dump().catch(() => undefined);
      if (res.statusCode === 204) delete responseHeaders['content-length'];
      reply.code(res.statusCode);
      reply.headers(responseHeaders);
      return reply.send();
    }
    if (!captures && !isSmallBody(responseHeaders)) {
      reply.code(res.statusCode);
      reply.headers(responseHeaders);
      return reply.send(guardStream(res.body, reply, responseHeaders));
    }

    // Read whole before anything goes on the reply: nothing was sent yet, so an upstream that breaks
    // off mid-body is an OFB 502 (504 on a body timeout), never a truncated 200 — and the error
    // carries none of the upstream's headers (Content-Encoding, ETag, Set-Cookie ...).
    let received: Buffer;
    try {
      received = captures ? await readBounded(res.body, MAX_BUFFERED_RESPONSE_BYTES) : Buffer.from(await res.body.arrayBuffer());
    } catch (err) {
      throw upstreamError(err);
    } finally {
      deadline?.clear();
    }
    reply.code(res.statusCode);
    reply.headers(responseHeaders);
    if (!captures) return reply.send(received);

    // Whole for the route's onSend hooks (signing, idempotency storage), which set their own length.
    reply.removeHeader('content-length');
    return reply.send(received);
  };
}

/**
 * SPEC §4: the whole-response bound of routes that read the upstream's response whole. Aborting the
 * undici request with a GatewayTimeoutError fails the header wait or the body read with it → 504.
 */
class Deadline {
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;

  constructor(ms: number) {
    this.#timer = setTimeout(() => this.#controller.abort(new GatewayTimeoutError({ cause: new Error(`the upstream response took over ${ms} ms`) })), ms);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

/**
 * A streamed upstream body whose failure (bad chunk, reset, body timeout) reaches Fastify as an OFB
 * 502/504 (SPEC §4) instead of an unknown error it would answer with 500.
 * - Before the first byte went to the client, the reply is still open: the upstream's headers are
 *   taken off it (an error must not carry its Content-Encoding, ETag, Set-Cookie ...) and the client
 *   gets the OFB error.
 * - After, the status line is gone: Fastify destroys the client connection, so the client sees a
 *   response cut short (no final chunk, or fewer bytes than Content-Length), never a complete one.
 * Only bodies too large or of unknown length to read whole pay for this extra stream.
 */
function guardStream(source: Readable, reply: FastifyReply, upstreamHeaders: IncomingHttpHeaders): Readable {
  const guarded = new PassThrough({
    destroy(err, callback) {
      // The client went away (or the upstream failed): stop reading the upstream, free the connection.
      source.destroy();
      callback(err);
    },
  });
  source.on('error', (err) => {
    if (!reply.raw.headersSent) {
      for (const name in upstreamHeaders) {
        if (name === 'x-fapi-interaction-id') continue;
        reply.removeHeader(name);
        reply.raw.removeHeader(name);
      }
    }
    guarded.destroy(upstreamError(err));
  });
  return source.pipe(guarded);
}

/** RFC 9110 §6.4.1: responses to HEAD, and 1xx, 204 and 304 responses, carry no body whatever their headers say. */
function carriesNoBody(method: string, status: number): boolean {
  return method === 'HEAD' || status < 200 || status === 204 || status === 304;
}

/**
 * Whether the upstream's body is small enough to read whole: a declared length within
 * SMALL_RESPONSE_BYTES and a content type (Fastify would add application/octet-stream to a buffer
 * sent without one).
 */
function isSmallBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  if (typeof length !== 'string' || headers['content-type'] === undefined) return false;
  const bytes = Number(length);
  return Number.isInteger(bytes) && bytes <= SMALL_RESPONSE_BYTES;
}

/** SPEC §4: a timeout waiting for the upstream → 504; refused, reset or anything else → 502. */
function upstreamError(err: unknown): BadGatewayError | GatewayTimeoutError {
  if (err instanceof BadGatewayError || err instanceof GatewayTimeoutError) return err;
  const code = (err as { code?: string }).code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' ? new GatewayTimeoutError({ cause: err }) : new BadGatewayError({ cause: err });
}

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
