/**
 * runBench(options): one benchmark run. Creates a throw-away PKI and the shared services (upstream,
 * mock authorization server and directory), starts every selected target as its own process, probes
 * it, then runs the load generator against the targets in turn — repetition by repetition, so slow
 * drifts of a noisy machine spread over all rows instead of landing on one — and takes medians.
 */
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { createDevPki, writeDevPki } from '../src/dev/pki.js';
import type { CryptoFloor } from './crypto-floor.js';
import { median, startService, type Service } from './lib.js';
import { JwsBodies, type LoadOptions, type LoadResult } from './load.js';
import { GROUPS, TARGETS, probe, requestHeaders, type BenchEnv, type Running, type TargetDef } from './targets/index.js';

const HERE = import.meta.dirname;
const LOAD = resolve(HERE, 'load.js');
const REPLAY_MEMORY = resolve(HERE, 'replay-memory.js');
const CRYPTO_FLOOR = resolve(HERE, 'crypto-floor.js');

export interface BenchOptions {
  /** Measured seconds per run. */
  readonly durationS: number;
  /** Unmeasured seconds before each run (JIT, caches, connections). */
  readonly warmupS: number;
  /**
   * Extra warm-up seconds of the first run against each freshly started process (default 2): with
   * only the ordinary warm-up, the first run of a new Node process read 2–4× the CPU per request of
   * the following ones (JIT tier-up, heap growth).
   */
  readonly primeS?: number;
  readonly connections: number;
  readonly reps: number;
  /** Target ids or group names (`f`, `nginx`, and `replay` for the replay-store figure); all when omitted. */
  readonly only?: readonly string[] | undefined;
  /** Per-request access logs on in Guarita and nginx. */
  readonly accessLog?: boolean;
  /** jtis in the replay-store memory figure. */
  readonly replayEntries?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /**
   * The Node binary the gateway, the bare Node proxy and the crypto floor run on (issue 16: Node 20
   * and 24 in one session); the upstream, mocks and load generator stay on this process's Node.
   */
  readonly node?: string | undefined;
}

/** The Node that ran the targets. */
export interface TargetNode {
  readonly path: string;
  readonly version: string;
}

/** Version of a Node binary (`node --version`); throws when it does not run. */
export function nodeVersion(path: string): string {
  const run = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 15_000 });
  if (run.error !== undefined || run.status !== 0) throw new Error(`cannot run ${path} --version: ${run.error?.message ?? run.stderr.trim()}`);
  return run.stdout.trim();
}

/** Medians over the repetitions of one target. */
export interface Figures {
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerReq: number;
  readonly cpuMin: number;
  readonly cpuMax: number;
  readonly clientCpuUsPerReq: number;
  readonly rssMiB: number;
}

export interface Row {
  readonly id: string;
  readonly label: string;
  /** `skipped`: not measured, `note` says why; `failed`: the target broke during the run. */
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly note?: string;
  readonly runs: readonly LoadResult[];
  readonly figures?: Figures;
  /** CPU per request ÷ the baseline row's ((b), or (f)(b) for new-connection rows). */
  readonly ratio?: number;
  readonly baseline: string;
}

/** Issue 6: p99 at half of (d)'s maximum rate, open loop, against the upstream reached directly. */
export interface OpenLoop {
  readonly ratePerSec: number;
  readonly upstreamP99Ms: number;
  readonly gatewayP99Ms: number;
  /** The load generator's own send lag (p99, medians), left out of the latencies above. */
  readonly upstreamSendLagP99Ms: number;
  readonly gatewaySendLagP99Ms: number;
  /** Requests of the gateway run that were not 2xx (an overload would make the p99 meaningless). */
  readonly gatewayErrors: number;
  /** Per (d) run: its p99, and the longest stall the idle bench runner saw meanwhile (see machineStall). */
  readonly gatewayRuns: readonly { readonly p99Ms: number; readonly machineStallMs: number }[];
}

export interface BenchReport {
  readonly options: BenchOptions;
  readonly rows: readonly Row[];
  /** Present when both (a) and (d) were measured. */
  readonly openLoop?: OpenLoop | undefined;
  /** The replay store's memory for `replayEntries` jtis, or why there is no figure. */
  readonly replay: string | undefined;
  /** PS256 verify and sign CPU per operation, measured in this run on the targets' Node (or why not). */
  readonly crypto: CryptoFloor | string;
  readonly targetNode: TargetNode;
}

