import t from 'tap';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createCrl, createDevPki, createIntermediateCa, issueClientCert, writeDevPki } from '../../src/dev/pki.js';
import type { Pem } from '../../src/dev/pki.js';
import { identityFromDer } from '../../src/tls/identity.js';
import { x509 } from '../../src/x509.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const pki = await createDevPki();
const caX = new X509Certificate(pki.ca.cert);
const x = (pem: Pem): X509Certificate => new X509Certificate(pem.cert);

t.test('CA certificate', async (t) => {
  t.ok(caX.ca, 'basicConstraints CA:true');
  t.ok(caX.checkIssued(caX) && caX.verify(caX.publicKey), 'self-signed');
  const ext = new x509.X509Certificate(pki.ca.cert);
  const bc = ext.getExtension(x509.BasicConstraintsExtension);
  t.ok(bc?.ca && bc.critical, 'basicConstraints critical');
  const ku = ext.getExtension(x509.KeyUsagesExtension);
  t.equal(ku?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  t.ok(ext.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, 'has SKI');
});

t.test('server certificate verifies against the CA', async (t) => {
  const server = x(pki.server);
  t.ok(server.checkIssued(caX));
  t.ok(server.verify(caX.publicKey));
  t.notOk(server.ca);
  t.same(server.keyUsage, [SERVER_AUTH]);
  t.equal(server.checkHost('localhost'), 'localhost');
  t.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
  t.equal(server.checkIP('::1'), '::1');
  t.equal(server.publicKey.asymmetricKeyType, 'rsa');
  t.equal(server.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  t.ok(server.checkPrivateKey(createPrivateKey(pki.server.key)), 'key matches');
  t.match(pki.server.key, /^-----BEGIN PRIVATE KEY-----/, 'PKCS#8');
});

t.test('leaves carry AKI = CA SKI, their own SKI, random serials and default validity', async (t) => {
  const caSki = new x509.X509Certificate(pki.ca.cert).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const serials = new Set<string>();
  for (const pem of [pki.server, pki.client1, pki.client2, pki.expiredClient]) {
    const leaf = new x509.X509Certificate(pem.cert);
    t.equal(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, caSki);
    t.ok(leaf.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    serials.add(leaf.serialNumber);
  }
  t.equal(serials.size, 4, 'distinct serials');
  const c1 = x(pki.client1);
  const now = Date.now();
  t.ok(Math.abs(new Date(c1.validFrom).getTime() - (now - HOUR)) < 5 * 60_000, 'notBefore ~ now - 1h');
  t.ok(Math.abs(new Date(c1.validTo).getTime() - (now + 30 * DAY)) < 5 * 60_000, 'notAfter ~ now + 30d');
});

t.test('client certificates', async (t) => {
  for (const client of [pki.client1, pki.client2]) {
    const c = x(client);
    t.ok(c.checkIssued(caX) && c.verify(caX.publicKey));
    t.same(c.keyUsage, [CLIENT_AUTH]);
    const id = identityFromDer(c.raw);
    t.equal(id.orgId, client.orgId);
    t.equal(id.softwareId, client.softwareId);
  }
  t.not(pki.client1.orgId, pki.client2.orgId, 'two distinct orgs');
  t.not(pki.client1.softwareId, pki.client2.softwareId);
});

t.test('expired client is issued by the CA but no longer valid', async (t) => {
  const c = x(pki.expiredClient);
  t.ok(c.checkIssued(caX) && c.verify(caX.publicKey));
  t.ok(new Date(c.validTo).getTime() < Date.now(), 'validTo in the past');
  t.ok(new Date(c.validFrom).getTime() < Date.now() - DAY, 'validFrom ~2 days ago');
});

t.test('rogue client is not issued by the trusted CA', async (t) => {
  const c = x(pki.rogueClient);
  t.notOk(c.checkIssued(caX));
  t.notOk(c.verify(caX.publicKey));
  const rogueCaX = new X509Certificate(pki.rogueCa.cert);
  t.ok(c.checkIssued(rogueCaX) && c.verify(rogueCaX.publicKey));
});

t.test('createIntermediateCa', async (t) => {
  const inter = await createIntermediateCa(pki.ca, 'Guarita Dev Intermediate', { pathLength: 0 });
  const interX = new X509Certificate(inter.cert);
  t.ok(interX.checkIssued(caX) && interX.verify(caX.publicKey), 'issued by the parent');
  t.ok(interX.ca, 'CA:true by default');
  const ext = new x509.X509Certificate(inter.cert);
  t.equal(ext.getExtension(x509.BasicConstraintsExtension)?.pathLength, 0);
  t.equal(ext.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  const caSki = new x509.X509Certificate(pki.ca.cert).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  t.equal(ext.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, caSki, 'AKI = parent SKI');
  const leaf = new X509Certificate((await issueClientCert(inter, { orgId: 'o', softwareId: 's' })).cert);
  t.ok(leaf.checkIssued(interX) && leaf.verify(interX.publicKey), 'can issue');
  t.notOk(new X509Certificate((await createIntermediateCa(pki.ca, 'Not A CA', { isCa: false })).cert).ca, 'isCa: false');
});

t.test('createCrl', async (t) => {
  const serial = x(pki.client1).serialNumber;
  const pem = await createCrl(pki.ca, [serial], { thisUpdate: new Date(Date.now() - HOUR), crlNumber: 7 });
  t.match(pem, /^-----BEGIN X509 CRL-----\n/, 'the label OpenSSL reads');
  const crl = new x509.X509Crl(pem);
  t.ok(await crl.verify({ publicKey: pki.ca.certificate }), 'signed by the CA');
  t.equal(crl.issuer, pki.ca.certificate.subject);
  t.ok(crl.findRevoked(serial), 'the serial is listed');
  t.equal(crl.entries.length, 1);
  t.equal(crl.nextUpdate?.getTime(), crl.thisUpdate.getTime() + 7 * DAY, 'nextUpdate 7 days later by default');
  t.equal(new x509.X509Crl(await createCrl(pki.ca, [], { nextUpdate: null })).nextUpdate, undefined, 'nextUpdate: null omits it');
  t.notOk(await new x509.X509Crl(await createCrl(pki.ca, [], { signingKey: pki.rogueCa.privateKey })).verify({ publicKey: pki.ca.certificate }), 'signingKey overrides the signer');
  // Node's TLS stack accepts it.
  t.doesNotThrow(() => tls.createSecureContext({ ca: pki.ca.cert, crl: pem }));
});

t.test('writeDevPki writes PEM files, keys private', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'guarita-pki-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const written = await writeDevPki(join(dir, 'certs'), pki);
  t.same(Object.keys(written).sort(), [
    'ca.crt', 'ca.key', 'client1.crt', 'client1.key', 'client2.crt', 'client2.key',
    'expired-client.crt', 'expired-client.key', 'rogue-ca.crt', 'rogue-client.crt', 'rogue-client.key',
    'server.crt', 'server.key',
  ]);
  for (const [name, path] of Object.entries(written)) {
    const mode = (await stat(path)).mode & 0o777;
    t.equal(mode, name.endsWith('.key') ? 0o600 : 0o644, `${name} mode`);
  }
  t.equal(await readFile(written['client1.crt'] ?? '', 'utf8'), pki.client1.cert);
  // Rewriting keeps the key private even though the file already exists.
  await writeDevPki(join(dir, 'certs'), pki);
  t.equal((await stat(written['ca.key'] ?? '')).mode & 0o777, 0o600);
});

t.test('real mTLS handshakes', async (t) => {
  const server = tls.createServer({
    cert: pki.server.cert,
    key: pki.server.key,
    ca: pki.ca.cert,
    requestCert: true,
    rejectUnauthorized: false, // inspect the verdict instead of aborting the handshake
  });
  const sockets = new Set<tls.TLSSocket>();
  server.on('secureConnection', (s) => sockets.add(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;

  /** Connects with `client` and reports what the server concluded about it. */
  type Verdict = { authorized: boolean; error: string | undefined; peerDer: Buffer; cipher: string };
  const handshake = (client: Pem, extra: tls.ConnectionOptions = {}): Promise<Verdict> =>
    new Promise((resolve, reject) => {
      server.once('secureConnection', (s: tls.TLSSocket) => {
        // At runtime node stores the OpenSSL code string here (e.g. 'CERT_HAS_EXPIRED'),
        // although @types/node declares Error.
        const reason: unknown = s.authorizationError;
        resolve({ authorized: s.authorized, error: reason == null ? undefined : String(reason), peerDer: s.getPeerCertificate().raw, cipher: s.getCipher().standardName });
        s.end();
      });
      // The client verifies the server too: CA-issued, IP SAN 127.0.0.1.
      const c = tls.connect({ host: '127.0.0.1', port, ca: pki.ca.cert, cert: client.cert, key: client.key, ...extra });
      c.on('error', reject);
      c.on('secureConnect', () => c.end());
      t.teardown(() => c.destroy());
    });

  const ok = await handshake(pki.client1);
  t.equal(ok.authorized, true, 'client1 is authorized');
  t.equal(ok.error, undefined);
  t.equal(identityFromDer(ok.peerDer).orgId, pki.client1.orgId, 'identity from the peer certificate');

  // FAPI 1.0 Advanced §8.5 TLS 1.2 suites are (EC)DHE-RSA: the RSA server certificate must support them.
  const tls12 = await handshake(pki.client2, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
  t.equal(tls12.authorized, true);
  t.equal(tls12.cipher, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');

  const rogue = await handshake(pki.rogueClient);
  t.equal(rogue.authorized, false, 'rogue client is not authorized');
  t.ok(rogue.error, `rogue error: ${rogue.error}`);

  const expired = await handshake(pki.expiredClient);
  t.equal(expired.authorized, false);
  t.equal(expired.error, 'CERT_HAS_EXPIRED');
});
