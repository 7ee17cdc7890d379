/**
 * The catalogue of measured targets: how each one is started, how the load generator talks to it, and
 * the probes that make sure a row measures what its label says before any number is reported.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, request } from 'undici';
import { childPids, freePort, startService, waitForPort, type Service } from '../lib.js';
import { ACCOUNTS_PATH, PAYMENTS_PATH, SIGNED_PATH, gatewayYaml, nginxConf, type GatewayLevel, type NginxAuth } from './configs.js';
import { GATEWAY_NODE_FLAGS } from '../../src/runtime-flags.js';
import { LIMITS_YAML, redisUnavailable, startBenchRedis } from './limits.js';
import { startMockPcm, type MockPcm } from '../../src/dev/mock-pcm.js';

const HERE = import.meta.dirname;
/** The gateway's real CLI bin, as an operator runs it. */
const GUARITA_CLI = resolve(HERE, '../../src/cli.js');
const BARE = resolve(HERE, 'bare.js');
const BARE_FASTIFY = resolve(HERE, 'bare-fastify.js');

/** What every target of one run shares: files, ids and the ports of the shared services. */
export interface BenchEnv {
  /** The run's temp dir (configs, logs, nginx prefixes). */
  readonly dir: string;
  /** PEM files of the dev PKI: ca.crt, server.crt/key, client1.crt/key (the load generator's). */
  readonly pkiDir: string;
  /** The load generator organisation's PS256 key (PKCS#8 PEM) and its kid in the mock directory. */
  readonly signingKey: string;
  readonly kid: string;
  /** org_id of the load generator's client certificate (JWS `iss`). */
  readonly orgId: string;
  readonly token: string;
  /** A token with the `payments` scope (target (p)). */
  readonly paymentsToken: string;
  /** The bank's response-signing key (PKCS#8 PEM file), kid and org id (target (p)). */
  readonly bankSigning: { readonly key: string; readonly kid: string; readonly orgId: string };
  /** The Node binary the gateway and bare targets run on (`--node`, GUARITA_BENCH_NODE; default this one). */
  readonly node: string;
  /** The gateway's credentials at the mock authorization server (client_secret_basic). */
  readonly introspectionClient: { readonly id: string; readonly secret: string };
  readonly upstreamPort: number;
  readonly upstreamPid: number;
  /** Mock authorization server and directory ports, when a selected target needs them. */
  readonly mocks: { readonly as: number; readonly directory: number } | undefined;
  /** Per-request access logs on (Guarita `info`, nginx access_log), written to files in `dir`. */
  readonly accessLog: boolean;
}

/** A started target. */
export interface Running {
  readonly origin: string;
  /** The processes whose CPU and RSS are the row's figures. */
  pids(): number[];
  /** The last lines the process printed on stderr (to explain a refusal). */
  output(): string;
  stop(): Promise<void>;
}

/** The request the load generator repeats. */
export interface RequestShape {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** Send the bench's access token. */
  readonly token: boolean;
  /** Send a freshly signed JWS body. */
  readonly jws: boolean;
  /** Payments shape (target (p)): the payments token, a fresh x-idempotency-key per request, a signed response expected. */
  readonly payments?: boolean;
}

export interface TargetDef {
  readonly id: string;
  readonly label: string;
  /** The row whose CPU per request is this row's denominator (the bare Node proxy under the same kind of load). */
  readonly baseline: 'b' | 'fb';
  readonly needsMocks: boolean;
  readonly request: RequestShape;
  readonly newConnectionPerRequest: boolean;
  /** CPUs (`taskset -c` list) the load generator is pinned to for this target. */
  readonly pinLoad?: string;
  /** Why the target cannot run here, if it cannot. */
  unavailable?(): string | undefined;
  /** Start it; a string means "skipped", with that note. */
  start(env: BenchEnv): Promise<Running | string>;
}

const GET_ACCOUNTS: RequestShape = { method: 'GET', path: ACCOUNTS_PATH, token: false, jws: false };
const GET_WITH_TOKEN: RequestShape = { ...GET_ACCOUNTS, token: true };
/** Where the pinned rows put the gateway and the load generator (`taskset -c`). */
const PIN = { gateway: '1', load: '0' } as const;

