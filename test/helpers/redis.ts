/**
 * A real redis-server for the tests, on a free port, no persistence; stopped on teardown. Also a
 * Sentinel-managed master (with a replica, for failover) and a 3-node Redis Cluster, all on
 * 127.0.0.1, their files in a temp dir removed on teardown.
 * Where redis-server (or redis-cli, for the cluster) is not installed the Redis tests are skipped
 * loudly — and fail when GUARITA_REQUIRE_REDIS=1 (CI sets it: .ci/run).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

let available: boolean | undefined;

/** Whether redis-server and redis-cli can run here. */
export function redisInstalled(): boolean {
  available ??=
    spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
  return available;
}

interface TapLike {
  fail(message: string): void;
  comment(message: string): void;
}

/**
 * The `skip` option for a Redis test: false when redis-server is installed; otherwise prints a loud
 * skip notice, or — with GUARITA_REQUIRE_REDIS=1 — records a failure.
 */
export function skipWithoutRedis(t: TapLike): false | string {
  if (redisInstalled()) return false;
  const message = 'redis-server / redis-cli not installed — Redis tests skipped';
  if (process.env.GUARITA_REQUIRE_REDIS === '1') {
    t.fail(`${message}, but GUARITA_REQUIRE_REDIS=1 requires them`);
  } else {
    console.error(`# SKIP: ${message}`);
    t.comment(`SKIP: ${message}`);
  }
  return message;
}

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** Kill the server (SIGKILL: an abrupt outage). */
  stop(): Promise<void>;
  /** Start it again on the same port (empty). */
  start(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Start redis-server on a free port; killed on teardown. */
export async function startRedis(t: Teardown): Promise<TestRedis> {
  const port = await freePort();
  const server = redisProcess(port, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  t.teardown(server.stop);
  await server.start();
  return { port, url: `redis://127.0.0.1:${port}`, stop: server.stop, start: server.start };
}

/** A redis-server (or sentinel) process on `port`, started and stopped at will. */
function redisProcess(port: number, args: readonly string[]): { start(): Promise<void>; stop(): Promise<void> } {
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    child = proc;
    await waitForPong(port, proc);
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  };
  return { start, stop };
}

/** A temp dir, and `stopped(fn)` to stop a process using it: on teardown every process is stopped, then the dir removed. */
async function tempDir(t: Teardown, name: string): Promise<{ dir: string; stopped(stop: () => Promise<void>): void }> {
  const dir = await mkdtemp(join(tmpdir(), `guarita-${name}-`));
  const stops: (() => Promise<void>)[] = [];
  t.teardown(async () => {
    for (const stop of stops.reverse()) await stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, stopped: (stop) => stops.push(stop) };
}

const run = promisify(execFile);

/** redis-cli against 127.0.0.1:port; its stdout. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not within ${timeoutMs} ms`);
}

export interface TestSentinel {
  /** Master group name. */
  readonly name: string;
  readonly sentinels: readonly { host: string; port: number }[];
  readonly masterPort: number;
  readonly replicaPort: number;
  /** Kill the master and wait until the sentinel names the replica as the new master. */
  failover(): Promise<void>;
}

/**
 * A master, one replica and one sentinel (quorum 1, down-after 1 s) monitoring it as `name`; the
 * sentinel needs a writable config file (in a temp dir).
 */
export async function startSentinel(t: Teardown, name = 'guarita'): Promise<TestSentinel> {
  const { dir, stopped } = await tempDir(t, 'sentinel');
  const [masterPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()];
  const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const master = redisProcess(masterPort, ['--port', String(masterPort), ...common]);
  stopped(master.stop);
  await master.start();
  const replica = redisProcess(replicaPort, ['--port', String(replicaPort), '--replicaof', '127.0.0.1', String(masterPort), ...common]);
  stopped(replica.stop);
  await replica.start();
  const conf = join(dir, 'sentinel.conf');
  await writeFile(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      '',
    ].join('\n'),
  );
  const sentinel = redisProcess(sentinelPort, [conf, '--sentinel']);
  stopped(sentinel.stop);
  await sentinel.start();
  await until('the replica in sync', 10_000, async () => (await redisCli(replicaPort, 'info', 'replication')).includes('master_link_status:up'));
  await until('the sentinel seeing the replica', 10_000, async () => (await redisCli(sentinelPort, 'sentinel', 'replicas', name)).includes(String(replicaPort)));
  return {
    name,
    sentinels: [{ host: '127.0.0.1', port: sentinelPort }],
    masterPort,
    replicaPort,
    async failover() {
      await master.stop();
      await until('the sentinel promoting the replica', 20_000, async () =>
        (await redisCli(sentinelPort, 'sentinel', 'get-master-addr-by-name', name)).includes(String(replicaPort)),
      );
    },
  };
}

export interface TestCluster {
  /** Seed node URLs, e.g. redis://127.0.0.1:P. */
  readonly urls: readonly string[];
  readonly ports: readonly number[];
}

/**
 * Three cluster-enabled masters (no replicas) joined with `redis-cli --cluster create`; the cluster
 * bus on its own free port (`--cluster-port`, so that port + 10000 need not be free). Extra server
 * arguments (e.g. `--requirepass`) apply to every node.
 */
export async function startCluster(t: Teardown, extra: readonly string[] = []): Promise<TestCluster> {
  const { dir, stopped } = await tempDir(t, 'cluster');
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const [port, bus] = [await freePort(), await freePort()];
    const node = redisProcess(port, [
      '--port', String(port), '--cluster-port', String(bus), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
      '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir, '--save', '', '--appendonly', 'no', ...extra,
    ]);
    stopped(node.stop);
    await node.start();
    ports.push(port);
  }
  const auth = extra.includes('--requirepass') ? ['-a', extra[extra.indexOf('--requirepass') + 1] ?? '', '--no-auth-warning'] : [];
  await run('redis-cli', [...auth, '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 });
  for (const port of ports) {
    await until(`cluster_state:ok on ${port}`, 20_000, async () => (await redisCli(port, ...auth, 'cluster', 'info')).includes('cluster_state:ok'));
  }
  return { urls: ports.map((p) => `redis://127.0.0.1:${p}`), ports };
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPong(port: number, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('redis-server did not answer PING within 10 s');
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
      }
    });
    socket.on('error', () => resolve(false));
  });
}
