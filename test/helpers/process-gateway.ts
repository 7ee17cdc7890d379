/** A gateway in its own process (`node dist/src/cli.js --config FILE`), as a replica runs in production. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { removeTempDir, tempDir, testPki } from './gateway.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface ProcessGateway {
  readonly port: number;
  readonly pid: number;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Send a signal to the gateway process. */
  kill(signal: NodeJS.Signals): void;
}

export interface ProcessOptions {
  /** A command the gateway runs under, e.g. `['prlimit', '--nofile=256:256', '--']`. */
  readonly wrapper?: readonly string[];
  /** How long to wait for "guarita listening" (several worker processes start slower on a loaded machine). */
  readonly startTimeoutMs?: number;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Write `yaml` (`{{pki}}` replaced), start the CLI on it and wait for its "guarita listening" log line. */
export async function startProcessGateway(t: Teardown, yaml: string, options: ProcessOptions = {}): Promise<ProcessGateway> {
  const { dir } = await testPki();
  const configDir = tempDir('guarita-proc-');
  const file = join(configDir, 'routes.yaml');
  writeFileSync(file, yaml.replaceAll('{{pki}}', dir));
  const [command = process.execPath, ...args] = [...(options.wrapper ?? []), process.execPath, CLI, '--config', file];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(async () => {
    // A process killed by a signal has exitCode null but signalCode set: it has exited already.
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    removeTempDir(configDir);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway process did not start: ${stderr}`)), options.startTimeoutMs ?? 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway process exited with ${code}: ${stderr}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'guarita listening' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve(entry.port);
        }
      } catch {
        // not a log line
      }
    });
  });
  return { port, pid: child.pid as number, exited, kill: (signal) => child.kill(signal) };
}
