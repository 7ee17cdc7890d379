/**
 * buildApp(config, options) → the Fastify instance of one listener: one route per routes.yaml
 * entry, each with its checks (fixed order, src/checks/registry.ts) and its forwarder. The services
 * and TLS material come from src/server.ts, the only place that wires them.
 */
import { createServer as createHttpServer, type RequestListener } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config, Route } from './config/load.js';
import { OfbContext } from './context.js';
import { checksFor, type NamedCheck } from './checks/registry.js';
import { freshInteractionId } from './checks/interaction-id.js';
import type { CheckDeps } from './checks/types.js';
import { buffersRequestBody, createForwarder, UpstreamPools } from './proxy/forward.js';
import { responseSigningHook, type ResponseSigner } from './proxy/sign-response.js';
import type { ServerTls } from './tls/server-options.js';
import type { CertificateSource } from './tls/certificate-source.js';
import type { GatewayMetrics } from './metrics.js';
import type { Services } from './services.js';
import { connectionSettings, serverTimeouts } from './edge/connections.js';
import { beginRequest, rewriteUrl } from './edge/request-start.js';
import { requestRecorder } from './edge/request-log.js';
import { createCallRecorder } from './pcm/call-recorder.js';
import type { PcmReporter } from './pcm/reporter.js';
import { answerClientError, answerConnect, answerError, answerExpectation } from './edge/refusals.js';
import { HTTP_METHODS, registerMethodNotAllowed, routeNotFound, urlsFor } from './edge/routing.js';
import { startBodyDeadline } from './edge/body-deadline.js';
import { ClientCertificateError, InvalidParameterError, ServiceUnavailableError } from './errors.js';

export interface AppOptions {
  /** pino logger; false for none (tests). */
  readonly logger?: FastifyBaseLogger | false;
  /** The mTLS listener's TLS material (unused on the ingress listener). */
  readonly tls?: ServerTls;
  /** Where request counts and latencies go (none when omitted). */
  readonly metrics?: GatewayMetrics;
  /** Shared services (introspection, store, directory, signer); the caller closes them. */
  readonly services: Services;
  /**
   * `tls` (default): the mTLS listener, certificates from the handshake. `ingress`: plain HTTP
   * behind a TLS-terminating proxy, certificates from `certificates` (the trusted header, SPEC §3).
   */
  readonly listener?: 'tls' | 'ingress';
  readonly certificates: CertificateSource;
  /** Ingress mode: whether a peer address is a trusted proxy (its x-forwarded-for is kept and appended to). */
  readonly trustedProxy?: (ip: string) => boolean;
  /** SPEC §11: where the PCM report of each answered OFB catalogue call goes (none when omitted). */
  readonly pcm?: PcmReporter | undefined;
}

/** Build the gateway's Fastify instance on the mTLS listener (not yet listening). */
export async function buildApp(config: Config, options: AppOptions): Promise<FastifyInstance> {
  const logger = options.logger ?? false;
  const timeouts = serverTimeouts(connectionSettings(config));
  // requireHostHeader off: canonicalRequest refuses a missing Host itself, with an OFB body.
  const listenerOptions = { maxHeaderSize: config.server.maxHeaderSize, requireHostHeader: false, ...timeouts };
  const app = Fastify({
    ...(options.listener === 'ingress'
      ? { serverFactory: (handler: RequestListener) => createHttpServer(listenerOptions, handler) }
      : { https: { ...tlsOf(options).serverOptions(), ...listenerOptions } }),
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
  // Keep every header field: Node would drop those past its cap unseen (canonicalRequest refuses them).
  app.server.maxHeadersCount = 0;
  app.server.on('connect', answerConnect);
  app.server.on('checkExpectation', answerExpectation);

  const services = options.services;
  const deps: CheckDeps = { ...services, config, certificates: options.certificates, metrics: options.metrics };
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
  const untrustedHeader = options.listener === 'ingress' ? untrustedCertificateHeader(config, options.trustedProxy) : undefined;
  app.addHook('onRequest', function startRequest(request, reply, done) {
    const refusal = beginRequest(request, reply) ?? untrustedHeader?.(request);
    if (refusal === undefined && draining) {
      reply.header('connection', 'close');
      done(new ServiceUnavailableError({ cause: new Error('the gateway is shutting down') }));
      return;
    }
    done(refusal);
  });
  const calls = createCallRecorder({ reporter: options.pcm, metrics: options.metrics, certificates: options.certificates, trustedProxy: options.trustedProxy });
  app.addHook('onResponse', requestRecorder(options.metrics, calls));
  app.setErrorHandler(answerError);
  app.setNotFoundHandler(routeNotFound);
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

/**
 * SPEC §3 ingress mode: the certificate header from anyone but a trusted proxy is an attack and is
 * refused on every route — not only where a certificate is checked.
 */
function untrustedCertificateHeader(config: Config, trustedProxy: ((ip: string) => boolean) | undefined) {
  const header = config.server.ingress?.header;
  return (request: FastifyRequest): ClientCertificateError | undefined => {
    if (header === undefined || request.headers[header] === undefined) return undefined;
    if (trustedProxy?.(request.socket.remoteAddress ?? '') === true) return undefined;
    return new ClientCertificateError(`${header} is only accepted from a trusted proxy`);
  };
}

function tlsOf(options: AppOptions): ServerTls {
  if (options.tls === undefined) throw new TypeError('buildApp: the mTLS listener needs its TLS material (options.tls)');
  return options.tls;
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
  const method = [...(route.methods ?? HTTP_METHODS)];
  const onRequest = checkRunner(checks.headers, route);
  const preHandler = checks.body.length > 0 ? checkRunner(checks.body) : undefined;
  // The checks' own hooks first (idempotency stores the upstream's unsigned answer), then SPEC §2:
  // 200/201/202/422 JSON responses of jws.response routes are signed.
  const onSend = [...checks.hooks.flatMap((h) => (h.onSend ? [h.onSend] : [])), ...(route.jws?.response && signer ? [responseSigningHook(signer)] : [])];
  const onResponse = checks.hooks.flatMap((h) => (h.onResponse ? [h.onResponse] : []));
  for (const url of urlsFor(route.path)) {
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
    if (route !== undefined) {
      ofb.route = route;
      startBodyDeadline(request, reply, route.timeoutMs);
    }
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

