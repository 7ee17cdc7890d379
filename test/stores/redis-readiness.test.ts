// SPEC §7 with `replay.store: redis`: Redis down shows on /readyz as `replayStore` down (200 unless
// listed in admin.readinessDependencies, then 503), and is logged once per change — not one
// stack trace per ioredis reconnection attempt.
import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/server.js';
import { serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { skipWithoutRedis, startRedis } from '../helpers/redis.js';

const skip = skipWithoutRedis(t);

interface ReadyBody {
  readonly status: string;
  readonly dependencies: Record<string, { up: boolean; detail: string }>;
}

async function eventually(check: () => Promise<boolean>, ms = 6000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

t.test('Redis down: replayStore down on /readyz, 503 only when listed; logged once per change', { skip }, async (tt) => {
  const redis = await startRedis(tt);
  const upstream = await startUpstream(tt);
  const { dir } = await testPki();
  const configDir = mkdtempSync(join(tmpdir(), 'guarita-conf-'));
  tt.teardown(() => rmSync(configDir, { recursive: true, force: true }));
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (chunk: string) => void lines.push(JSON.parse(chunk) as Record<string, unknown>) });
  const start = async (name: string, required: string, log: boolean) => {
    const file = join(configDir, `${name}.yaml`);
    writeFileSync(
      file,
      `${serverBlock(dir)}admin: { port: 0, host: 127.0.0.1, readinessDependencies: ${required} }
replay:
  store: redis
  url: ${redis.url}
  timeoutMs: 300
routes:
  - path: /x
    upstream: ${upstream.url}
    idempotency: true
`,
    );
    const gateway = await startGateway(loadConfig(file), log ? { logger } : {});
    tt.teardown(() => gateway.close(1000));
    return async (): Promise<{ status: number; body: ReadyBody }> => {
      const res = await fetch(`http://127.0.0.1:${gateway.adminPort}/readyz`);
      return { status: res.status, body: (await res.json()) as ReadyBody };
    };
  };
  const shared = await start('shared', '[]', true);
  const listed = await start('listed', '[replayStore]', false);
  tt.same((await shared()).body, { status: 'ready', dependencies: { replayStore: { up: true, detail: `${redis.url}: answered PING` } } });
  tt.equal((await listed()).status, 200);

  await redis.stop();
  tt.ok(await eventually(async () => (await shared()).body.dependencies.replayStore?.up === false, 5000), 'the outage shows within 5 s');
  const down = await shared();
  tt.equal(down.status, 200, 'a shared Redis down leaves the replica in service');
  tt.match(down.body.dependencies.replayStore?.detail, `${redis.url}: `, 'the detail names the URL');
  tt.ok(await eventually(async () => (await listed()).status === 503, 5000), 'listed in readinessDependencies: 503');
  // ioredis retries several times a second meanwhile.
  await new Promise((r) => setTimeout(r, 3000));
  const storeErrors = lines.filter((l) => l.msg === 'replay store connection error');
  tt.equal(storeErrors.length, 1, 'the connection loss is logged once, not per reconnection attempt');
  tt.match(String((storeErrors[0]?.err as { message?: string } | undefined)?.message), `redis ${redis.url} connection failed`);
  const transitions = () => lines.filter((l) => l.dependency === 'replayStore').map((l) => l.msg);
  tt.same(transitions(), ['dependency replayStore is down']);

  await redis.start();
  tt.ok(await eventually(async () => (await listed()).status === 200, 8000), 'back: ready again');
  tt.ok(await eventually(async () => transitions().length === 2, 5000));
  tt.same(transitions(), ['dependency replayStore is down', 'dependency replayStore is back up']);

  // A second outage is reported again (once).
  await redis.stop();
  tt.ok(await eventually(async () => (await shared()).body.dependencies.replayStore?.up === false, 5000));
  await new Promise((r) => setTimeout(r, 1500));
  tt.equal(lines.filter((l) => l.msg === 'replay store connection error').length, 2, 'one line per outage');
  tt.same(transitions(), ['dependency replayStore is down', 'dependency replayStore is back up', 'dependency replayStore is down']);
});