/** The targets in table order; ids are what `--only` takes. */
export const TARGETS: readonly TargetDef[] = [
  {
    id: 'a',
    label: '(a) upstream directly (plain HTTP)',
    baseline: 'b',
    needsMocks: false,
    request: GET_ACCOUNTS,
    newConnectionPerRequest: false,
    // The shared upstream process itself: nothing to start, never stopped here.
    start: async (env) => ({ origin: `http://127.0.0.1:${env.upstreamPort}`, pids: () => [env.upstreamPid], output: () => '', stop: async () => {} }),
  },
  bare('b', '(b) bare Node https mTLS proxy, no checks', false),
  // Issue 16 goal 1: Fastify's own floor — (b)'s handler as a Fastify route, no hooks.
  bare('bf', '(bf) (b) served through a Fastify route, no hooks', false, BARE_FASTIFY),
  gateway('c', '(c) Guarita: mTLS + interaction id', 'c', GET_ACCOUNTS, false),
  gateway('d', '(d) Guarita: full token pipeline, warm cache', 'd', GET_WITH_TOKEN, false),
  // SPEC §10: perMinute and perConsentMonth on (d)'s route, counting in the memory store and in a real
  // Redis (whose CPU is in the row: the counters are work done for the gateway). Issue 14's goal:
  // ≤ 1.10× (d) on memory, ≤ 1.4× on Redis.
  gateway('dl', '(d) + traffic limits, memory store', 'd', GET_WITH_TOKEN, false, { limits: 'memory' }),
  gateway('dlr', '(d) + traffic limits, Redis store (CPU incl. redis-server)', 'd', GET_WITH_TOKEN, false, { limits: 'redis' }),
  gateway('e', '(e) (d) + JWS request, fresh jti', 'e', { method: 'POST', path: SIGNED_PATH, token: true, jws: true }, false),
  // SPEC §11: every call of a catalogue endpoint reported to a local mock PCM (spooled, fsynced,
  // sent every second): compare its CPU per request with (d), the same pipeline without PCM.
  gateway('dp', '(d) + PCM reports (local mock PCM)', 'd', GET_WITH_TOKEN, false, { pcm: true }),
  bare('fb', '(f) (b) with a new TLS connection per request', true),
  gateway('fd', '(f) (d) with a new TLS connection per request', 'd', GET_WITH_TOKEN, true),
  nginx('ng', 'nginx mTLS proxy', 'none'),
  nginx('nga', 'nginx + auth_request on every request', 'every'),
  nginx('ngc', 'nginx + auth_request, proxy_cache', 'cached'),
  // Issue 16: the payments route shape, and (d) on several worker processes (closed loop, same connections).
  gateway('p', '(p) payments: (e) + idempotency + signed response', 'p', { method: 'POST', path: PAYMENTS_PATH, token: true, jws: true, payments: true }, false),
  gateway('dw2', '(d) with server.workers: 2, load generator sharing the cores', 'd', GET_WITH_TOKEN, false, { workers: 2 }),
  gateway('dt1', '(d) workers: 1 on core 1, load generator on core 0', 'd', GET_WITH_TOKEN, false, { workers: 1, pin: true }),
  gateway('dt2', '(d) workers: 2 on core 1, load generator on core 0', 'd', GET_WITH_TOKEN, false, { workers: 2, pin: true }),
];

/** Names that select several targets in `--only`. */
export const GROUPS: Readonly<Record<string, readonly string[]>> = {
  f: ['fb', 'fd'],
  nginx: ['ng', 'nga', 'ngc'],
  workers: ['d', 'dw2', 'dt1', 'dt2'],
  limits: ['dl', 'dlr'],
};

function bare(id: string, label: string, newConnectionPerRequest: boolean, script = BARE): TargetDef {
  return {
    id,
    label,
    baseline: newConnectionPerRequest ? 'fb' : 'b',
    needsMocks: false,
    request: GET_ACCOUNTS,
    newConnectionPerRequest,
    async start(env) {
      const pki = env.pkiDir;
      const options = { upstream: `http://127.0.0.1:${env.upstreamPort}`, cert: `${pki}/server.crt`, key: `${pki}/server.key`, ca: `${pki}/ca.crt` };
      // The runtime's floor runs with the same V8 flags as the gateway.
      const service = startService(env.node, [...GATEWAY_NODE_FLAGS, ...profilingArgs(), script, JSON.stringify(options)]);
      const { port } = JSON.parse(await whenReady(service, service.line('READY ', 15_000))) as { port: number };
      return running(`https://127.0.0.1:${port}`, service, () => [service.pid]);
    },
  };
}

