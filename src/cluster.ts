/**
 * `server.workers: n` — n worker processes share the gateway's listeners (Node `cluster`: the
 * primary accepts connections and hands them round-robin to the workers), so the gateway uses
 * every core the way nginx and HAProxy do.
 *
 * The primary serves no request. It owns the admin listener: `/readyz` asks every worker and is
 * ready only when all are; `/metrics` sums the workers' registries (prom-client's cluster
 * aggregator). On SIGTERM it turns `/readyz` 503, passes the signal on and exits 0 once every
 * worker has drained (each worker drains as a single gateway would). A worker that dies
 * unexpectedly is replaced; one that keeps dying stops the gateway rather than flapping.
 *
 * Workers share no memory: configuration rules refuse the memory replay store with more than one
 * worker (src/config/rules.ts), because a jti seen by one worker must be refused by all.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import { AggregatorRegistry, type PrometheusContentType, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Config } from './config/load.js';
import type { DependencyState, ReadinessBody } from './readiness.js';

/** The environment variable that tells a worker its slot (1..n). */
export const WORKER_SLOT_ENV = 'GUARITA_WORKER_SLOT';

/** This worker's slot, or undefined outside a cluster worker. */
export function workerSlot(): string | undefined {
  const slot = cluster.isWorker ? process.env[WORKER_SLOT_ENV] : undefined;
  return slot !== undefined && /^[1-9]\d?$/.test(slot) ? slot : undefined;
}

/** The number of worker processes `server.workers` asks for (`auto`: one per core). */
export function workerCount(setting: number | 'auto'): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

/** Messages between the primary and its workers (one IPC channel per worker). */
type WorkerMessage =
  | { readonly guarita: 'listening'; readonly port: number; readonly ingressPort: number | undefined }
  | { readonly guarita: 'readiness'; readonly id: number; readonly body: ReadinessBody };
type PrimaryMessage = { readonly guarita: 'readiness?'; readonly id: number };

/** What a worker exposes to the primary. */
export interface WorkerSide {
  readonly registry: Registry;
  readiness(): ReadinessBody;
}

/** In a worker: answer the primary's readiness questions and let it aggregate this registry. */
export function serveWorker(side: WorkerSide, ports: { readonly port: number; readonly ingressPort: number | undefined }): void {
  // prom-client answers the primary's metric requests once an AggregatorRegistry exists in this process.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([side.registry]);
  process.on('message', (message: PrimaryMessage) => {
    if (message?.guarita !== 'readiness?') return;
    send({ guarita: 'readiness', id: message.id, body: side.readiness() });
  });
  send({ guarita: 'listening', ...ports });
}

function send(message: WorkerMessage): void {
  process.send?.(message);
}

/** A worker that has not answered within this time counts as unavailable on /readyz. */
const READINESS_TIMEOUT_MS = 2000;
/** More unexpected exits than this within CRASH_WINDOW_MS stop the gateway (exit 1). */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 60_000;
/** Workers drain within 25 s (SPEC §4); past this the primary kills what is left. */
const DRAIN_BOUND_MS = 28_000;

/**
 * In the primary: fork `count` workers, serve the admin port, and drain on SIGTERM/SIGINT.
 * Resolves once every worker is listening (logging "guarita listening" with the port, as a
 * single gateway does); the process then runs until a signal.
 */
