// SPEC §7: /readyz — 200 when this replica can serve, 503 otherwise; every dependency in use with its
// state; a dependency fails /readyz only when listed in admin.readinessDependencies; 503 while
// draining; each dependency change logged once.
import t from 'tap';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Readiness } from '../../src/readiness.js';
import { loadConfig } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { serverBlock, startTestGateway, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';
import { jwsGatewayYaml, postTo, CONSENTS } from '../helpers/jws-gateway.js';
import { startTestDirectory } from '../helpers/directory.js';
import { requestClaims, signJws } from '../helpers/jws.js';

interface ReadyBody {
  readonly status: string;
  readonly dependencies: Record<string, { up: boolean; detail: string }>;
}

/** A pino logger writing into an array of parsed lines. */
function capturedLog(): { lines: Array<Record<string, unknown>>; logger: pino.Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (chunk: string) => void lines.push(JSON.parse(chunk) as Record<string, unknown>) });
  return { lines, logger };
}

/** An introspection endpoint that answers `{"active":false}`, or 503 while `healthy` is false. */
async function toggledAs(tt: { teardown(fn: () => unknown): void }): Promise<{ url: string; healthy: boolean; server: Server }> {
  const state = { url: '', healthy: true, server: undefined as unknown as Server };
  state.server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (state.healthy) res.writeHead(200, { 'content-type': 'application/json' }).end('{"active":false}');
      else res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"down"}');
    });
  });
  await new Promise<void>((r) => state.server.listen(0, '127.0.0.1', r));
  tt.teardown(() => new Promise<void>((r) => state.server.close(() => r())));
  state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}/introspect`;
  return state;
}

async function readyz(adminPort: number | undefined): Promise<{ status: number; body: ReadyBody }> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
  return { status: res.status, body: (await res.json()) as ReadyBody };
}

async function eventually(check: () => Promise<boolean>, ms = 6000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const introspectionBlock = (url: string) => `introspection:\n  endpoint: ${url}\n  clientId: guarita\n  clientSecret: s3cret\n  timeoutMs: 1000\n`;

t.test('a flapping dependency logs exactly one line per transition, never one per probe', async (tt) => {
  const { lines, logger } = capturedLog();
  const changes: Array<[string, boolean]> = [];
  const readiness = new Readiness({ log: logger, onChange: (name, up) => changes.push([name, up]) });
  let up = true;
  readiness.dependency('introspection', 'https://as.example/introspect', async () => {
    if (!up) throw new Error('connect ECONNREFUSED 10.0.0.1:443');
    return 'answered';
  });
  const rounds = async (n: number) => {
    for (let i = 0; i < n; i++) await readiness.run();
  };
  await rounds(3);
  tt.same(lines, [], 'up from the start: nothing logged');
  up = false;
  await rounds(5);
  up = true;
  await rounds(5);
  up = false;
  await rounds(5);
  up = true;
  await rounds(2);
  tt.same(
    lines.map((l) => [l.level, l.msg, l.dependency]),
    [
      [40, 'dependency introspection is down', 'introspection'],
      [30, 'dependency introspection is back up', 'introspection'],
      [40, 'dependency introspection is down', 'introspection'],
      [30, 'dependency introspection is back up', 'introspection'],
    ],
    'one line per change',
  );
  tt.equal(lines[0]?.detail, 'https://as.example/introspect: connect ECONNREFUSED 10.0.0.1:443', 'the down line names the URL and the error');
  tt.notOk(lines.some((l) => 'err' in l || 'stack' in l), 'no stack traces');
  tt.same(changes, [['introspection', true], ['introspection', false], ['introspection', true], ['introspection', false], ['introspection', true]]);
  tt.equal(readiness.ready, true, 'not listed in readinessDependencies: never unready');
});

t.test('Readiness: a listed dependency down, own state and draining make it unready', async (tt) => {
  const readiness = new Readiness({ required: ['replayStore'], probeTimeoutMs: 50 });
  let answer: 'ok' | 'fail' | 'hang' = 'ok';
  readiness.dependency('replayStore', 'redis://redis:6379', () => {
    if (answer === 'fail') throw new Error('PING failed');
    if (answer === 'hang') return new Promise<void>(() => undefined);
    return 'answered PING';
  });
  readiness.dependency('introspection', 'https://as.example/introspect', () => {
    throw new Error('HTTP 503');
  });
  tt.equal(readiness.ready, false, 'a listed dependency not probed yet is not known to be up');
  await readiness.run();
  tt.same(readiness.body(), {
    status: 'ready',
    dependencies: {
      replayStore: { up: true, detail: 'redis://redis:6379: answered PING' },
      introspection: { up: false, detail: 'https://as.example/introspect: HTTP 503' },
    },
  });
  answer = 'hang';
  await readiness.run();
  tt.same(readiness.body().dependencies.replayStore, { up: false, detail: 'redis://redis:6379: no answer within 50 ms' });
  tt.equal(readiness.body().status, 'unavailable');
  answer = 'ok';
  await readiness.run();
  tt.equal(readiness.ready, true);
  readiness.set('tls', 'TLS material could not be reloaded');
  tt.equal(readiness.ready, false, 'own state fails readiness');
  readiness.set('tls', undefined);
  readiness.drain();
  tt.equal(readiness.ready, false, 'draining');
  tt.same(Object.keys(readiness.failing()), ['draining']);
});

t.test('introspection down: /readyz 200 with the dependency down; listed in readinessDependencies: 503', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir } = await testPki();
  const as = await toggledAs(tt);
  const yaml = (required: string) =>
    `${serverBlock(dir)}admin: { port: 0, host: 127.0.0.1, readinessDependencies: ${required} }\n${introspectionBlock(as.url)}routes:\n  - path: /x\n    upstream: ${upstream.url}\n`;
  const shared = await startTestGateway(tt, yaml('[]'));
  const listed = await startTestGateway(tt, yaml('[introspection]'));

  let ready = await readyz(shared.gateway.adminPort);
  tt.equal(ready.status, 200);
  tt.same(ready.body, { status: 'ready', dependencies: { introspection: { up: true, detail: `${as.url}: answered` } } }, 'listed from the first answer');
  tt.equal((await readyz(listed.gateway.adminPort)).status, 200);

  as.healthy = false;
  tt.ok(await eventually(async () => (await readyz(shared.gateway.adminPort)).body.dependencies.introspection?.up === false, 5000), 'the outage shows within 5 s');
  ready = await readyz(shared.gateway.adminPort);
  tt.equal(ready.status, 200, 'a shared dependency down leaves the replica in service');
  tt.equal(ready.body.status, 'ready');
  tt.match(ready.body.dependencies.introspection?.detail, new RegExp(`^${as.url.replaceAll('.', '\\.')}: .*503`), 'the detail names the URL and the failure');
  tt.ok(await eventually(async () => (await readyz(listed.gateway.adminPort)).status === 503, 5000), 'listed: 503');
  tt.equal((await readyz(listed.gateway.adminPort)).body.status, 'unavailable');
  const metrics = await (await fetch(`http://127.0.0.1:${shared.gateway.adminPort}/metrics`)).text();
  tt.match(metrics, /guarita_dependency_up\{dependency="introspection"\} 0/);

  as.healthy = true;
  tt.ok(await eventually(async () => (await readyz(listed.gateway.adminPort)).status === 200, 5000), 'back: ready again');
  tt.match(await (await fetch(`http://127.0.0.1:${shared.gateway.adminPort}/metrics`)).text(), /guarita_dependency_up\{dependency="introspection"\} 1/);
});