/** Why `taskset` cannot pin to cores 0 and 1 here, if it cannot. */
function tasksetUnavailable(): string | undefined {
  for (const cpu of [PIN.gateway, PIN.load]) {
    const run = spawnSync('taskset', ['-c', cpu, 'true'], { encoding: 'utf8', timeout: 5000 });
    if (run.error !== undefined || run.status !== 0) {
      return `taskset -c ${cpu} does not work here (${run.error?.message ?? run.stderr.trim().split('\n')[0] ?? `exit ${run.status}`}): pinned rows not measured`;
    }
  }
  return undefined;
}

/** Issue 16 variants of a gateway target: `server.workers` and pinning (gateway on core 1, load generator on core 0). */
interface GatewayVariant {
  readonly workers?: number;
  readonly pin?: boolean;
  /** SPEC §11: report to a local mock PCM (the PCM row). */
  readonly pcm?: boolean;
  /** SPEC §10: the limits on, counting in this store (the limits rows). */
  readonly limits?: 'memory' | 'redis';
}

/** GUARITA_BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": extra Node flags for the measured Node processes. */
function profilingArgs(): string[] {
  return (process.env.GUARITA_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);
}

function gateway(id: string, label: string, level: GatewayLevel, request: RequestShape, newConnectionPerRequest: boolean, variant: GatewayVariant = {}): TargetDef {
  return {
    id,
    label,
    baseline: newConnectionPerRequest ? 'fb' : 'b',
    needsMocks: level !== 'c',
    request,
    newConnectionPerRequest,
    ...(variant.pin ? { pinLoad: PIN.load, unavailable: tasksetUnavailable } : {}),
    // Skipped loudly (the table's note) rather than silently absent.
    ...(variant.limits === 'redis' ? { unavailable: redisUnavailable } : {}),
    async start(env) {
      // What the row starts beside the gateway (mock PCM, redis-server), stopped with it or on a failed start.
      const companions: { stop(): Promise<void> }[] = [];
      const stopCompanions = async () => {
        for (const c of companions.reverse()) await c.stop();
      };
      try {
        const started = await startGateway(env, id, level, variant, companions);
        if (typeof started === 'string') await stopCompanions();
        if (typeof started === 'string' || companions.length === 0) return started;
        return {
          ...started,
          async stop() {
            await started.stop();
            await stopCompanions();
          },
        };
      } catch (err) {
        await stopCompanions();
        throw err;
      }
    },
  };
}

async function startGateway(env: BenchEnv, id: string, level: GatewayLevel, variant: GatewayVariant, companions: { stop(): Promise<void> }[]): Promise<Running | string> {
  const workers = variant.workers;
  const port = await freePort();
  // Workers rows wait on the primary's /readyz (ready once every worker listens), so they need the admin port.
  const adminPort = workers === undefined ? undefined : await freePort();
  const file = join(env.dir, `guarita-${id}.yaml`);
  const pcm = variant.pcm === true ? await startBenchPcm(env) : undefined;
  if (pcm !== undefined) companions.push({ stop: () => pcm.close() });
  const redis = variant.limits === 'redis' ? await startBenchRedis() : undefined;
  if (redis !== undefined) companions.push(redis.service);
  const yaml = gatewayYaml({
    level,
    port,
    pkiDir: env.pkiDir,
    upstream: `http://127.0.0.1:${env.upstreamPort}`,
    authServer: `http://127.0.0.1:${env.mocks?.as ?? 0}`,
    directory: `https://127.0.0.1:${env.mocks?.directory ?? 0}`,
    clientId: env.introspectionClient.id,
    clientSecret: env.introspectionClient.secret,
    logLevel: env.accessLog ? 'info' : 'warn',
    ...(pcm === undefined ? {} : { pcmYaml: benchPcmYaml(env, pcm, join(env.dir, `pcm-spool-${id}`)) }),
    ...(level === 'p' ? { signing: env.bankSigning } : {}),
    ...(workers === undefined ? {} : { workers, adminPort }),
  });
  // (d)'s one route is the file's last entry: the limits go right under it.
  const limits = variant.limits === undefined ? '' : `${LIMITS_YAML}\n${redis === undefined ? '' : `${redis.replayYaml}\n`}`;
  writeFileSync(file, `${yaml}${limits}`);
  if (level !== 'c') {
    // The token pipeline and JWS come from later issues: a build whose loader refuses these
    // sections cannot run the row, and says so instead of failing the whole bench.
    const check = spawnSync(env.node, [GUARITA_CLI, 'check-config', file], { encoding: 'utf8', timeout: 15_000 });
    if (check.status !== 0) return `not available in this build (configuration refused: ${check.stderr.trim().split('\n')[0] ?? ''})`;
  }
  // stdout (the JSON log) goes to a file: piping it to this process would add our CPU to the run.
  const log = openSync(join(env.dir, `guarita-${id}.log`), 'a');
  // Started as the Docker image starts it (src/runtime-flags.ts).
  const args = [...GATEWAY_NODE_FLAGS, ...profilingArgs(), GUARITA_CLI, '--config', file];
  // taskset execs node: the pid is the gateway's (and cluster workers inherit the affinity).
  const service = variant.pin
    ? startService('taskset', ['-c', PIN.gateway, env.node, ...args], { stdio: ['ignore', log, 'pipe'] })
    : startService(env.node, args, { stdio: ['ignore', log, 'pipe'] });
  closeSync(log);
  await whenReady(service, waitForPort(port, 15_000, service));
  if (adminPort !== undefined) await whenReady(service, readyz(adminPort, 15_000));
  // With workers, the row's CPU and RSS are the primary's plus every worker's (read at each run: a replaced
  // worker counts); with Redis, redis-server's too.
  const own = workers !== undefined && workers > 1 ? () => [service.pid, ...childPids(service.pid)] : () => [service.pid];
  const pids = redis === undefined ? own : () => [...own(), redis.service.pid];
  return running(`https://127.0.0.1:${port}`, service, pids);
}

