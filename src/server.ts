/** Start and stop the gateway: the mTLS listener, the admin listener, TLS file watching, readiness. */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server as HttpsServer } from 'node:https';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Config } from './config/load.js';
import { buildApp } from './app.js';
import { buildAdmin } from './admin.js';
import { GatewayMetrics } from './metrics.js';
import { Agent } from 'undici';
import { Readiness, httpProbe, redactUrl } from './readiness.js';
import { ServerTls, type TlsFiles } from './tls/server-options.js';
import { watchFiles } from './tls/watch.js';
import { ingressSource, revocationGuard, socketSource, type CertificateSource } from './tls/certificate-source.js';
import { createCrlFetcher, type CrlFetcher } from './tls/crl-fetcher.js';
import { createServices, type Services } from './services.js';
import { describeRedis } from './stores/index.js';
import { ssaJwksUriOf } from './clients/directory-jwks.js';
import { ConnectionTracker } from './edge/connections.js';
import { PcmReporter } from './pcm/reporter.js';
import { pcmSettings } from './pcm/settings.js';

export interface RunningGateway {
  readonly app: FastifyInstance;
  /** Port the mTLS listener is bound to (useful with port 0). */
  readonly port: number;
  /** Port of the ingress listener, when configured. */
  readonly ingressPort: number | undefined;
  /** Port of the admin listener, when configured. */
  readonly adminPort: number | undefined;
  readonly metrics: GatewayMetrics;
  readonly readiness: Readiness;
  /** The PCM reporter (SPEC §11), when `pcm` is configured. */
  readonly pcm: PcmReporter | undefined;
  /** Stop accepting, drain in-flight requests for at most `graceMs`, then close. */
  close(graceMs?: number): Promise<void>;
}

export interface GatewayOptions {
  readonly logger?: FastifyBaseLogger | false;
  /** Debounce of TLS file reloads, ms. */
  readonly reloadDebounceMs?: number;
  /** Serve the admin port (default true); a cluster worker leaves it to the primary (src/cluster.ts). */
  readonly adminListener?: boolean;
  /** A cluster worker's slot: its PCM spool is `<pcm.spoolDir>/worker-<slot>` (one spool per process). */
  readonly workerSlot?: string | undefined;
  /** The traffic limits' clock (SPEC §10), ms since the epoch; tests inject one. */
  readonly now?: () => number;
}

