// SPEC §7: the installed bin — `guarita --config FILE` / `guarita FILE`; bad config exits non-zero without listening.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { serverBlock, testPki } from './helpers/gateway.js';
import { startUpstream } from './helpers/upstream.js';
import { send } from './helpers/client.js';

const BIN = resolve(import.meta.dirname, '../src/cli.js');

function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => done(p));
    });
  });
}

function run(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, exited, output: () => ({ out, err }) };
}

t.test('bad config: clear error, non-zero exit, never listens', async (tt) => {
  const file = join(mkdtempSync(join(tmpdir(), 'guarita-cli-')), 'routes.yaml');
  writeFileSync(file, 'server:\n  port: 8443\n  tls: { certificates: [] }\nroutes: []\n');
  const p = run(['--config', file]);
  const code = await p.exited;
  tt.not(code, 0);
  tt.match(p.output().err, `configuration error: ${file}:`);
});

t.test('guarita FILE starts, serves, and drains on SIGTERM (exit 0)', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir, pki } = await testPki();
  const port = await freePort();
  const file = join(mkdtempSync(join(tmpdir(), 'guarita-cli-')), 'routes.yaml');
  writeFileSync(
    file,
    serverBlock(dir).replace('port: 0', `port: ${port}`) +
      `log: { level: info }\nroutes:\n  - path: /open-banking/accounts/v2\n    upstream: ${upstream.url}\n    fapi: true\n`,
  );
  const p = run([file]);
  tt.teardown(() => p.child.kill('SIGKILL'));
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`not listening: ${JSON.stringify(p.output())}`)), 10_000);
    p.child.stdout.on('data', () => {
      if (p.output().out.includes('guarita listening')) {
        clearTimeout(timer);
        done();
      }
    });
  });
  const id = randomUUID();
  const res = await send(port, { path: '/open-banking/accounts/v2/accounts?access_token=secret-in-query', headers: { 'x-fapi-interaction-id': id }, cert: pki.client1, ca: pki.ca.cert });
  tt.equal(res.status, 200);
  p.child.kill('SIGTERM');
  tt.equal(await p.exited, 0, 'SIGTERM drains and exits 0');
  const logs = p.output().out;
  const line = logs.split('\n').find((l) => l.includes(id));
  tt.ok(line, 'one log line carries the interaction id');
  const entry = JSON.parse(line!) as Record<string, unknown>;
  tt.equal(entry.status, 200);
  tt.equal(entry.orgId, pki.client1.orgId);
  tt.equal(entry.path, '/open-banking/accounts/v2/accounts');
  tt.notMatch(logs, 'secret-in-query', 'SPEC §7: never a query string (tokens) in logs');
});