/** The mock PCM of the PCM row, in this process (its CPU is in no row), on the run's dev PKI. */
async function startBenchPcm(env: BenchEnv): Promise<MockPcm> {
  const read = (name: string) => readFileSync(join(env.pkiDir, name), 'utf8');
  return startMockPcm({ cert: read('server.crt'), key: read('server.key'), clientCa: read('ca.crt'), clientId: 'bench-bank', keep: false });
}

function benchPcmYaml(env: BenchEnv, pcm: MockPcm, spoolDir: string): string {
  return [
    'pcm:',
    `  tokenUrl: ${pcm.tokenUrl}`,
    `  reportUrl: ${pcm.reportUrl}`,
    `  openDataReportUrl: ${pcm.openDataReportUrl}`,
    '  clientId: bench-bank',
    `  clientCert: ${env.pkiDir}/client1.crt`,
    `  clientKey: ${env.pkiDir}/client1.key`,
    `  ca: ${env.pkiDir}/ca.crt`,
    '  serverOrgId: 00000000-0000-4000-8000-000000000b4c',
    `  spoolDir: ${spoolDir}`,
    '  flushSeconds: 1',
  ].join('\n');
}

/** nginx from the Debian package, when installed. */
export function nginxBinary(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  return dirs.map((d) => join(d, 'nginx')).find((p) => p.startsWith('/') && existsSync(p));
}

function nginx(id: string, label: string, auth: NginxAuth): TargetDef {
  return {
    id,
    label,
    baseline: 'b',
    needsMocks: auth !== 'none',
    request: auth === 'none' ? GET_ACCOUNTS : GET_WITH_TOKEN,
    newConnectionPerRequest: false,
    unavailable: () => (nginxBinary() === undefined ? 'nginx is not installed' : undefined),
    async start(env) {
      const prefix = join(env.dir, `nginx-${id}`);
      mkdirSync(join(prefix, 'tmp'), { recursive: true });
      const port = await freePort();
      const conf = nginxConf({
        auth,
        port,
        pkiDir: env.pkiDir,
        upstreamPort: env.upstreamPort,
        authServerPort: env.mocks?.as ?? 0,
        accessLog: env.accessLog ? join(prefix, 'access.log') : undefined,
        user: process.getuid?.() === 0 ? 'root' : undefined,
      });
      writeFileSync(join(prefix, 'nginx.conf'), conf);
      // A non-daemon child, so its pid is the master's and stopping it stops exactly this nginx.
      const service = startService(nginxBinary() as string, ['-p', `${prefix}/`, '-c', 'nginx.conf', '-e', 'stderr', '-g', 'daemon off;']);
      const workers = await whenReady(service, waitForPort(port, 10_000, service).then(() => nginxWorkers(service.pid)));
      // master + its one worker; the cache loader/manager (cached variant) are left out: the loader
      // exits mid-run, and a process that vanishes between two readings would corrupt the difference.
      return running(`https://127.0.0.1:${port}`, service, () => [service.pid, ...workers]);
    },
  };
}

