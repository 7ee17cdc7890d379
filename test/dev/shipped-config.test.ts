// The shipped routes.yaml is valid once `npm run certs` has made the dev PKI, and `npm run demo` works end to end.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/load.js';

const root = resolve(import.meta.dirname, '../../..');

t.test('routes.yaml validates against a freshly generated dev PKI', async (tt) => {
  const dir = mkdtempSync(join(tmpdir(), 'guarita-shipped-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'certs'));
  const certs = spawnSync(process.execPath, [join(root, 'dist/src/dev/certs-cli.js'), 'certs', join(dir, 'certs')], { encoding: 'utf8' });
  tt.equal(certs.status, 0, certs.stderr);
  cpSync(join(root, 'routes.yaml'), join(dir, 'routes.yaml'));
  const config = loadConfig(join(dir, 'routes.yaml'), {});
  tt.ok(config.routes.length >= 15);
  const byPath = (p: string) => config.routes.find((r) => r.path === p)!;
  tt.equal(byPath('/.well-known').mtls, 'none', 'OFB table: discovery without mTLS');
  tt.equal(byPath('/token').mtls, 'required', 'OFB table: token endpoint with mTLS');
  tt.equal(byPath('/open-banking/accounts/v2').mtls, 'required');
  tt.same(byPath('/open-banking/accounts/v2').auth, { scopes: ['accounts'], consent: 'required', permissions: 'ofb' });
});

t.test('npm run demo: every scenario answers as expected', { timeout: 60_000 }, async (tt) => {
  const demo = spawnSync(process.execPath, [join(root, 'dist/src/dev/demo.js')], { encoding: 'utf8', timeout: 50_000 });
  tt.equal(demo.status, 0, demo.stdout + demo.stderr);
  tt.match(demo.stdout, 'All answers were as expected.');
  tt.notMatch(demo.stdout, '✘');
});