t.test('a gateway logs an introspection outage once when it starts and once when it ends', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir } = await testPki();
  const as = await toggledAs(tt);
  const configDir = mkdtempSync(join(tmpdir(), 'guarita-conf-'));
  const file = join(configDir, 'routes.yaml');
  writeFileSync(file, `${serverBlock(dir)}admin: { port: 0, host: 127.0.0.1 }\n${introspectionBlock(as.url)}routes:\n  - path: /x\n    upstream: ${upstream.url}\n`);
  const { lines, logger } = capturedLog();
  const gateway: RunningGateway = await startGateway(loadConfig(file), { logger });
  tt.teardown(async () => {
    await gateway.close(1000);
    rmSync(configDir, { recursive: true, force: true });
  });
  const about = () => lines.filter((l) => l.dependency === 'introspection').map((l) => l.msg);
  as.healthy = false;
  tt.ok(await eventually(async () => about().length === 1));
  await new Promise((r) => setTimeout(r, 4500)); // two more probe rounds while down
  tt.same(about(), ['dependency introspection is down'], 'one line for the outage');
  as.healthy = true;
  tt.ok(await eventually(async () => about().length === 2));
  await new Promise((r) => setTimeout(r, 2500));
  tt.same(about(), ['dependency introspection is down', 'dependency introspection is back up']);
});