async function nginxWorkers(master: number): Promise<number[]> {
  for (let i = 0; i < 40; i++) {
    const workers = childPids(master).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker process');
      } catch {
        return false;
      }
    });
    if (workers.length > 0) return workers;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('nginx started no worker process');
}

/** Resolves once the admin port's /readyz answers 200 (with workers: every worker is listening). */
async function readyz(adminPort: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await request(`http://127.0.0.1:${adminPort}/readyz`);
      const text = await res.body.text();
      if (res.statusCode === 200) return;
      last = `${res.statusCode} ${text.slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`/readyz not ready after ${timeoutMs} ms: ${last}`);
}

/** Wait for `ready`; a process that never gets ready is stopped, not left behind. */
async function whenReady<T>(service: Service, ready: Promise<T>): Promise<T> {
  try {
    return await ready;
  } catch (err) {
    await service.stop();
    throw err;
  }
}

function running(origin: string, service: Service, pids: () => number[]): Running {
  return { origin, pids, output: () => service.output(), stop: () => service.stop() };
}

/** The headers of the repeated request. One fixed interaction id: the gateway only validates and echoes it. */
export function requestHeaders(env: BenchEnv, shape: RequestShape, withToken = shape.token): Record<string, string> {
  return {
    'x-fapi-interaction-id': 'b3d0c0de-0000-4000-8000-00000000be4c',
    accept: 'application/json',
    ...(withToken ? { authorization: `Bearer ${shape.payments ? env.paymentsToken : env.token}` } : {}),
    ...(shape.jws ? { 'content-type': 'application/jwt' } : {}),
    // The load generator replaces it with a fresh one per request (LoadOptions.freshIdempotencyKey).
    ...(shape.payments ? { 'x-idempotency-key': randomUUID() } : {}),
  };
}

/**
 * Make sure the row measures what it claims. Returns a skip note, or undefined when the target is
 * fit to measure: a valid request passes (2xx); where the row claims token checks, a request without
 * a token is refused with 401; where it claims JWS, an unsigned body is refused.
 */
export async function probe(env: BenchEnv, target: TargetDef, origin: string, signedBody: () => Promise<string>): Promise<string | undefined> {
  const shape = target.request;
  const client = new Client(origin, {
    connect: origin.startsWith('https:')
      ? {
          ca: readFileSync(`${env.pkiDir}/ca.crt`),
          cert: readFileSync(`${env.pkiDir}/client1.crt`),
          key: readFileSync(`${env.pkiDir}/client1.key`),
          servername: 'localhost',
        }
      : undefined,
  });
  const send = async (headers: Record<string, string>, body?: string) => {
    const res = await client.request({ method: shape.method, path: shape.path, headers, body });
    return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), text: (await res.body.text()).slice(0, 200) };
  };
  try {
    if (shape.token) {
      const anonymous = await send(requestHeaders(env, shape, false), shape.jws ? await signedBody() : undefined);
      if (anonymous.status < 300) return 'pipeline not implemented in this build (a request without a token was forwarded)';
      if (anonymous.status !== 401) return `a request without a token got ${anonymous.status}, not 401: ${anonymous.text}`;
    }
    if (shape.jws) {
      const unsigned = await send(requestHeaders(env, shape), 'not-a-jws');
      if (unsigned.status < 300) return 'JWS verification not implemented in this build (an unsigned body was forwarded)';
    }
    const valid = await send(requestHeaders(env, shape), shape.jws ? await signedBody() : undefined);
    if (valid.status >= 300) return `the bench's valid request was refused: ${valid.status} ${valid.text}`;
    if (shape.payments && !valid.type.startsWith('application/jwt')) return `the response was not signed (content-type ${valid.type}): response signing not implemented in this build`;
    if (shape.payments) {
      const withoutKey = Object.fromEntries(Object.entries(requestHeaders(env, shape)).filter(([name]) => name !== 'x-idempotency-key'));
      const missing = await send(withoutKey, await signedBody());
      if (missing.status < 300) return 'idempotency not enforced in this build (a request without x-idempotency-key was forwarded)';
    }
    return undefined;
  } finally {
    await client.close();
  }
}