/** Resolve `--only` to target definitions (and whether the replay figure is wanted). */
export function selectTargets(only: readonly string[] | undefined): { targets: TargetDef[]; replay: boolean } {
  if (only === undefined || only.length === 0) return { targets: [...TARGETS], replay: true };
  const ids = new Set<string>();
  for (const name of only) {
    if (name === 'replay') continue;
    const group = GROUPS[name] ?? (TARGETS.some((t) => t.id === name) ? [name] : undefined);
    if (group === undefined) throw new Error(`unknown target "${name}" (known: ${[...TARGETS.map((t) => t.id), ...Object.keys(GROUPS), 'replay'].join(', ')})`);
    for (const id of group) ids.add(id);
  }
  return { targets: TARGETS.filter((t) => ids.has(t.id)), replay: only.includes('replay') };
}

/** Run the benchmark; every process it starts is stopped before it returns. */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const log = options.log ?? (() => {});
  const { targets, replay } = selectTargets(options.only);
  const dir = mkdtempSync(join(tmpdir(), 'guarita-bench-'));
  const services: Service[] = [];
  const started = new Map<string, Running>();
  const rows = new Map<string, { status: Row['status']; note?: string; runs: LoadResult[] }>();
  const node = options.node ?? process.execPath;
  const targetNode = { path: node, version: node === process.execPath ? process.version : nodeVersion(node) };
  try {
    const env = await prepare(dir, targets, services, options, node);

    for (const target of targets) {
      const note = target.unavailable?.();
      if (note !== undefined) {
        log(`${target.id}: SKIPPED: ${note}`);
        rows.set(target.id, { status: 'skipped', note, runs: [] });
        continue;
      }
      try {
        const result = await target.start(env);
        if (typeof result === 'string') {
          rows.set(target.id, { status: 'skipped', note: result, runs: [] });
          continue;
        }
        started.set(target.id, result);
        const signed = async () => (await (await JwsBodies.create(jwsOptions(env, audience(result, target), 0))).sign()).body;
        const refusal = await probe(env, target, result.origin, signed);
        if (refusal !== undefined) {
          const said = result.output().split('\n').at(-1);
          rows.set(target.id, { status: 'skipped', note: said ? `${refusal} (it said: ${said})` : refusal, runs: [] });
          await result.stop();
          started.delete(target.id);
          continue;
        }
        rows.set(target.id, { status: 'ok', runs: [] });
      } catch (err) {
        rows.set(target.id, { status: 'failed', note: `could not start: ${(err as Error).message.slice(0, 300)}`, runs: [] });
      }
    }

    for (let rep = 1; rep <= options.reps; rep++) {
      for (const target of targets) {
        const running = started.get(target.id);
        const row = rows.get(target.id);
        if (running === undefined || row === undefined || row.status !== 'ok') continue;
        try {
          const result = await runLoad(env, target, running, { ...options, warmupS: options.warmupS + (rep === 1 ? (options.primeS ?? 2) : 0) }, rows);
          row.runs.push(result);
          log(
            `rep ${rep}/${options.reps} ${target.id.padEnd(3)} ${result.reqPerSec.toFixed(0).padStart(6)} req/s  ` +
              `${result.cpuUsPerReq.toFixed(1).padStart(7)} µs CPU/req  p99 ${result.p99Ms.toFixed(2)} ms` +
              (result.errors > 0 ? `  non-2xx ${JSON.stringify(result.statuses)}` : ''),
          );
        } catch (err) {
          row.status = 'failed';
          row.note = (err as Error).message.slice(0, 300);
          log(`rep ${rep}/${options.reps} ${target.id}: failed: ${row.note}`);
        }
      }
    }
    const finished = finish(targets, rows);
    const openLoop = await halfRateRun(env, targets, started, finished, options, rows, log);
    // Measured with every target idle (they stay up): the floor of the JWS rows, in the same run.
    const crypto = await cryptoFloor(node);
    log(
      typeof crypto === 'string'
        ? `crypto floor: ${crypto}`
        : `crypto floor (${crypto.node}, OpenSSL ${crypto.openssl}): PS256 verify ${crypto.verifyUs.toFixed(1)} µs, sign ${crypto.signUs.toFixed(1)} µs CPU per op`,
    );
    const replayFigure = replay ? await replayMemory(options.replayEntries ?? 1_000_000) : undefined;
    return { options, rows: finished, openLoop, replay: replayFigure, crypto, targetNode };
  } finally {
    for (const running of started.values()) await running.stop().catch(() => {});
    for (const service of services.reverse()) await service.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Open-loop runs of (a) and (d) at half of (d)'s measured maximum rate (closed-loop median); medians of `reps` pairs. */
async function halfRateRun(
  env: BenchEnv,
  targets: readonly TargetDef[],
  started: Map<string, Running>,
  finished: readonly Row[],
  options: BenchOptions,
  rows: Map<string, { runs: LoadResult[] }>,
  log: (line: string) => void,
): Promise<OpenLoop | undefined> {
  const max = finished.find((r) => r.id === 'd')?.figures?.reqPerSec;
  const a = targets.find((t) => t.id === 'a');
  const d = targets.find((t) => t.id === 'd');
  const runA = started.get('a');
  const runD = started.get('d');
  if (max === undefined || a === undefined || d === undefined || runA === undefined || runD === undefined) return undefined;
  const ratePerSec = Math.max(1, Math.round(max / 2));
  const upstreamP99: number[] = [];
  const upstreamLag: number[] = [];
  const gatewayLag: number[] = [];
  let gatewayErrors = 0;
  const gatewayRuns: { p99Ms: number; machineStallMs: number }[] = [];
  // As many pairs as repetitions, medians reported: a single GC pause or a neighbour's burst moves a p99.
  for (let rep = 1; rep <= options.reps; rep++) {
    const upstream = await runLoad(env, a, runA, options, rows, ratePerSec);
    const stall = machineStall();
    const gateway = await runLoad(env, d, runD, options, rows, ratePerSec);
    const machineStallMs = stall.stop();
    gatewayRuns.push({ p99Ms: gateway.p99Ms, machineStallMs });
    upstreamP99.push(upstream.p99Ms);
    upstreamLag.push(upstream.sendLagP99Ms ?? NaN);
    gatewayLag.push(gateway.sendLagP99Ms ?? NaN);
    gatewayErrors += gateway.errors;
    log(
      `open loop ${rep}/${options.reps} at ${ratePerSec} req/s: upstream p50/p99 ${upstream.p50Ms.toFixed(2)}/${upstream.p99Ms.toFixed(2)} ms, ` +
        `(d) p50/p99 ${gateway.p50Ms.toFixed(2)}/${gateway.p99Ms.toFixed(2)} ms (${gateway.reqPerSec.toFixed(0)} req/s answered); ` +
        `load generator send lag p99 ${(upstream.sendLagP99Ms ?? NaN).toFixed(2)}/${(gateway.sendLagP99Ms ?? NaN).toFixed(2)} ms; ` +
        `longest stall of the idle runner during (d) ${machineStallMs.toFixed(1)} ms`,
    );
  }
  return {
    ratePerSec,
    upstreamP99Ms: median(upstreamP99),
    gatewayP99Ms: median(gatewayRuns.map((r) => r.p99Ms)),
    upstreamSendLagP99Ms: median(upstreamLag),
    gatewaySendLagP99Ms: median(gatewayLag),
    gatewayErrors,
    gatewayRuns,
  };
}

/** PKI, the org's signing key, and the shared upstream (plus mocks when a target needs them). */
async function prepare(dir: string, targets: readonly TargetDef[], services: Service[], options: BenchOptions, node: string): Promise<BenchEnv> {
  const pkiDir = join(dir, 'pki');
  const pki = await createDevPki();
  await writeDevPki(pkiDir, pki);
  // The organisation's message-signing key is not its transport key (OFB: separate keys in the directory).
  const signing = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = join(pkiDir, 'signing.key');
  const signingPublicKey = join(pkiDir, 'signing.pub.pem');
  writeFileSync(signingKey, signing.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(signingPublicKey, signing.publicKey.export({ type: 'spki', format: 'pem' }));
  // The bank's own key for signed responses (target (p)): another key again.
  const bankKey = join(pkiDir, 'bank-signing.key');
  writeFileSync(bankKey, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

  const upstream = startService(process.execPath, [resolve(HERE, 'targets/upstream.js')]);
  services.push(upstream);
  const { port: upstreamPort } = JSON.parse(await upstream.line('READY ', 15_000)) as { port: number };

  const token = `bench-${randomBytes(24).toString('base64url')}`;
  const paymentsToken = `bench-payments-${randomBytes(24).toString('base64url')}`;
  const clientId = 'bench-client'; // the OAuth client the token was issued to
  const clientSecret = randomBytes(12).toString('hex');
  const kid = 'bench-signing-key';
  let mocks: BenchEnv['mocks'];
  if (targets.some((t) => t.needsMocks)) {
    const service = startService(process.execPath, [
      resolve(HERE, 'targets/mocks.js'),
      JSON.stringify({
        token,
        paymentsToken,
        clientId,
        basicAuth: `guarita-bench:${clientSecret}`, // the gateway's own introspection credentials
        // RFC 8705 §3.1: base64url(SHA-256(DER)) of the certificate the load generator presents.
        thumbprint: createHash('sha256').update(new X509Certificate(pki.client1.cert).raw).digest('base64url'),
        orgId: pki.client1.orgId,
        serverCert: join(pkiDir, 'server.crt'),
        serverKey: join(pkiDir, 'server.key'),
        signingPublicKey,
        kid,
      }),
    ]);
    services.push(service);
    mocks = JSON.parse(await service.line('READY ', 15_000)) as { as: number; directory: number };
  }
  return {
    dir,
    pkiDir,
    signingKey,
    kid,
    orgId: pki.client1.orgId,
    token,
    paymentsToken,
    bankSigning: { key: bankKey, kid: 'bank-bench-2026', orgId: 'b4b4b4b4-0000-4000-8000-00000000ba4c' },
    node,
    introspectionClient: { id: 'guarita-bench', secret: clientSecret },
    upstreamPort,
    upstreamPid: upstream.pid,
    mocks,
    accessLog: options.accessLog ?? false,
  };
}

/** JWS `aud`: the gateway's publicBaseUrl (https://localhost:PORT, see configs.ts) + path. */
function audience(running: Running, target: TargetDef): string {
  return `${running.origin.replace('127.0.0.1', 'localhost')}${target.request.path}`;
}

function jwsOptions(env: BenchEnv, aud: string, presign: number) {
  return { keyFile: env.signingKey, kid: env.kid, aud, iss: env.orgId, presign, presignBudgetMs: 20_000 };
}

/**
 * How late this process's own timers fire, from now until stop(), in ms. The bench runner sits idle
 * while a load generator runs, so a long delay here is the machine not running it (a probe in every
 * bench process once saw all of them late by the same 20–30 ms at once: the host, not the gateway)
 * — and an open-loop run at half the gateway's capacity needs as long again to drain what queued
 * meanwhile. It sees only stalls of the CPU it runs on: a lower bound.
 */
function machineStall(): { stop(): number } {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  return {
    stop() {
      delay.disable();
      return delay.max / 1e6;
    },
  };
}

/** One run of the load generator against one target; the process is killed if it overruns. */
async function runLoad(
  env: BenchEnv,
  target: TargetDef,
  running: Running,
  options: BenchOptions,
  rows: Map<string, { runs: LoadResult[] }>,
  ratePerSec?: number,
): Promise<LoadResult> {
  const shape = target.request;
  const https = running.origin.startsWith('https:');
  // Signing costs the client ~0.5 ms per body, more than the gateway spends verifying it: sign before
  // the window, as many as the target's own last rate (else (d)'s) says the window will use.
  const lastRate = rows.get(target.id)?.runs.at(-1)?.reqPerSec ?? rows.get('d')?.runs.at(-1)?.reqPerSec ?? 3000;
  const load: LoadOptions = {
    origin: running.origin,
    method: shape.method,
    path: shape.path,
    headers: requestHeaders(env, shape),
    ...(https ? { tls: { cert: `${env.pkiDir}/client1.crt`, key: `${env.pkiDir}/client1.key`, ca: `${env.pkiDir}/ca.crt`, servername: 'localhost' } } : {}),
    connections: options.connections,
    warmupMs: options.warmupS * 1000,
    durationMs: options.durationS * 1000,
    newConnectionPerRequest: target.newConnectionPerRequest,
    ...(shape.jws
      ? { jws: jwsOptions(env, audience(running, target), Math.min(100_000, Math.ceil(lastRate * options.durationS * 1.3))) }
      : {}),
    ...(shape.payments ? { freshIdempotencyKey: true } : {}),
    pids: running.pids(),
    ...(ratePerSec === undefined ? {} : { ratePerSec }),
  };
  // Pinned rows: taskset execs node, so the pid stopped below is the load generator's.
  const service =
    target.pinLoad === undefined
      ? startService(process.execPath, [LOAD, JSON.stringify(load)])
      : startService('taskset', ['-c', target.pinLoad, process.execPath, LOAD, JSON.stringify(load)]);
  const limit = (options.warmupS + options.durationS) * 1000 + 40_000;
  try {
    return JSON.parse(await service.line('RESULT ', limit)) as LoadResult;
  } finally {
    await service.stop();
  }
}

/** PS256 verify/sign CPU per operation, in a child process on the targets' Node (bench/crypto-floor.ts). */
async function cryptoFloor(node: string): Promise<CryptoFloor | string> {
  const service = startService(node, [CRYPTO_FLOOR, '5']);
  try {
    return JSON.parse(await service.line('RESULT ', 60_000)) as CryptoFloor;
  } catch (err) {
    return `could not be measured: ${(err as Error).message.slice(0, 200)}`;
  } finally {
    await service.stop();
  }
}

/** The replay store's memory for `entries` jtis, measured in a child process of its own. */
async function replayMemory(entries: number): Promise<string> {
  const service = startService(process.execPath, ['--expose-gc', REPLAY_MEMORY, String(entries)]);
  try {
    return (JSON.parse(await service.line('RESULT ', 120_000)) as { text: string }).text;
  } catch (err) {
    return `could not be measured: ${(err as Error).message.slice(0, 200)}`;
  } finally {
    await service.stop();
  }
}

function finish(targets: readonly TargetDef[], rows: Map<string, { status: Row['status']; note?: string; runs: LoadResult[] }>): Row[] {
  const figures = new Map<string, Figures>();
  for (const [id, row] of rows) {
    if (row.runs.length === 0) continue;
    const of = (pick: (r: LoadResult) => number) => median(row.runs.map(pick));
    const cpu = row.runs.map((r) => r.cpuUsPerReq);
    figures.set(id, {
      reqPerSec: of((r) => r.reqPerSec),
      p50Ms: of((r) => r.p50Ms),
      p99Ms: of((r) => r.p99Ms),
      cpuUsPerReq: median(cpu),
      cpuMin: Math.min(...cpu),
      cpuMax: Math.max(...cpu),
      clientCpuUsPerReq: of((r) => r.clientCpuUsPerReq),
      rssMiB: of((r) => r.rssMiB),
    });
  }
  return targets.map((target) => {
    const row = rows.get(target.id) ?? { status: 'failed' as const, runs: [] };
    const own = figures.get(target.id);
    const base = figures.get(target.baseline);
    const notes = [row.note, ...problems(row.runs)].filter((n) => n !== undefined);
    return {
      id: target.id,
      label: target.label,
      status: row.status === 'ok' && own === undefined ? 'failed' : row.status,
      ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
      runs: row.runs,
      ...(own ? { figures: own } : {}),
      ...(own && base ? { ratio: own.cpuUsPerReq / base.cpuUsPerReq } : {}),
      baseline: target.baseline,
    };
  });
}

/** Things that make a row's numbers suspect, said next to them. */
function problems(runs: readonly LoadResult[]): string[] {
  const out: string[] = [];
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const errors = runs.reduce((n, r) => n + r.errors, 0);
  if (errors > 0) {
    const statuses: Record<string, number> = {};
    for (const r of runs) for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
    out.push(`${((100 * errors) / requests).toFixed(1)} % not 2xx (${Object.entries(statuses).map(([s, n]) => `${s}×${n}`).join(', ')})`);
  }
  const inline = runs.reduce((n, r) => n + r.signedInWindow, 0);
  if (inline > 0) out.push(`${inline} bodies signed inside the window (client-bound)`);
  return out;
}
