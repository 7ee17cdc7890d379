/**
 * A real redis-server for the tests, on a free port, no persistence; stopped on teardown.
 * Where redis-server is not installed the Redis tests are skipped loudly — and fail when
 * GUARITA_REQUIRE_REDIS=1 (CI sets it: .ci/run).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

let available: boolean | undefined;

/** Whether redis-server can run here. */
export function redisInstalled(): boolean {
  available ??= spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
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
  const message = 'redis-server not installed — Redis tests skipped';
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
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    child = proc;
    await waitForPong(port, proc);
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  };
  await start();
  t.teardown(stop);
  return { port, url: `redis://127.0.0.1:${port}`, stop, start };
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
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.on('error', () => resolve(false));
  });
}
