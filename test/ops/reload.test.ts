// SPEC §3/§7: TLS material reloads when its files change, without dropping connections;
// broken material keeps the old in service and fails /readyz.
import t from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync, copyFileSync, symlinkSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { loadConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/server.js';
import { issueServerCert } from '../../src/dev/pki.js';
import { testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';

function serverCertSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => {
      resolve(s.getPeerX509Certificate()!.serialNumber);
      s.destroy();
    });
    s.on('error', reject);
  });
}

async function eventually(fn: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

t.test('reload on change, Kubernetes symlink swap, broken material kept out', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir, pki } = await testPki();
  // A Kubernetes-style secret mount: files are symlinks through `..data` → a timestamped dir.
  const mount = mkdtempSync(join(tmpdir(), 'guarita-secret-'));
  tt.teardown(() => rmSync(mount, { recursive: true, force: true }));
  const v1 = join(mount, '..2026_v1');
  mkdirSync(v1);
  copyFileSync(join(dir, 'server.crt'), join(v1, 'tls.crt'));
  copyFileSync(join(dir, 'server.key'), join(v1, 'tls.key'));
  symlinkSync('..2026_v1', join(mount, '..data'));
  symlinkSync('..data/tls.crt', join(mount, 'tls.crt'));
  symlinkSync('..data/tls.key', join(mount, 'tls.key'));
  const file = join(mount, '..routes.yaml');
  writeFileSync(
    file,
    `server:
  port: 0
  host: 127.0.0.1
  tls:
    certificates:
      - { cert: ${mount}/tls.crt, key: ${mount}/tls.key }
    clientCa: [${dir}/ca.crt]
routes:
  - path: /x
    upstream: ${upstream.url}
    mtls: none
`,
  );
  const gw = await startGateway(loadConfig(file), { reloadDebounceMs: 50 });
  tt.teardown(() => gw.close(500));
  const first = await serverCertSerial(gw.port, pki.ca.cert);
  tt.equal(first, new X509Certificate(pki.server.cert).serialNumber);

  // An open connection before the swap must survive it.
  const open = connect({ host: '127.0.0.1', port: gw.port, servername: 'localhost', ca: pki.ca.cert });
  await new Promise((r) => open.once('secureConnect', r));

  // Atomic swap, as the kubelet does it.
  const next = await issueServerCert(pki.ca);
  const v2 = join(mount, '..2026_v2');
  mkdirSync(v2);
  writeFileSync(join(v2, 'tls.crt'), next.cert);
  writeFileSync(join(v2, 'tls.key'), next.key);
  symlinkSync('..2026_v2', join(mount, '..data_tmp'));
  renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
  const nextSerial = new X509Certificate(next.cert).serialNumber;
  tt.ok(await eventually(async () => (await serverCertSerial(gw.port, pki.ca.cert)) === nextSerial), 'new connections get the new certificate');
  tt.equal(open.destroyed, false, 'the connection opened before the swap is still up');
  open.destroy();
  tt.equal(gw.readiness.ready, true);

  // A rotation to garbage: keep serving the last good one, report on /readyz.
  const v3 = join(mount, '..2026_v3');
  mkdirSync(v3);
  writeFileSync(join(v3, 'tls.crt'), 'garbage');
  writeFileSync(join(v3, 'tls.key'), next.key);
  symlinkSync('..2026_v3', join(mount, '..data_tmp'));
  renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
  tt.ok(await eventually(async () => !gw.readiness.ready), '/readyz reports the broken material');
  tt.match(Object.values(gw.readiness.failing())[0], /could not be reloaded/);
  tt.equal(await serverCertSerial(gw.port, pki.ca.cert), nextSerial, 'still serving the previous material');

  symlinkSync('..2026_v2', join(mount, '..data_tmp'));
  renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
  tt.ok(await eventually(async () => gw.readiness.ready), 'fixed material makes it ready again');
});
