/**
 * The load generator, a process of its own: `node dist/bench/load.js '<LoadOptions as JSON>'` prints
 * one line `RESULT <LoadResult as JSON>`.
 *
 * Closed loop: `connections` workers, each sending its next request when the previous one is answered,
 * over an undici Pool of exactly that many connections. After the warm-up it reads the measured
 * processes' CPU time from /proc, counts the requests answered during `durationMs`, and reads it again:
 * reading at the window's edges here, in the process that drives the load, keeps the window exact.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { CompactSign, importPKCS8, type CryptoKey } from 'jose';
import { clockTicks, cpuMicros, percentile, rssMiB } from './lib.js';

/** What to send and to whom. */
export interface LoadOptions {
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  readonly origin: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** PEM files of the client certificate, its key and the server's trust anchor (https only). */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string; readonly servername: string };
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Close the connection after every request, so each one pays a full handshake (target (f)). */
  readonly newConnectionPerRequest: boolean;
  /** Send a freshly signed JWS body (new jti) with every request (target (e)). */
  readonly jws?: JwsOptions;
  /** Send a fresh `x-idempotency-key` (a UUID) with every request (target (p)): every request is a first use. */
  readonly freshIdempotencyKey?: boolean;
  /** Processes whose CPU and RSS are measured (nginx: master and workers). */
  readonly pids: readonly number[];
  /**
   * Open loop: send at this fixed rate whatever the answers. Latency runs from the moment a request is
   * handed to the client pool, so waiting for a free connection counts (no coordinated omission) but
   * this process's own timer lag does not: that lag is reported apart (`sendLagP99Ms`). Closed loop when omitted.
   */
  readonly ratePerSec?: number;
}

/** PS256 request signing, as an OFB client does it (SPEC §2). */
export interface JwsOptions {
  /** PKCS#8 PEM file of the organisation's signing key. */
  readonly keyFile: string;
  readonly kid: string;
  readonly aud: string;
  readonly iss: string;
  /** How many bodies to sign before the window so signing (~0.5 ms each) does not throttle the load. */
  readonly presign: number;
  /** Upper bound of the time spent pre-signing. */
  readonly presignBudgetMs: number;
}

export interface LoadResult {
  /** Requests answered inside the window (any status). */
  readonly requests: number;
  /** Of those: not 2xx, or failed at the transport. */
  readonly errors: number;
  /** Count per status ("ERR:<code>" for transport failures), inside the window. */
  readonly statuses: Record<string, number>;
  readonly seconds: number;
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** utime+stime of `pids` during the window per answered request. */
  readonly cpuUsPerReq: number;
  /** This process's own CPU per answered request. */
  readonly clientCpuUsPerReq: number;
  /** VmRSS of `pids` at the end of the window. */
  readonly rssMiB: number;
  /** Open loop: p99 of how late this process handed requests to the pool against their schedule. */
  readonly sendLagP99Ms?: number;
  /** JWS bodies signed inside the window because the pre-signed ones ran out (each throttles the load). */
  readonly signedInWindow: number;
}

/** Latencies in a growable Float64Array: no per-sample allocation in the client's hot loop. */
class Samples {
  #data = new Float64Array(1 << 16);
  #length = 0;
  push(value: number): void {
    if (this.#length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#length++] = value;
  }
  sorted(): Float64Array {
    return this.#data.slice(0, this.#length).sort();
  }
}

/** Fresh signed bodies (new jti each): pre-signed first, then signed on demand. */
export class JwsBodies {
  readonly #ready: { body: string; iat: number }[] = [];
  #taken = 0;
  signedInWindow = 0;
  constructor(
    private readonly options: JwsOptions,
    private readonly key: CryptoKey,
  ) {}

  static async create(options: JwsOptions): Promise<JwsBodies> {
    return new JwsBodies(options, await importPKCS8(readFileSync(options.keyFile, 'utf8'), 'PS256'));
  }

  async sign(): Promise<{ body: string; iat: number }> {
    const iat = Math.floor(Date.now() / 1000);
    const claims = { aud: this.options.aud, iss: this.options.iss, iat, jti: randomUUID(), data: { amount: '1.00', currency: 'BRL' } };
    const body = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'PS256', kid: this.options.kid, typ: 'JWT' })
      .sign(this.key);
    return { body, iat };
  }

  /** Sign in batches (WebCrypto runs them on the libuv pool, i.e. on both cores) within the budget. */
  async presign(): Promise<void> {
    const deadline = Date.now() + this.options.presignBudgetMs;
    while (this.#ready.length < this.options.presign && Date.now() < deadline) {
      const batch = Math.min(32, this.options.presign - this.#ready.length);
      this.#ready.push(...(await Promise.all(Array.from({ length: batch }, () => this.sign()))));
    }
  }

  /** A body for the next request; the pre-signed ones are kept for the measured window. */
  async next(inWindow: boolean): Promise<string> {
    if (!inWindow) return (await this.sign()).body;
    // The gateway accepts iat within ±60 s: a body pre-signed too long ago is dropped, not sent.
    const oldest = Date.now() / 1000 - 45;
    let item = this.#ready[this.#taken++];
    while (item !== undefined && item.iat < oldest) item = this.#ready[this.#taken++];
    if (item !== undefined) return item.body;
    this.signedInWindow++;
    return (await this.sign()).body;
  }
}

