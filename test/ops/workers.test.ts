// Issue 16: `server.workers: n` — n processes share the listeners; the primary's admin port covers them all.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { mergeReadiness } from '../../src/cluster.js';
import { serverBlock, testPki } from '../helpers/gateway.js';
import { startProcessGateway } from '../helpers/process-gateway.js';
import { freePort } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

/** Pids of the processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)])
      .toString()
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

async function adminGet(port: number, path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, text: await response.text() };
}

t.test('workers: 2 — both processes serve, /metrics sums them, /readyz asks them, SIGTERM drains and exits 0', async (tt) => {
  const { dir, pki } = await testPki();
  // An upstream that records the source port of each connection: each worker has its own pool.
  const sourcePorts = new Set<number>();
  let received = 0;
  const upstream = createServer((req, res) => {
    received++;
    sourcePorts.add(req.socket.remotePort ?? 0);
    res.end('{}');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  tt.teardown(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
  const upstreamPort = (upstream.address() as { port: number }).port;
  const adminPort = await freePort();
  const gw = await startProcessGateway(
    tt,
    `${serverBlock(dir, '  workers: 2\n')}admin: { port: ${adminPort} }\nroutes:\n  - path: /open\n    upstream: http://127.0.0.1:${upstreamPort}\n    mtls: none\n    auth: none\n`,
    { startTimeoutMs: 60_000 },
  );
  tt.equal(childrenOf(gw.pid).length, 2, 'the primary forked two workers');

  const requests = 24;
  for (let i = 0; i < requests; i++) {
    const response = await send(gw.port, { path: '/open/x', headers: { 'x-fapi-interaction-id': randomUUID() }, ca: pki.ca.cert });
    tt.equal(response.status, 200);
  }
  tt.equal(received, requests);
  // Connections are handed round-robin: both workers forwarded, over their own upstream connections.
  tt.ok(sourcePorts.size >= 2, `the upstream saw ${sourcePorts.size} connections, one pool per worker`);

  const metrics = await adminGet(adminPort, '/metrics');
  tt.equal(metrics.status, 200);
  const served = [...metrics.text.matchAll(/^guarita_requests_total\{[^}]*route="\/open"[^}]*status="200"[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  tt.equal(served, requests, 'the primary sums every worker’s counters');

  const ready = await adminGet(adminPort, '/readyz');
  tt.equal(ready.status, 200);
  tt.match(JSON.parse(ready.text), { status: 'ready', dependencies: { workers: { up: true, detail: '2 of 2 workers answered' } } });

  const workers = childrenOf(gw.pid);
  gw.kill('SIGTERM');
  tt.equal(await gw.exited, 0, 'the primary exits 0 once every worker has drained');
  for (const pid of workers) {
    tt.throws(() => process.kill(pid, 0), 'no worker outlives the primary');
  }
});

t.test('a worker that dies is replaced and the gateway keeps serving', async (tt) => {
  const { dir, pki } = await testPki();
  const upstream = createServer((_req, res) => res.end('{}'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  tt.teardown(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
  const upstreamPort = (upstream.address() as { port: number }).port;
  const gw = await startProcessGateway(
    tt,
    `${serverBlock(dir, '  workers: 2\n')}routes:\n  - path: /open\n    upstream: http://127.0.0.1:${upstreamPort}\n    mtls: none\n    auth: none\n`,
    { startTimeoutMs: 60_000 },
  );
  const [victim] = childrenOf(gw.pid);
  process.kill(victim as number, 'SIGKILL');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (childrenOf(gw.pid).length !== 2 || childrenOf(gw.pid).includes(victim as number))) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  tt.equal(childrenOf(gw.pid).length, 2, 'a new worker took its place');
  for (let i = 0; i < 6; i++) {
    tt.equal((await send(gw.port, { path: '/open/x', headers: { 'x-fapi-interaction-id': randomUUID() }, ca: pki.ca.cert })).status, 200);
  }
});

t.test('config: more than one worker with the memory store and a route that records jtis or idempotency keys is an error', async (tt) => {
  const { dir } = await testPki();
  const work = mkdtempSync(join(tmpdir(), 'guarita-workers-'));
  tt.teardown(() => rmSync(work, { recursive: true, force: true }));
  const route =
    'introspection: { endpoint: https://as.example/introspect, clientId: g, clientSecret: s }\n' +
    'routes:\n  - path: /pay\n    upstream: http://127.0.0.1:9001\n    auth: { scopes: [payments] }\n    idempotency: true\n';
  const write = (text: string) => {
    const file = join(mkdtempSync(join(work, 'c-')), 'routes.yaml');
    writeFileSync(file, text);
    return file;
  };
  let error: unknown;
  try {
    loadConfig(write(`${serverBlock(dir, '  workers: auto\n')}${route}`));
  } catch (err) {
    error = err;
  }
  tt.ok(error instanceof ConfigError, 'refused at load');
  tt.match((error as Error).message, /server\.workers: workers share no memory.*replay: \{ store: redis/);
  tt.equal(loadConfig(write(`${serverBlock(dir, '  workers: 1\n')}${route}`)).server.workers, 1, 'one worker keeps the memory store');
  tt.equal(
    loadConfig(write(`${serverBlock(dir, '  workers: 2\n')}replay: { store: redis, url: redis://127.0.0.1:6379 }\n${route}`)).server.workers,
    2,
    'Redis is shared by every worker',
  );
});

t.test('mergeReadiness: ready only when every worker answered ready; a dependency is down when down in any worker', async (tt) => {
  const up = { up: true, detail: 'answered' };
  const down = { up: false, detail: 'introspection unreachable' };
  const a = { status: 'ready' as const, dependencies: { introspection: up } };
  const b = { status: 'ready' as const, dependencies: { introspection: down } };
  tt.match(mergeReadiness([a, a], 2, false), { status: 'ready', dependencies: { introspection: up, workers: { up: true } } });
  tt.match(mergeReadiness([a, b], 2, false), { status: 'ready', dependencies: { introspection: down } });
  tt.match(mergeReadiness([a, undefined], 2, false), { status: 'unavailable', dependencies: { workers: { up: false, detail: '1 of 2 workers answered' } } });
  tt.match(mergeReadiness([a, { ...a, status: 'unavailable' }], 2, false), { status: 'unavailable' });
  tt.match(mergeReadiness([a, a], 2, true), { status: 'unavailable', dependencies: { workers: { detail: '2 of 2 workers answered; draining' } } });
});