export async function runPrimary(config: Config, logger: Logger, count: number, version: string): Promise<void> {
  const aggregator = new AggregatorRegistry<PrometheusContentType>();
  let stopping = false;
  let questions = 0;
  const crashes: number[] = [];
  const pending = new Map<number, (body: ReadinessBody) => void>();

  // Each worker has a stable slot (1..n), kept by its replacement: its PCM spool is `<spoolDir>/worker-<slot>`,
  // so a replaced worker sends what the dead one had spooled.
  const slots = new Map<number, number>();
  const fork = (slot: number): Worker => {
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slot) });
    slots.set(worker.id, slot);
    worker.on('message', (message: WorkerMessage) => {
      if (message?.guarita === 'readiness') pending.get(message.id)?.(message.body);
    });
    return worker;
  };

  const listening = new Promise<{ port: number; ingressPort: number | undefined }>((resolve, reject) => {
    let up = 0;
    cluster.on('message', (_worker, message: WorkerMessage) => {
      if (message?.guarita !== 'listening') return;
      if (++up === count) resolve(message);
    });
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) return;
      if (up < count) {
        reject(new Error(`worker ${worker.id} exited with ${signal ?? code} before listening`));
        return;
      }
      const now = Date.now();
      crashes.push(now);
      while (crashes.length > 0 && (crashes[0] as number) < now - CRASH_WINDOW_MS) crashes.shift();
      logger.error({ worker: worker.id, code, signal }, 'worker exited unexpectedly');
      if (crashes.length > MAX_CRASHES) {
        logger.error({ crashes: crashes.length, windowMs: CRASH_WINDOW_MS }, 'workers keep exiting: stopping the gateway');
        void stop('workers crashing', 1);
        return;
      }
      fork(slots.get(worker.id) ?? 1);
    });
  });

  const ask = (worker: Worker): Promise<ReadinessBody | undefined> =>
    new Promise((resolve) => {
      const id = ++questions;
      const timer = setTimeout(() => finish(undefined), READINESS_TIMEOUT_MS);
      const finish = (body: ReadinessBody | undefined) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(body);
      };
      pending.set(id, finish);
      try {
        worker.send({ guarita: 'readiness?', id } satisfies PrimaryMessage);
      } catch {
        finish(undefined);
      }
    });

  const readiness = async (): Promise<ReadinessBody> => {
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const bodies = await Promise.all(workers.map(ask));
    return mergeReadiness(bodies, count, stopping);
  };

  const admin = config.admin === undefined ? undefined : buildPrimaryAdmin(readiness, aggregator);
  if (admin !== undefined && config.admin !== undefined) await admin.listen({ port: config.admin.port, host: config.admin.host });

  for (let slot = 1; slot <= count; slot++) fork(slot);
  const ports = await listening.catch(async (err: unknown) => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    await admin?.close();
    throw err;
  });
  const address = admin?.server.address();
  logger.info(
    {
      version,
      port: ports.port,
      ingressPort: ports.ingressPort,
      adminPort: typeof address === 'object' && address !== null ? address.port : undefined,
      workers: count,
      routes: config.routes.length,
      config: config.file,
    },
    'guarita listening',
  );

  const stop = async (reason: string, exitCode = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason, workers: count }, 'draining in-flight requests in every worker');
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exited = workers.map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
    for (const w of workers) w.process.kill('SIGTERM');
    const bound = setTimeout(() => {
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
    }, DRAIN_BOUND_MS);
    await Promise.all(exited);
    clearTimeout(bound);
    await admin?.close();
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * One /readyz body for the whole gateway: ready when every worker is up and ready; a dependency is
 * up only when it is up in every worker that answered (its detail is the first failure seen).
 */
export function mergeReadiness(bodies: readonly (ReadinessBody | undefined)[], expected: number, draining: boolean): ReadinessBody {
  const dependencies: Record<string, DependencyState> = {};
  let ready = !draining && bodies.length === expected;
  for (const body of bodies) {
    if (body === undefined || body.status !== 'ready') ready = false;
    for (const [name, state] of Object.entries(body?.dependencies ?? {})) {
      const seen = dependencies[name];
      if (seen === undefined || (seen.up && !state.up)) dependencies[name] = state;
    }
  }
  const answered = bodies.filter((b) => b !== undefined).length;
  dependencies.workers = {
    up: answered === expected,
    detail: `${answered} of ${expected} workers answered${draining ? '; draining' : ''}`,
  };
  return { status: ready ? 'ready' : 'unavailable', dependencies };
}

function buildPrimaryAdmin(readiness: () => Promise<ReadinessBody>, aggregator: AggregatorRegistry<PrometheusContentType>): FastifyInstance {
  const admin = Fastify({ logger: false });
  admin.get('/healthz', async () => ({ status: 'ok' }));
  admin.get('/readyz', async (_request, reply) => {
    const body = await readiness();
    return reply.code(body.status === 'ready' ? 200 : 503).send(body);
  });
  admin.get('/metrics', async (_request, reply) => {
    reply.header('content-type', aggregator.contentType);
    return (await aggregator.clusterMetrics()).replace(/\n{2,}/g, '\n');
  });
  return admin;
}
