// SPEC §7: the installed bin — `guarita --config FILE` / `guarita FILE`; bad config exits non-zero without listening.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { serverBlock, testPki } from './helpers/gateway.js';
import { freePort, startUpstream } from './helpers/upstream.js';
import { send } from './helpers/client.js';

const BIN = resolve(import.meta.dirname, '../src/cli.js');

/** One temp dir for this file, removed at exit; each test gets a fresh folder in it. */
const WORK = mkdtempSync(join(tmpdir(), 'guarita-cli-'));
process.once('exit', () => rmSync(WORK, { recursive: true, force: true }));
let folders = 0;
function workDir(): string {
  const dir = join(WORK, String(++folders));
  mkdirSync(dir);
  return dir;
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
  const file = join(workDir(), 'routes.yaml');
  writeFileSync(file, 'server:\n  port: 8443\n  tls: { certificates: [] }\nroutes: []\n');
  const p = run(['--config', file]);
  const code = await p.exited;
  tt.not(code, 0);
  tt.match(p.output().err, `configuration error: ${file}:`);
  // SPEC §7: `npx guarita -- --config FILE` reaches the bin with a literal `--` first.
  const viaNpx = run(['--', '--config', file]);
  tt.equal(await viaNpx.exited, 2);
  tt.match(viaNpx.output().err, `configuration error: ${file}:`, 'the config is read, not the usage printed');
});

t.test('guarita FILE starts, serves, and drains on SIGTERM (exit 0)', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir, pki } = await testPki();
  const port = await freePort();
  const adminPort = await freePort();
  const file = join(workDir(), 'routes.yaml');
  writeFileSync(
    file,
    serverBlock(dir).replace('port: 0', `port: ${port}`) +
      `admin: { port: ${adminPort}, host: 127.0.0.1 }\nlog: { level: info }\nroutes:\n  - path: /open-banking/accounts/v2\n    upstream: ${upstream.url}\n    fapi: true\n`,
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
  const lines = logs.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const adminUp = lines.findIndex((l) => l.adminPort === adminPort);
  tt.ok(adminUp >= 0, 'the admin listener address is logged');
  tt.ok(adminUp < lines.findIndex((l) => l.msg === 'guarita listening'), 'before the gateway says it is listening');
  tt.equal(lines.find((l) => l.msg === 'guarita listening')?.adminPort, adminPort);
  tt.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'SPEC §7: ISO 8601 time');
  tt.equal(entry.level, 'info', 'SPEC §7: level by name');
});