t.test('draining: /readyz answers 503 while in-flight requests finish', async (tt) => {
  let release: () => void = () => undefined;
  const upstream = await startUpstream(tt, (_req, res) => {
    release = () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{}}');
  });
  const { dir, pki } = await testPki();
  const gw = await startTestGateway(tt, `${serverBlock(dir)}admin: { port: 0, host: 127.0.0.1 }\nroutes:\n  - path: /slow\n    upstream: ${upstream.url}\n`);
  tt.equal((await readyz(gw.gateway.adminPort)).status, 200);
  const inFlight = send(gw.port, { path: '/slow', headers: { 'x-fapi-interaction-id': randomUUID() }, cert: pki.client1, ca: pki.ca.cert });
  while (upstream.requests.length < 1) await new Promise((r) => setTimeout(r, 10));
  const closing = gw.gateway.close(5000);
  const draining = await readyz(gw.gateway.adminPort);
  tt.equal(draining.status, 503, 'not ready as soon as the drain starts');
  tt.same(draining.body, { status: 'unavailable', dependencies: {} });
  release();
  tt.equal((await inFlight).status, 200, 'the in-flight request still completes');
  await closing;
});

t.test('directory: probed at its origin, and down after a failed key-set fetch until a fetch succeeds', async (tt) => {
  const upstream = await startUpstream(tt);
  const directory = await startTestDirectory(tt);
  const yaml = `${await jwsGatewayYaml(upstream.url, directory)}admin: { port: 0, host: 127.0.0.1, readinessDependencies: [directory] }\n`;
  const gw = await startTestGateway(tt, yaml);
  const origin = `${new URL(directory.directory.jwksUri.replace(/[{}]/g, '')).origin}/`;
  const post = async () => postTo(gw.port, gw.pki.ca.cert, gw.pki.client1, CONSENTS, await signJws(directory.org1, requestClaims(directory.org1, CONSENTS)));

  let ready = await readyz(gw.gateway.adminPort);
  tt.equal(ready.status, 200);
  tt.same(Object.keys(ready.body.dependencies).sort(), ['directory', 'replayStore']);
  tt.same(ready.body.dependencies.directory, { up: true, detail: `${origin}: answered HTTP 404` }, 'any answer below 500 from the origin is up');

  directory.directory.setDown(true);
  tt.equal((await post()).status, 503, 'no keys: 503');
  tt.ok(await eventually(async () => (await readyz(gw.gateway.adminPort)).status === 503, 5000), 'listed: 503 within 5 s');
  ready = await readyz(gw.gateway.adminPort);
  tt.equal(ready.body.dependencies.directory?.up, false);
  tt.match(ready.body.dependencies.directory?.detail, /key set fetch from https:\/\/\S+ failed: directory answered HTTP 503/, 'names the key-set URL');

  directory.directory.setDown(false);
  await new Promise((r) => setTimeout(r, 4500)); // two probe rounds reach the origin again
  tt.equal((await readyz(gw.gateway.adminPort)).body.dependencies.directory?.up, false, 'still down: no key-set fetch has succeeded since');
  tt.equal((await post()).status, 200, 'the directory answers again');
  tt.ok(await eventually(async () => (await readyz(gw.gateway.adminPort)).status === 200, 5000), 'up after a successful fetch');
});
