/**
 * buildApp(config) → a Fastify instance on the mTLS listener: one route per routes.yaml entry,
 * each with its checks (fixed order, src/checks/registry.ts) and its forwarder.
 */
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config, Route } from './config/load.js';
import { OfbContext } from './context.js';
import { checksFor, type NamedCheck } from './checks/registry.js';
import { freshInteractionId, isInteractionId } from './checks/interaction-id.js';
import type { CheckDeps } from './checks/types.js';
import { buffersRequestBody, createForwarder, UpstreamPools } from './proxy/forward.js';
import { responseSigningHook, type ResponseSigner } from './proxy/sign-response.js';
import { ServerTls } from './tls/server-options.js';
import { socketSource, type CertificateSource } from './tls/certificate-source.js';
import { STATUS_CODES, createServer as createHttpServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { GatewayMetrics } from './metrics.js';
import { createServices, type Services } from './services.js';
import { canonicalRequest, type AmbiguousRequest } from './edge/canonical-request.js';
import { pathOf } from './edge/url.js';
import { connectionSettings, serverTimeouts } from './edge/connections.js';
import {
  GatewayError,
  HeadersTooLargeError,
  InternalError,
  InvalidParameterError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RequestTimeoutError,
  RouteNotFoundError,
  ServiceUnavailableError,
  UnsupportedMediaTypeError,
  errorBody,
  wwwAuthenticate,
} from './errors.js';

export interface AppOptions {
  /** pino logger; false for none (tests). */
  readonly logger?: FastifyBaseLogger | false;
  /** The listener's TLS material (built from config.server.tls when omitted). */
  readonly tls?: ServerTls;
  /** Where request counts and latencies go (none when omitted). */
  readonly metrics?: GatewayMetrics;
  /** Shared services (introspection, store, directory, signer); the caller closes them. */
  readonly services?: Services;
  /**
   * `tls` (default): the mTLS listener, certificates from the handshake. `ingress`: plain HTTP
   * behind a TLS-terminating proxy, certificates from `certificates` (the trusted header, SPEC §3).
   */
  readonly listener?: 'tls' | 'ingress';
  readonly certificates?: CertificateSource;
  /** Ingress mode: whether a peer address is a trusted proxy (its x-forwarded-for is kept and appended to). */
  readonly trustedProxy?: (ip: string) => boolean;
}

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Set on a raw request that canonicalRequest refused; startRequest answers it before any check. */
const AMBIGUOUS = Symbol('guarita.ambiguousRequest');
type MarkedRequest = IncomingMessage & { [AMBIGUOUS]?: AmbiguousRequest };

/**
 * SPEC §4 request hygiene, before routing: the canonical target is what is routed, checked, logged
 * and forwarded. An ambiguous request is routed to `/` only to reach startRequest, which refuses it.
 */
function rewriteUrl(req: IncomingMessage): string {
  const target = canonicalRequest(req);
  if (typeof target === 'string') return target;
  (req as MarkedRequest)[AMBIGUOUS] = target;
  return '/';
}

/** Build the gateway's Fastify instance on the mTLS listener (not yet listening). */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const logger = options.logger ?? false;
  const timeouts = serverTimeouts(connectionSettings(config));
  // requireHostHeader off: canonicalRequest refuses a missing Host itself, with an OFB body.
  const listenerOptions = { maxHeaderSize: config.server.maxHeaderSize, requireHostHeader: false, ...timeouts };
  const app = Fastify({
    ...(options.listener === 'ingress'
      ? { serverFactory: (handler: RequestListener) => createHttpServer(listenerOptions, handler) }
      : { https: { ...(options.tls ?? new ServerTls(config.server.tls)).serverOptions(), ...listenerOptions } }),
    // Fastify sets these on the server itself: the same values as the listener's.
    keepAliveTimeout: timeouts.keepAliveTimeout,
    requestTimeout: timeouts.requestTimeout,
    ...(logger === false ? { logger: false } : { loggerInstance: logger }),
    // One log line per request comes from our own onResponse hook (recordRequest).
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    bodyLimit: config.server.bodyLimit,
    // Requests arriving while draining get an OFB 503 from startRequest instead of Fastify's own.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    rewriteUrl,
    clientErrorHandler: answerClientError,
    // Errors Fastify raises before routing (a malformed URL) still get the OFB body and headers.
    frameworkErrors(error, request, reply) {
      request.ofb ??= new OfbContext(freshInteractionId(), false);
      answerError(new InvalidParameterError('the request URL is malformed', { cause: error }), request, reply);
    },
  });
  app.server.on('connect', answerConnect);
  // Node answers an unknown `Expect` itself (417, bare); answer it in the OFB shape instead.
  app.server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const refusal = new GatewayError(417, 'PARAMETRO_INVALIDO', 'Expectativa não suportada', 'only Expect: 100-continue is supported');
    res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'x-fapi-interaction-id': freshInteractionId(), connection: 'close' });
    res.end(errorBody(refusal));
  });

  // Shared services come from the caller (src/server.ts); built and closed here otherwise.
  const services = options.services ?? createServices(config, app.log);
  if (options.services === undefined) app.addHook('onClose', () => services.close());
  const deps: CheckDeps = { ...services, config, certificates: options.certificates ?? socketSource };
  const signer = services.signer;
  app.decorateRequest('ofb', null as unknown as OfbContext);
  const pools = new UpstreamPools();
  app.addHook('onClose', () => pools.close());

  // Bodies stream to the upstream untouched, whatever their type (application/jwt included).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  let draining = false;
  app.addHook('preClose', (done) => {
    draining = true;
    done();
  });
  app.addHook('onRequest', function startRequest(request, reply, done) {
    const refusal = beginRequest(request, reply);
    if (refusal === undefined && draining) {
      reply.header('connection', 'close');
      done(new ServiceUnavailableError({ cause: new Error('the gateway is shutting down') }));
      return;
    }
    done(refusal);
  });
  app.addHook('onResponse', requestRecorder(options.metrics));
  app.setErrorHandler(answerError);
  app.setNotFoundHandler(function routeNotFound() {
    throw new RouteNotFoundError();
  });
  registerMethodNotAllowed(app, config.routes);

  for (const route of config.routes) if (!buffersRequestBody(route)) registerRoute(app, route, config, deps, signer, pools, options.trustedProxy);
  const buffered = config.routes.filter(buffersRequestBody);
  if (buffered.length > 0) {
    // Signed and idempotent routes read their body before forwarding (bounded by server.bodyLimit
    // → 413); an encapsulated context keeps every other route streaming.
    await app.register(async function bufferedBodies(child) {
      child.removeAllContentTypeParsers();
      child.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.server.bodyLimit }, (_request, body, done) => done(null, body));
      for (const route of buffered) registerRoute(child, route, config, deps, signer, pools, options.trustedProxy);
    });
  }
  return app;
}