t.test('check-config prints the effective config with secrets masked; dn prints the OFB DN', async (tt) => {
  const { dir, pki } = await testPki();
  const file = join(workDir(), 'routes.yaml');
  writeFileSync(
    file,
    serverBlock(dir) +
      `introspection: { endpoint: http://127.0.0.1:1/introspect, clientId: guarita, clientSecret: s3cr3t-value }\nroutes:\n  - path: /x\n    upstream: http://127.0.0.1:1\n`,
  );
  const check = run(['check-config', file]);
  tt.equal(await check.exited, 0);
  const printed = JSON.parse(check.output().out) as { introspection: { clientSecret: string }; routes: { mtls: string }[] };
  tt.equal(printed.introspection.clientSecret, '********');
  tt.equal(printed.routes[0]?.mtls, 'required', 'defaults shown');
  tt.notMatch(check.output().out + check.output().err, 's3cr3t-value');

  // Regression: check-config printed the Redis password inside replay.url; and it says the warnings.
  const withRedis = join(workDir(), 'routes.yaml');
  writeFileSync(
    withRedis,
    serverBlock(dir) +
      `introspection: { endpoint: http://as.bank.internal/introspect, clientId: guarita, clientSecret: s3cr3t-value }
replay: { store: redis, url: redis://guarita:r3dis-pass@127.0.0.1:6379 }
routes:
  - path: /x
    upstream: http://127.0.0.1:1
`,
  );
  const masked = run(['check-config', withRedis]);
  tt.equal(await masked.exited, 0);
  tt.notMatch(masked.output().out + masked.output().err, 'r3dis-pass', 'the password in a URL is masked');
  tt.match(masked.output().out, 'redis://********@127.0.0.1:6379');
  tt.match(masked.output().err, /warning: introspection\.endpoint uses plain http:\/\//, 'plain http to a non-loopback host is said');

  const bad = run(['check-config', join(dir, 'ca.crt')]);
  tt.not(await bad.exited, 0, 'invalid config → non-zero');

  const dn = run(['dn', join(dir, 'client1.crt')]);
  tt.equal(await dn.exited, 0);
  tt.match(dn.output().out, `org_id:      ${pki.client1.orgId}`);
  tt.match(dn.output().out, `software_id: ${pki.client1.softwareId}`);
  tt.match(dn.output().out, /subject_dn: {2}CN=[^,]+,UID=[^,]+,2\.5\.4\.97=#0c/);
});

t.test('an expired server certificate at start is a clear error', async (tt) => {
  const { dir, pki } = await testPki();
  const { issueServerCert } = await import('../src/dev/pki.js');
  const expired = await issueServerCert(pki.ca, { notBefore: new Date(Date.now() - 3 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
  const confDir = workDir();
  writeFileSync(join(confDir, 'old.crt'), expired.cert);
  writeFileSync(join(confDir, 'old.key'), expired.key);
  const file = join(confDir, 'routes.yaml');
  writeFileSync(file, serverBlock(dir).replace(`${dir}/server.crt, key: ${dir}/server.key`, 'old.crt, key: old.key') + 'routes:\n  - path: /x\n    upstream: http://127.0.0.1:1\n');
  const p = run(['--config', file]);
  tt.equal(await p.exited, 2);
  tt.match(p.output().err, /server\.tls\.certificates\[0\]\.cert: server certificate expired on/);
});

t.test('--version, help and --help', async (tt) => {
  const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
  for (const args of [['--version'], ['-v'], ['version']]) {
    const p = run(args);
    tt.equal(await p.exited, 0, `${args.join(' ')} exits 0`);
    tt.equal(p.output().out, `${pkg.version}\n`, `${args.join(' ')} prints the package version`);
  }
  for (const args of [['help'], ['--help'], ['-h']]) {
    const p = run(args);
    tt.equal(await p.exited, 0, `${args.join(' ')} exits 0`);
    tt.match(p.output().out, /^usage:/, `${args.join(' ')} prints the usage, not "configuration error: help"`);
    tt.match(p.output().out, 'guarita --version');
    tt.equal(p.output().err, '');
  }
});

t.test('dn on a key, on garbage and on a missing file: one clear line, exit 2', async (tt) => {
  const { dir } = await testPki();
  const garbage = join(workDir(), 'garbage.pem');
  writeFileSync(garbage, 'not a certificate\n');
  for (const file of [join(dir, 'client1.key'), garbage]) {
    const p = run(['dn', file]);
    tt.equal(await p.exited, 2);
    const { out, err } = p.output();
    tt.equal(out, '');
    tt.equal(err, `guarita dn: ${file} is not an X.509 certificate (PEM or DER); a private key or CSR is not one\n`);
    tt.notMatch(err, /error:[0-9A-F]{8}|routines|ERR_|asn1|decoder/i, 'no OpenSSL or library text');
  }
  const missing = run(['dn', join(dir, 'no-such.crt')]);
  tt.equal(await missing.exited, 2);
  tt.equal(missing.output().err, `guarita dn: cannot read ${join(dir, 'no-such.crt')} (ENOENT)\n`);
});

t.test('a busy admin port fails start-up, naming the port, before the gateway says it is up', async (tt) => {
  const { dir } = await testPki();
  const blocker = createServer();
  await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
  tt.teardown(() => new Promise<void>((done) => blocker.close(() => done())));
  const busy = (blocker.address() as { port: number }).port;
  const port = await freePort();
  const file = join(workDir(), 'routes.yaml');
  writeFileSync(
    file,
    serverBlock(dir).replace('port: 0', `port: ${port}`) +
      `admin: { port: ${busy}, host: 127.0.0.1 }\nlog: { level: info }\nroutes:\n  - path: /x\n    upstream: http://127.0.0.1:1\n`,
  );
  const p = run([file]);
  tt.teardown(() => p.child.kill('SIGKILL'));
  tt.not(await p.exited, 0);
  const { out, err } = p.output();
  tt.match(err, `admin listener: cannot listen on 127.0.0.1:${busy} (port already in use)`);
  tt.notMatch(out, /listening/i, 'no listener claimed to be up');
});

t.test('regression: killing `npm start` left the gateway holding its ports; started by npm, it exits once npm is gone', async (tt) => {
  const { dir } = await testPki();
  const file = join(workDir(), 'routes.yaml');
  writeFileSync(file, `${serverBlock(dir)}routes:\n  - path: /x\n    upstream: http://127.0.0.1:1\n`);
  // A stand-in for npm: it starts the gateway (npm sets npm_command) and is then killed outright.
  const launch = (npm: boolean) => {
    // The test itself runs under `npm test`: the direct launch must not inherit npm's variables.
    const env = npm
      ? '{ ...process.env, npm_command: "start" }'
      : 'Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_")))';
    const script = `const c = require('node:child_process').spawn(process.execPath, [${JSON.stringify(BIN)}, '--config', ${JSON.stringify(file)}], { stdio: 'ignore', env: ${env} }); console.log(c.pid); setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    return { parent, pid };
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const viaNpm = launch(true);
  const direct = launch(false);
  const [npmChild, directChild] = await Promise.all([viaNpm.pid, direct.pid]);
  await new Promise((r) => setTimeout(r, 1500));
  viaNpm.parent.kill('SIGKILL');
  direct.parent.kill('SIGKILL');
  const started = Date.now();
  while (alive(npmChild) && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 100));
  tt.notOk(alive(npmChild), `the npm-started gateway exited ${Date.now() - started} ms after npm was killed`);
  tt.ok(alive(directChild), 'a gateway started directly keeps running when its parent goes (detached on purpose)');
  for (const pid of [npmChild, directChild]) if (alive(pid)) process.kill(pid, 'SIGKILL');
});
