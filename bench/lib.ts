/**
 * Small helpers shared by the orchestrator and the load generator: CPU and memory of a process
 * from /proc (Linux only), child processes, ports, and statistics.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';

let ticksPerSecond: number | undefined;

/** Clock ticks per second of utime/stime in /proc/<pid>/stat (`getconf CLK_TCK`, almost always 100). */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** /proc/<pid>/stat fields from field 3 (state) on: the command name before them may contain spaces and parentheses. */
function statFields(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/**
 * utime + stime of the processes (every thread: JS, libuv pool, GC), in microseconds. Resolution is
 * one clock tick (10 ms at 100 Hz), so a window must burn well over a second of CPU to be precise.
 */
export function cpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const fields = statFields(pid);
    ticks += Number(fields[14 - 3]) + Number(fields[15 - 3]); // man 5 proc: field 14 utime, 15 stime
  }
  return (ticks * 1e6) / clockTicks();
}

/** Sum of VmRSS of the processes, in MiB. */
export function rssMiB(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    kb += Number(match?.[1] ?? 0);
  }
  return kb / 1024;
}

/** Pids whose parent is `pid` (nginx's workers under its master). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (statFields(Number(name))[4 - 3] === String(pid)) children.push(Number(name));
    } catch {
      // the process ended while we were scanning
    }
  }
  return children;
}

/** A port that was free a moment ago on 127.0.0.1 (for servers whose port must be written into a config file). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; rejects after `timeoutMs` or when `child` exits. */
export async function waitForPort(port: number, timeoutMs: number, child?: Service): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child?.exitCode() !== undefined) throw new Error(`process exited (${child.exitCode()}) before listening: ${child.output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on port ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A child process we started; `stop()` ends that process only (by its pid). */
export interface Service {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Exit code (or signal name) once it has exited. */
  exitCode(): number | string | undefined;
  /** The last few kB of its stdout and stderr, for error messages. */
  output(): string;
  /** The first stdout line starting with `prefix`, without it. */
  line(prefix: string, timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
}

/** Spawn a long-running child; stdout and stderr are kept (bounded) for `line()` and error messages. */
export function startService(command: string, args: readonly string[], options: SpawnOptions = {}): Service {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (child.pid === undefined) throw new Error(`cannot start ${command}`);
  let out = '';
  let exit: number | string | undefined;
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = code ?? signal ?? 'unknown';
      resolve();
    }),
  );
  return {
    child,
    pid: child.pid,
    exitCode: () => exit,
    output: () => out.trim(),
    line(prefix, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${prefix}" line after ${timeoutMs} ms: ${out}`)), timeoutMs);
        const look = () => {
          const line = out.split('\n').find((l) => l.startsWith(prefix));
          if (line !== undefined) {
            clearTimeout(timer);
            child.stdout?.off('data', look);
            resolve(line.slice(prefix.length));
          } else if (exit !== undefined) {
            clearTimeout(timer);
            reject(new Error(`exited (${exit}): ${out}`));
          }
        };
        child.stdout?.on('data', look);
        child.once('exit', look);
        look();
      });
    },
    async stop() {
      if (exit !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Median of the finite values (NaN when there is none). */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nearest-rank percentile (0 < p ≤ 100) of an ascending array. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
