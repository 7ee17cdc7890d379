/**
 * Rows (dl) and (dlr): target (d) — the full token pipeline, warm cache — with the SPEC §10 limits
 * on (`perMinute` and `perConsentMonth` high enough never to refuse), counting in the memory store
 * and in a real Redis. Issue 14's goal: CPU per request ≤ 1.10× (d) on memory, ≤ 1.4× on Redis.
 * The Redis row's CPU includes redis-server's own (the counters are work done for the gateway).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, startService, waitForPort, type Service } from '../lib.js';
import { ACCOUNTS_PATH, gatewayYaml } from './configs.js';
import { GATEWAY_NODE_FLAGS } from '../../src/runtime-flags.js';
import type { BenchEnv, Running, TargetDef } from './index.js';

const GUARITA_CLI = resolve(import.meta.dirname, '../../src/cli.js');

/** Far above what a bench run sends in a minute or a month: the limits count, never refuse. */
const NEVER_REFUSED = '    limits: { perMinute: 1000000000, perConsentMonth: 1000000000 }';

function redisInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The limits row on `store`. */
export function limitsTarget(id: string, label: string, store: 'memory' | 'redis'): TargetDef {
  return {
    id,
    label,
    baseline: 'b',
    needsMocks: true,
    request: { method: 'GET', path: ACCOUNTS_PATH, token: true, jws: false },
    newConnectionPerRequest: false,
    // Skipped loudly (the table's note) rather than silently absent.
    unavailable: () => (store === 'redis' && !redisInstalled() ? 'redis-server is not installed: the Redis limits row was not measured' : undefined),
    async start(env: BenchEnv): Promise<Running | string> {
      const services: Service[] = [];
      const stopAll = async () => {
        for (const s of [...services].reverse()) await s.stop();
      };
      try {
        let replay = '';
        if (store === 'redis') {
          const redisPort = await freePort();
          const redis = startService('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
          services.push(redis);
          await waitForPort(redisPort, 10_000, redis);
          replay = `replay: { store: redis, url: 'redis://127.0.0.1:${redisPort}', keyPrefix: 'bench:' }\n`;
        }
        const port = await freePort();
        const file = join(env.dir, `guarita-${id}.yaml`);
        const base = gatewayYaml({
          level: 'd',
          port,
          pkiDir: env.pkiDir,
          upstream: `http://127.0.0.1:${env.upstreamPort}`,
          authServer: `http://127.0.0.1:${env.mocks?.as ?? 0}`,
          directory: `https://127.0.0.1:${env.mocks?.directory ?? 0}`,
          clientId: env.introspectionClient.id,
          clientSecret: env.introspectionClient.secret,
          logLevel: env.accessLog ? 'info' : 'warn',
        });
        // (d)'s one route is the file's last entry: its limits go right under it.
        writeFileSync(file, `${base}${NEVER_REFUSED}\n${replay}`);
        const check = spawnSync(env.node, [GUARITA_CLI, 'check-config', file], { encoding: 'utf8', timeout: 15_000 });
        if (check.status !== 0) {
          await stopAll();
          return `not available in this build (configuration refused: ${check.stderr.trim().split('\n')[0] ?? ''})`;
        }
        const log = openSync(join(env.dir, `guarita-${id}.log`), 'a');
        const gateway = startService(env.node, [...GATEWAY_NODE_FLAGS, GUARITA_CLI, '--config', file], { stdio: ['ignore', log, 'pipe'] });
        closeSync(log);
        services.push(gateway);
        await waitForPort(port, 15_000, gateway);
        return {
          origin: `https://127.0.0.1:${port}`,
          pids: () => services.map((s) => s.pid),
          output: () => gateway.output(),
          stop: stopAll,
        };
      } catch (err) {
        await stopAll();
        throw err;
      }
    },
  };
}