function registerRoute(
  app: FastifyInstance,
  route: Route,
  config: Config,
  deps: CheckDeps,
  signer: ResponseSigner | undefined,
  pools: UpstreamPools,
  trustedProxy: ((ip: string) => boolean) | undefined,
): void {
  const checks = checksFor(route, deps);
  const handler = createForwarder(route, config, pools, trustedProxy);
  // A copy: Fastify normalises the array in place, and the config is deeply frozen.
  const method = [...(route.methods ?? ALL_METHODS)];
  const onRequest = checkRunner(checks.headers, route);
  const preHandler = checks.body.length > 0 ? checkRunner(checks.body) : undefined;
  // The checks' own hooks first (idempotency stores the upstream's unsigned answer), then SPEC §2:
  // 200/201/202/422 JSON responses of jws.response routes are signed.
  const onSend = [...checks.hooks.flatMap((h) => (h.onSend ? [h.onSend] : [])), ...(route.jws?.response && signer ? [responseSigningHook(signer)] : [])];
  const onResponse = checks.hooks.flatMap((h) => (h.onResponse ? [h.onResponse] : []));
  // Prefix match on whole segments: `/a/b` serves `/a/b` and `/a/b/...`, never `/a/bc`.
  const urls = route.path === '/' ? ['/', '/*'] : [route.path, `${route.path}/*`];
  for (const url of urls) {
    app.route({
      method,
      url,
      handler,
      onRequest,
      ...(preHandler ? { preHandler } : {}),
      ...(onSend.length > 0 ? { onSend } : {}),
      ...(onResponse.length > 0 ? { onResponse } : {}),
    });
  }
}

/**
 * Runs checks in registry order; the failing one's name stays on request.ofb for logs and metrics.
 * The header phase also records the matched route (it runs first, in onRequest).
 */
function checkRunner(checks: readonly NamedCheck[], route?: Route) {
  return async function runChecks(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const ofb = request.ofb;
    if (route !== undefined) ofb.route = route;
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i] as NamedCheck;
      ofb.failedCheck = check.name;
      const pending = check.run(request, reply);
      if (pending !== undefined) await pending;
      // A check that answered itself (idempotency's stored response) ends the chain: its promise
      // settled once the answer was sent, and Fastify skips the handler of a sent reply.
      if (reply.sent) {
        ofb.failedCheck = undefined;
        return reply;
      }
    }
    ofb.failedCheck = undefined;
    return undefined;
  };
}