/** Drive the load and measure; see {@link LoadOptions}. */
export async function generateLoad(options: LoadOptions): Promise<LoadResult> {
  // Read CLK_TCK now (it runs getconf once): done at the window's start, that synchronous spawn
  // stalled this process ~6 ms and sent the first requests of every window in one burst.
  clockTicks();
  const tls = options.tls;
  // ONE secure context for every connection: passing cert/key/ca per connect re-parses them and
  // triples the client's CPU per handshake. No session cache: OFB forbids resumption.
  const connect = tls
    ? {
        secureContext: createSecureContext({ cert: readFileSync(tls.cert), key: readFileSync(tls.key), ca: readFileSync(tls.ca) }),
        servername: tls.servername,
        rejectUnauthorized: true,
        maxCachedSessions: 0,
      }
    : undefined;
  const pool = new Pool(options.origin, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 60_000,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
    ...(connect ? { connect } : {}),
  });
  const bodies = options.jws ? await JwsBodies.create(options.jws) : undefined;
  await bodies?.presign();

  const fresh = options.freshIdempotencyKey === true;
  const headersOf = (): Readonly<Record<string, string>> => (fresh ? { ...options.headers, 'x-idempotency-key': randomUUID() } : options.headers);

  const samples = new Samples();
  const sendLag = new Samples();
  const statuses: Record<string, number> = {};
  let counting = false;
  let stopped = false;
  let requests = 0;
  let errors = 0;

  const worker = async (): Promise<void> => {
    while (!stopped) {
      const body = bodies ? await bodies.next(counting) : undefined;
      const start = performance.now();
      let status: string;
      try {
        const res = await pool.request({ method: options.method, path: options.path, headers: headersOf(), body, reset: options.newConnectionPerRequest });
        await res.body.dump();
        status = String(res.statusCode);
      } catch (err) {
        status = `ERR:${(err as { code?: string }).code ?? (err as Error).message}`;
        await new Promise((resolve) => setTimeout(resolve, 10)); // a refused connection must not spin the loop
      }
      if (!counting) continue;
      samples.push(performance.now() - start);
      requests++;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status.length !== 3 || status[0] !== '2') errors++;
    }
  };
  // Open loop: requests leave on a fixed schedule; at most MAX_OUTSTANDING wait at once.
  const MAX_OUTSTANDING = 10_000;
  let outstanding = 0;
  const fire = (scheduled: number): void => {
    if (outstanding >= MAX_OUTSTANDING) {
      if (counting) {
        requests++;
        errors++;
        statuses['ERR:overload'] = (statuses['ERR:overload'] ?? 0) + 1;
      }
      return;
    }
    outstanding++;
    const measured = counting;
    const sent = performance.now();
    if (measured) sendLag.push(sent - scheduled);
    pool
      .request({ method: options.method, path: options.path, headers: headersOf(), reset: options.newConnectionPerRequest })
      .then(async (res) => {
        await res.body.dump();
        return String(res.statusCode);
      })
      .catch((err: unknown) => `ERR:${(err as { code?: string }).code ?? (err as Error).message}`)
      .then((status) => {
        outstanding--;
        if (!measured) return;
        samples.push(performance.now() - sent);
        requests++;
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status.length !== 3 || status[0] !== '2') errors++;
      });
  };
  const scheduler = async (rate: number): Promise<void> => {
    const interval = 1000 / rate;
    let next = performance.now();
    while (!stopped) {
      const now = performance.now();
      for (; next <= now; next += interval) fire(next);
      await sleep(1);
    }
    const until = Date.now() + 10_000;
    while (outstanding > 0 && Date.now() < until) await sleep(5);
  };
  const rate = options.ratePerSec;
  const workers = rate !== undefined && rate > 0 ? [scheduler(rate)] : Array.from({ length: options.connections }, worker);

  await sleep(options.warmupMs);
  const cpu0 = cpuMicros(options.pids);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  counting = true;
  await sleep(options.durationMs);
  counting = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuMicros(options.pids);
  const client = process.cpuUsage(client0);
  const rss = rssMiB(options.pids);
  stopped = true;
  await Promise.race([Promise.all(workers), sleep(10_000)]);
  await pool.destroy();

  const sorted = samples.sorted();
  return {
    requests,
    errors,
    statuses,
    seconds,
    reqPerSec: requests / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    cpuUsPerReq: requests > 0 ? (cpu1 - cpu0) / requests : NaN,
    clientCpuUsPerReq: requests > 0 ? (client.user + client.system) / requests : NaN,
    rssMiB: rss,
    signedInWindow: bodies?.signedInWindow ?? 0,
    ...(rate === undefined ? {} : { sendLagP99Ms: percentile(sendLag.sorted(), 99) }),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
  generateLoad(options).then(
    (result) => {
      process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(`load generator: ${err instanceof Error ? err.stack : String(err)}`);
      process.exit(1);
    },
  );
}