/** Build, listen, and start watching TLS files. */
export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<RunningGateway> {
  const logger = options.logger ?? false;
  const files = config.server.tls;
  const tls = new ServerTls(files);
  const metrics = new GatewayMetrics();
  const log = logger === false ? silentLog : logger;
  // SPEC §7: dependency changes are logged once each and exported as guarita_dependency_up.
  const readiness = new Readiness({
    required: config.admin?.readinessDependencies ?? [],
    log,
    onChange: (dependency, up) => metrics.dependencyUp.set({ dependency }, up ? 1 : 0),
  });
  let serverExpiry = recordExpiry(metrics, files);
  const services = createServices(config, log, options.now === undefined ? {} : { now: options.now });
  exposeServiceMetrics(metrics, services);
  // SPEC §11: PCM reports, spooled and sent in the background; an unwritable spool does not stop
  // the gateway (logged, counted, /readyz `pcm` down).
  const pcmShared = pcmSettings(config);
  const pcmConfig =
    pcmShared === undefined || options.workerSlot === undefined ? pcmShared : { ...pcmShared, spoolDir: join(pcmShared.spoolDir, `worker-${options.workerSlot}`) };
  const pcm = pcmConfig === undefined ? undefined : new PcmReporter(pcmConfig, { log });
  if (pcm !== undefined) {
    await pcm.start();
    metrics.exposePcm(() => pcm.stats(), () => pcm.spoolFailures);
  }
  // SPEC §3 ingress mode: a plain listener behind a TLS-terminating proxy, same routes and services.
  const ingressSettings = config.server.ingress;
  const ingress = ingressSettings === undefined ? undefined : ingressSource({ ...ingressSettings, clientCa: files.clientCa, crl: files.crl });

  // Issue 5: CRLs from URLs, refreshed on an interval; each URL is a /readyz dependency (down when
  // stale). The first round runs before listening, and until every URL has answered once,
  // certificates are refused (fail closed).
  const crlFetcher =
    files.crlUrls.length === 0
      ? undefined
      : createCrlFetcher({
          urls: files.crlUrls,
          refreshMs: files.crlRefreshSeconds * 1000,
          maxAgeMs: files.crlMaxAgeSeconds * 1000,
          timeoutMs: 10_000,
          apply(pems) {
            tls.reload(pems);
            ingress?.reload(pems);
          },
        });
  await crlFetcher?.refresh();
  crlFetcher?.start();
  const guard = (source: CertificateSource): CertificateSource =>
    crlFetcher === undefined ? source : revocationGuard(source, () => crlFetcher.complete);

  // The admin port is claimed first: a busy one fails start-up before any listener says it is up.
  // Until the gateway's own listeners are up, /readyz says so (SPEC §7: ready means listeners up).
  readiness.set('listeners', 'the gateway listeners are not up yet');
  const admin = config.admin === undefined || options.adminListener === false ? undefined : await listenAdmin(buildAdmin(metrics, readiness), config.admin, log);
  const app = await buildApp(config, { logger, tls, metrics, services, certificates: guard(socketSource), pcm });
  const connections = [new ConnectionTracker(app.server, 'secureConnection')];
  try {
    await app.listen({ port: config.server.port, host: config.server.host });
  } catch (err) {
    await admin?.close();
    await pcm?.close(Date.now());
    throw err;
  }
  tls.attach(app.server as unknown as HttpsServer);
  let ingressApp: FastifyInstance | undefined;
  if (ingressSettings !== undefined && ingress !== undefined) {
    ingressApp = await buildApp(config, { logger, metrics, services, listener: 'ingress', certificates: guard(ingress.source), trustedProxy: ingress.trusts, pcm });
    connections.push(new ConnectionTracker(ingressApp.server, 'connection'));
    await ingressApp.listen({ port: ingressSettings.port, host: ingressSettings.host });
  }
  readiness.set('listeners', undefined);

  // SPEC §3: certificates, keys, trust anchors and CRLs reload when their files change; broken
  // new material keeps the old in service and shows on /readyz.
  const watcher = watchFiles(
    [...files.certificates.flatMap((c) => [c.cert, c.key]), ...files.clientCa, ...files.crl],
    () => {
      try {
        tls.reload();
        ingress?.reload();
        serverExpiry = recordExpiry(metrics, files);
        readiness.set('tls', undefined);
        app.log.info('TLS material reloaded');
      } catch (err) {
        const reason = `TLS material could not be reloaded (${(err as Error).message}); still serving the previous material`;
        readiness.set('tls', reason);
        app.log.error({ err }, reason);
      }
    },
    options.reloadDebounceMs,
  );

  let probeAgent: Agent | undefined;
  if (config.admin) {
    probeAgent = addDependencyProbes(readiness, config, services, crlFetcher);
    // SPEC §7, §11: `pcm` is down while reports cannot be delivered or the spool cannot be written.
    if (pcm !== undefined) {
      readiness.dependency('pcm', redactUrl(pcm.settings.reportUrl), () => {
        const problem = pcm.problem();
        if (problem !== undefined) throw new Error(problem);
        return `delivering; spool ${pcm.settings.spoolDir} writable`;
      });
    }
    for (const name of config.admin.readinessDependencies) {
      if (!readiness.probed.includes(name)) log.warn({ dependency: name }, `admin.readinessDependencies lists ${name}, which is not a dependency in use`);
    }
    // SPEC §7: "TLS material valid" — a server certificate that lapses while serving fails /readyz.
    readiness.check('certificates', async () => {
      for (const [file, notAfter] of serverExpiry) {
        if (notAfter < Date.now()) throw new Error(`server certificate ${file} expired at ${new Date(notAfter).toISOString()}`);
      }
    });
    // A first round now: /readyz lists every dependency from the moment the listeners are up.
    await readiness.run();
    readiness.start();
  }

  return {
    app,
    port: portOf(app, config.server.port),
    ingressPort: ingressApp ? portOf(ingressApp, ingressSettings?.port ?? 0) : undefined,
    adminPort: admin ? portOf(admin, config.admin?.port ?? 0) : undefined,
    metrics,
    readiness,
    pcm,
    // SPEC §4: the drain ends within 25 s. Connections still open at 24 s are destroyed, which
    // leaves the rest of the bound for closing the services and exiting.
    async close(graceMs = 24_000) {
      const closingAt = Date.now();
      // SPEC §7: /readyz turns 503 first, so the replica leaves the Service while it drains.
      readiness.drain();
      watcher.close();
      crlFetcher?.stop();
      readiness.stop();
      // SPEC §4: the drain ends within its bound whatever the connections are doing.
      for (const c of connections) c.closeUnused();
      const timer = setTimeout(() => {
        for (const c of connections) c.destroyAll();
      }, graceMs);
      timer.unref();
      try {
        await Promise.all([app.close(), ingressApp?.close()]);
        // SPEC §11: one last PCM send within the drain bound; the rest stays spooled for the next start.
        await pcm?.close(closingAt + graceMs + 500);
        await admin?.close();
        await probeAgent?.close();
        await services.close();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * SPEC §7: every dependency in use is probed every few seconds, so an outage shows within 5 s.
 * Returns the agent of the directory probe (closed with the gateway), when there is one.
 */
function addDependencyProbes(readiness: Readiness, config: Config, services: Services, crl: CrlFetcher | undefined): Agent | undefined {
  const { introspection, replayStore, directory } = services;
  if (introspection !== undefined && config.introspection !== undefined) {
    readiness.dependency('introspection', redactUrl(config.introspection.endpoint), async () => {
      await introspection.ping();
      return 'answered';
    });
  }
  if (replayStore !== undefined) {
    const target = replayStore.kind === 'redis' ? describeRedis(config.replay) : `${replayStore.kind} store`;
    readiness.dependency('replayStore', target, async () => {
      await replayStore.ping();
      return 'answered PING';
    });
  }
  let agent: Agent | undefined;
  if (directory !== undefined && config.directory !== undefined) {
    const settings = config.directory;
    // `directory.ssaJwksUri` when configured (or in use by a dcr route), else the origin of the key-set URL template.
    const ssa = config.routes.some((r) => r.dcr) ? ssaJwksUriOf(settings) : settings.ssaJwksUri;
    const template = settings.jwksUri ?? '';
    const target = typeof ssa === 'string' ? ssa : `${/^https?:\/\/[^/?#]+/.exec(template)?.[0] ?? template}/`;
    agent = new Agent({ connect: { timeout: settings.timeoutMs, ...(settings.ca === undefined ? {} : { ca: readFileSync(settings.ca) }) } });
    const reach = httpProbe(target, { timeoutMs: settings.timeoutMs, expectOk: typeof ssa === 'string', dispatcher: agent });
    readiness.dependency('directory', redactUrl(target), async () => {
      // A failed key-set fetch keeps the directory down until a fetch succeeds again.
      const failed = directory.stats().lastFailure;
      if (failed !== undefined) throw new Error(`key set fetch from ${failed.url} failed: ${failed.error}`);
      return reach();
    });
  }
  if (crl !== undefined) {
    for (const url of config.server.tls.crlUrls) {
      readiness.dependency(url, url, () => {
        const state = crl.status()[url];
        if (state === undefined || !state.up) throw new Error(state?.detail ?? 'not fetched');
        return state.detail;
      });
    }
  }
  return agent;
}

/** Listen on the admin port, or fail start-up naming it (SPEC §7); logs where it listens. */
async function listenAdmin(admin: FastifyInstance, at: { readonly port: number; readonly host: string }, log: FastifyBaseLogger): Promise<FastifyInstance> {
  try {
    await admin.listen({ port: at.port, host: at.host });
  } catch (err) {
    await admin.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`admin listener: cannot listen on ${at.host}:${at.port} (${code === 'EADDRINUSE' ? 'port already in use' : (code ?? 'error')})`, { cause: err });
  }
  log.info({ adminPort: portOf(admin, at.port), adminHost: at.host }, 'admin listener up');
  return admin;
}

function portOf(app: FastifyInstance, fallback: number): number {
  const address = app.server.address();
  return typeof address === 'object' && address !== null ? address.port : fallback;
}

/** Certificate notAfter as a gauge, so alerts fire before a certificate lapses. */
/** Returns the server certificates' notAfter (ms) by file, for the readiness check. */
function recordExpiry(metrics: GatewayMetrics, files: TlsFiles): Map<string, number> {
  const serverExpiry = new Map<string, number>();
  const set = (kind: string, file: string) => {
    try {
      const notAfter = Date.parse(new X509Certificate(readFileSync(file)).validTo);
      metrics.certificateExpiry.set({ kind, file }, notAfter / 1000);
      if (kind === 'server') serverExpiry.set(file, notAfter);
    } catch {
      // unreadable material is reported by reload/readiness, not here
    }
  };
  for (const c of files.certificates) set('server', c.cert);
  for (const f of files.clientCa) set('client-ca', f);
  return serverExpiry;
}

/** Introspection cache and directory counters, read at scrape time. */
function exposeServiceMetrics(metrics: GatewayMetrics, services: Services): void {
  const { introspection, directory } = services;
  if (introspection !== undefined) {
    metrics.countFrom('guarita_introspection_cache_total', 'Introspection cache lookups by result (a hit makes no network call).', {
      hit: () => introspection.stats().hits,
      miss: () => introspection.stats().misses,
    });
    metrics.countFrom('guarita_introspection_calls_total', 'Calls to the introspection endpoint by outcome.', {
      ok: () => introspection.stats().networkCalls - introspection.stats().failures,
      failed: () => introspection.stats().failures,
    });
  }
  if (directory !== undefined) {
    metrics.countFrom('guarita_jwks_fetches_total', 'Directory key-set fetches by outcome.', {
      ok: () => directory.stats().fetches - directory.stats().failures,
      failed: () => directory.stats().failures,
    });
  }
}

const silentLog = pino({ level: 'silent' });