/** Every request: its interaction id (SPEC §1 — echoed on every response) and path hygiene. */
function beginRequest(request: FastifyRequest, reply: FastifyReply): GatewayError | undefined {
  const sent = request.headers['x-fapi-interaction-id'];
  const valid = isInteractionId(sent);
  request.ofb = new OfbContext(valid ? sent : freshInteractionId(), valid);
  reply.header('x-fapi-interaction-id', request.ofb.interactionId);
  const ambiguous = (request.raw as MarkedRequest)[AMBIGUOUS];
  if (ambiguous !== undefined) return new InvalidParameterError(ambiguous.detail);
  request.ofb.path = pathOf(request.url);
  return undefined;
}

/**
 * SPEC §1 row 0: the longest path prefix decides, then the method. A method no route of that path
 * accepts is 405 — it never falls back to a shorter prefix (whose checks may be weaker).
 */
function registerMethodNotAllowed(app: FastifyInstance, routes: readonly Route[]): void {
  const byPath = new Map<string, Set<string>>();
  for (const r of routes) {
    const methods = byPath.get(r.path) ?? new Set<string>();
    for (const m of r.methods ?? ALL_METHODS) methods.add(m);
    byPath.set(r.path, methods);
  }
  for (const [path, allowed] of byPath) {
    const others = ALL_METHODS.filter((m) => !allowed.has(m));
    if (others.length === 0) continue;
    const allow = [...allowed];
    const urls = path === '/' ? ['/', '/*'] : [path, `${path}/*`];
    for (const url of urls) {
      app.route({
        method: others,
        url,
        handler() {
          throw new MethodNotAllowedError(allow);
        },
      });
    }
  }
}

/** One JSON log line per request (SPEC §7) — never the query string, a token or a body — and the metrics. */
function requestRecorder(metrics: GatewayMetrics | undefined) {
  return function recordRequest(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    const ofb = request.ofb;
    const route = ofb.route?.path;
    const status = reply.statusCode;
    // Built only when it will be written: the hot path allocates nothing for a disabled level.
    if ((request.log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') === true) request.log.info(
      {
        interactionId: ofb.interactionId,
        method: request.method,
        path: ofb.path,
        route,
        status,
        failedCheck: ofb.failedCheck,
        orgId: ofb.identity?.orgId,
        softwareId: ofb.identity?.softwareId,
        clientId: ofb.clientId,
        latencyMs: Math.round(reply.elapsedTime * 100) / 100,
        upstreamMs: ofb.upstreamMs === undefined ? undefined : Math.round(ofb.upstreamMs * 100) / 100,
      },
      'request',
    );
    if (metrics !== undefined) {
      metrics.recordRequest(route ?? '(none)', request.method, status, ofb.upstreamMs === undefined ? undefined : ofb.upstreamMs / 1000);
      if (ofb.errorCode !== undefined) metrics.refusals.inc({ check: ofb.failedCheck ?? 'gateway', code: ofb.errorCode });
    }
    done();
  };
}

/** The one error handler: any error → OFB ResponseError body with the FAPI headers. */
function answerError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const refusal = toGatewayError(error);
  if (refusal.statusCode >= 500) request.log.warn({ err: refusal.cause ?? error, interactionId: request.ofb?.interactionId }, refusal.detail);
  reply.code(refusal.statusCode);
  reply.header('content-type', 'application/json; charset=utf-8');
  if (request.ofb !== null && request.ofb !== undefined) {
    request.ofb.errorCode = refusal.code;
    reply.header('x-fapi-interaction-id', request.ofb.interactionId);
  }
  const authenticate = wwwAuthenticate(refusal);
  if (authenticate !== undefined) reply.header('www-authenticate', authenticate);
  if (refusal.headers) reply.headers(refusal.headers);
  return reply.send(errorBody(refusal));
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
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  const refusal = refusalOf(error.code);
  if (refusal === undefined || !socket.writable) {
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
function answerConnect(_req: IncomingMessage, socket: Socket): void {
  writeRawRefusal(socket, new InvalidParameterError('the request target must be a path starting with "/" (origin-form)'));
}

/**
 * How long a socket that was sent a raw refusal may linger for its peer's FIN: long enough for the
 * answer to be read instead of reset, bounded so a peer that never closes cannot hold the descriptor.
 */
const LINGER_MS = 2000;

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
