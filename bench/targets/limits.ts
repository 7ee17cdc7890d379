/**
 * What rows (dl) and (dlr) add to target (d): the SPEC §10 limits on its route (`perMinute` and
 * `perConsentMonth` high enough never to refuse) and, for (dlr), a real redis-server to count in.
 */
import { spawnSync } from 'node:child_process';
import { freePort, startService, waitForPort, type Service } from '../lib.js';

/** Far above what a bench run sends in a minute or a month: the limits count, never refuse. */
export const LIMITS_YAML = '    limits: { perMinute: 1000000000, perConsentMonth: 1000000000 }';

export function redisUnavailable(): string | undefined {
  const installed = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  return installed ? undefined : 'redis-server is not installed: the Redis limits row was not measured';
}

/** A throwaway redis-server on a free loopback port, and the gateway's `replay` section for it. */
export async function startBenchRedis(): Promise<{ service: Service; replayYaml: string }> {
  const port = await freePort();
  const service = startService('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  try {
    await waitForPort(port, 10_000, service);
  } catch (err) {
    await service.stop();
    throw err;
  }
  return { service, replayYaml: `replay: { store: redis, url: 'redis://127.0.0.1:${port}', keyPrefix: 'bench:' }` };
}
