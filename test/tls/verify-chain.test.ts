// SPEC §3 ingress mode: the gateway verifies a header-borne client certificate itself, and must
// refuse exactly what its TLS listener refuses. Every scenario is run twice: through
// verifyClientCertificate and through a real Node TLS server with the same `ca` and `crl`.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { createCa, createCrl, createDevPki, createIntermediateCa, issueClientCert, type Pem } from '../../src/dev/pki.js';
import { createTrustStore, crlPemFromDer, verifyClientCertificate, type VerifyCode } from '../../src/tls/verify-chain.js';
import { x509 } from '../../src/x509.js';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BaseCRLNumber, IssuingDistributionPoint, id_ce_deltaCRLIndicator, id_ce_issuingDistributionPoint } from '@peculiar/asn1-x509';
import { customCert, customCrl, tlsVerdict, unknownExtension } from '../helpers/x509-cases.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = Date.now();
const ids = { orgId: 'a6b0f4b5-2a5d-4e8e-9c1e-0d7f3c3b1a10', softwareId: 'f3e1d2c4-5b6a-4798-8c9d-0e1f2a3b4c5d' };
const der = (pem: Pem): Buffer => new X509Certificate(pem.cert).raw;
const serial = (pem: Pem): string => new X509Certificate(pem.cert).serialNumber;
const KU = x509.KeyUsageFlags;

const pki = await createDevPki();
const { ca, server } = pki;
const [inter, notCa, pathLen0, pathLen1, expiredInter, expiredRoot, impostor, rootWithoutBc] = await Promise.all([
  createIntermediateCa(ca, 'Guarita Dev Intermediate'),
  createIntermediateCa(ca, 'Guarita Not A CA', { isCa: false }),
  createIntermediateCa(ca, 'Guarita pathLen 0', { pathLength: 0 }),
  createIntermediateCa(ca, 'Guarita pathLen 1', { pathLength: 1 }),
  createIntermediateCa(ca, 'Guarita Expired Intermediate', { notBefore: new Date(now - 3 * DAY), notAfter: new Date(now - DAY) }),
  createCa('Guarita Expired Root', { notBefore: new Date(now - 3 * DAY), notAfter: new Date(now - DAY) }),
  createCa('Guarita Dev CA'), // same name as the trusted CA, another key
  customCert(undefined, { cn: 'Root Without basicConstraints', basicConstraints: null, keyUsage: KU.keyCertSign | KU.cRLSign, extKeyUsage: null }),
]);
const [noBcIntermediate, underPathLen0, underPathLen1, endEntityIssuer] = await Promise.all([
  customCert(ca, { cn: 'Intermediate keyCertSign without basicConstraints', basicConstraints: null, keyUsage: KU.keyCertSign | KU.cRLSign, extKeyUsage: null }),
  createIntermediateCa(pathLen0, 'Guarita under pathLen 0'),
  createIntermediateCa(pathLen1, 'Guarita under pathLen 1'),
  customCert(ca, { cn: 'An end entity' }),
]);
const [
  leaf3,
  leafNotCa,
  leafNoBcIntermediate,
  leafPathLen0,
  leafPathLen1,
  leafExpiredInter,
  leafExpiredRoot,
  leafRootWithoutBc,
  leafOfEndEntity,
  notYetValid,
  forged,
  forgedExpired,
  rogueExpired,
  selfSignedClient,
  anyEku,
  noEku,
  keyEnciphermentOnly,
  criticalUnknown,
  criticalCrlDp,
] = await Promise.all([
  issueClientCert(inter, ids),
  issueClientCert(notCa, ids),
  issueClientCert(noBcIntermediate, ids),
  issueClientCert(underPathLen0, ids),
  issueClientCert(underPathLen1, ids),
  issueClientCert(expiredInter, ids),
  issueClientCert(expiredRoot, { ...ids, notBefore: new Date(now - 2 * DAY), notAfter: new Date(now + DAY) }),
  issueClientCert(rootWithoutBc, ids),
  customCert(endEntityIssuer),
  issueClientCert(ca, { ...ids, notBefore: new Date(now + DAY), notAfter: new Date(now + 2 * DAY) }),
  customCert(impostor, { authorityKey: ca.certificate.publicKey }), // names the trusted CA's key, signed by another
  customCert(impostor, { authorityKey: ca.certificate.publicKey, notBefore: new Date(now - 3 * DAY), notAfter: new Date(now - DAY) }),
  customCert(pki.rogueCa, { notBefore: new Date(now - 3 * DAY), notAfter: new Date(now - DAY) }),
  customCert(undefined, { cn: 'self-signed.client.example' }),
  customCert(ca, { extKeyUsage: ['2.5.29.37.0'] }),
  customCert(ca, { extKeyUsage: null }),
  customCert(ca, { keyUsage: KU.keyEncipherment }),
  customCert(ca, { extra: [unknownExtension('1.3.6.1.4.1.55555.1', true)] }),
  customCert(ca, { extra: [new x509.CRLDistributionPointsExtension(['http://crl.example/ca.crl'], true)] }),
]);
const c1 = pki.client1;
const [
  caCrl,
  caCrlRevokingClient1,
  caCrlRevokingClient1Older,
  caCrlExpired,
  caCrlNotYetValid,
  caCrlNoNextUpdate,
  caCrlWrongKey,
  caCrlWrongKeyNewer,
  caCrlWrongKeyOlder,
  impostorCrl,
  rogueCrl,
  interCrl,
  caCrlRevokingInter,
  caCrlRevokingExpired,
  caCrlRevokingClient1Expired,
  caCrlCritical,
  caCrlNoAkiRevoking,
  caCrlRemoveFromCrl,
] = await Promise.all([
  createCrl(ca),
  createCrl(ca, [serial(c1)], { thisUpdate: new Date(now - 30 * 60_000) }),
  createCrl(ca, [serial(c1)], { thisUpdate: new Date(now - 2 * HOUR) }),
  createCrl(ca, [], { thisUpdate: new Date(now - 3 * DAY), nextUpdate: new Date(now - DAY) }),
  createCrl(ca, [], { thisUpdate: new Date(now + DAY) }),
  createCrl(ca, [], { nextUpdate: null }),
  createCrl(ca, [], { signingKey: pki.rogueCa.privateKey }),
  createCrl(ca, [], { signingKey: pki.rogueCa.privateKey, thisUpdate: new Date(now - 30 * 60_000) }),
  createCrl(ca, [], { signingKey: pki.rogueCa.privateKey, thisUpdate: new Date(now - 2 * HOUR) }),
  createCrl(impostor),
  createCrl(pki.rogueCa),
  createCrl(inter),
  createCrl(ca, [serial(inter)]),
  createCrl(ca, [serial(pki.expiredClient)]),
  createCrl(ca, [serial(c1)], { thisUpdate: new Date(now - 3 * DAY), nextUpdate: new Date(now - DAY) }),
  customCrl(ca, { extra: [unknownExtension('1.3.6.1.4.1.55555.2', true)] }),
  customCrl(ca, { aki: false, entries: [{ serialNumber: serial(c1) }] }),
  customCrl(ca, { entries: [{ serialNumber: serial(c1), reason: x509.X509CrlReason.removeFromCRL }] }),
]);

interface Scenario {
  readonly name: string;
  readonly ca: readonly string[];
  readonly crl?: readonly string[];
  readonly client: Pem;
  readonly expect: VerifyCode | 'OK';
}

const scenarios: Scenario[] = [
  // Validity and trust
  { name: 'a valid client', ca: [ca.cert], client: c1, expect: 'OK' },
  { name: 'an expired client', ca: [ca.cert], client: pki.expiredClient, expect: 'CERT_HAS_EXPIRED' },
  { name: 'a client not yet valid', ca: [ca.cert], client: notYetValid, expect: 'CERT_NOT_YET_VALID' },
  // The issuer is unknown: OpenSSL raises UNABLE_TO_GET_ISSUER_CERT_LOCALLY, then, finding nothing to
  // check the leaf's signature with, UNABLE_TO_VERIFY_LEAF_SIGNATURE — the code Node reports.
  { name: 'a client of a rogue CA', ca: [ca.cert], client: pki.rogueClient, expect: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
  { name: 'an expired client of a rogue CA (validity is checked last)', ca: [ca.cert], client: rogueExpired, expect: 'CERT_HAS_EXPIRED' },
  { name: 'a client naming the trusted CA but signed by another key', ca: [ca.cert], client: forged, expect: 'CERT_SIGNATURE_FAILURE' },
  { name: 'a forged and expired client', ca: [ca.cert], client: forgedExpired, expect: 'CERT_HAS_EXPIRED' },
  { name: 'a self-signed client not in the store', ca: [ca.cert], client: selfSignedClient, expect: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
  { name: 'a self-signed client that is itself in the store', ca: [ca.cert, selfSignedClient.cert], client: selfSignedClient, expect: 'OK' },
  { name: 'a CA certificate presented as a client', ca: [ca.cert], client: ca, expect: 'INVALID_PURPOSE' },
  // Chains
  { name: 'root → intermediate → leaf, intermediate in the store', ca: [ca.cert, inter.cert], client: leaf3, expect: 'OK' },
  { name: 'root → intermediate → leaf, intermediate missing', ca: [ca.cert], client: leaf3, expect: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
  { name: 'root → intermediate → leaf, root missing', ca: [inter.cert], client: leaf3, expect: 'UNABLE_TO_GET_ISSUER_CERT' },
  // INVALID_CA is raised first, then INVALID_PURPOSE for the same certificate (an SSL-client issuer must be a CA).
  { name: 'an intermediate with basicConstraints cA:FALSE', ca: [ca.cert, notCa.cert], client: leafNotCa, expect: 'INVALID_PURPOSE' },
  { name: 'an intermediate with keyCertSign but no basicConstraints', ca: [ca.cert, noBcIntermediate.cert], client: leafNoBcIntermediate, expect: 'INVALID_CA' },
  { name: 'a root with keyCertSign but no basicConstraints', ca: [rootWithoutBc.cert], client: leafRootWithoutBc, expect: 'OK' },
  { name: 'a certificate issued by an end entity', ca: [ca.cert, endEntityIssuer.cert], client: leafOfEndEntity, expect: 'KEYUSAGE_NO_CERTSIGN' },
  { name: 'pathLenConstraint 0 with an intermediate below', ca: [ca.cert, pathLen0.cert, underPathLen0.cert], client: leafPathLen0, expect: 'PATH_LENGTH_EXCEEDED' },
  { name: 'pathLenConstraint 1 with an intermediate below', ca: [ca.cert, pathLen1.cert, underPathLen1.cert], client: leafPathLen1, expect: 'OK' },
  { name: 'an expired intermediate', ca: [ca.cert, expiredInter.cert], client: leafExpiredInter, expect: 'CERT_HAS_EXPIRED' },
  { name: 'an expired root', ca: [expiredRoot.cert], client: leafExpiredRoot, expect: 'CERT_HAS_EXPIRED' },
  // Purpose and extensions
  { name: 'a server certificate (EKU serverAuth) as client', ca: [ca.cert], client: server, expect: 'INVALID_PURPOSE' },
  { name: 'EKU anyExtendedKeyUsage only', ca: [ca.cert], client: anyEku, expect: 'INVALID_PURPOSE' },
  { name: 'no EKU', ca: [ca.cert], client: noEku, expect: 'OK' },
  { name: 'keyUsage keyEncipherment only', ca: [ca.cert], client: keyEnciphermentOnly, expect: 'INVALID_PURPOSE' },
  { name: 'an unknown critical extension', ca: [ca.cert], client: criticalUnknown, expect: 'UNHANDLED_CRITICAL_EXTENSION' },
  { name: 'a critical cRLDistributionPoints (understood)', ca: [ca.cert], client: criticalCrlDp, expect: 'OK' },
  // CRLs: once any is configured, every certificate of the chain (the root too) needs its issuer's.
  { name: 'a CRL revoking the client', ca: [ca.cert], crl: [caCrlRevokingClient1], client: c1, expect: 'CERT_REVOKED' },
  { name: 'a CRL not revoking the client', ca: [ca.cert], crl: [caCrl], client: c1, expect: 'OK' },
  { name: 'CRLs configured, none from the issuer', ca: [ca.cert], crl: [rogueCrl], client: c1, expect: 'UNABLE_TO_GET_CRL' },
  { name: 'an expired CRL', ca: [ca.cert], crl: [caCrlExpired], client: c1, expect: 'CRL_HAS_EXPIRED' },
  { name: 'a CRL not yet valid', ca: [ca.cert], crl: [caCrlNotYetValid], client: c1, expect: 'CRL_NOT_YET_VALID' },
  { name: 'a CRL without nextUpdate', ca: [ca.cert], crl: [caCrlNoNextUpdate], client: c1, expect: 'OK' },
  { name: 'an expired and a current CRL: the current one is used', ca: [ca.cert], crl: [caCrlExpired, caCrl], client: c1, expect: 'OK' },
  { name: 'a CRL naming the CA but signed by another key', ca: [ca.cert], crl: [caCrlWrongKey], client: c1, expect: 'CRL_SIGNATURE_FAILURE' },
  { name: 'a badly signed CRL newer than the good one wins, and fails', ca: [ca.cert], crl: [caCrl, caCrlWrongKeyNewer], client: c1, expect: 'CRL_SIGNATURE_FAILURE' },
  { name: 'a badly signed CRL older than the good one is not used', ca: [ca.cert], crl: [caCrlWrongKeyOlder, caCrl], client: c1, expect: 'OK' },
  { name: 'the CRL of a same-name CA with another key is ignored', ca: [ca.cert], crl: [impostorCrl], client: c1, expect: 'UNABLE_TO_GET_CRL' },
  { name: 'the CRL of a same-name CA next to the real one', ca: [ca.cert], crl: [impostorCrl, caCrl], client: c1, expect: 'OK' },
  { name: 'the newest of two CRLs decides (revoking)', ca: [ca.cert], crl: [caCrl, caCrlRevokingClient1], client: c1, expect: 'CERT_REVOKED' },
  { name: 'the newest of two CRLs decides (not revoking)', ca: [ca.cert], crl: [caCrlRevokingClient1Older, caCrl], client: c1, expect: 'OK' },
  { name: 'a CRL without AKI revoking the client', ca: [ca.cert], crl: [caCrlNoAkiRevoking], client: c1, expect: 'CERT_REVOKED' },
  { name: 'a CRL entry with reason removeFromCRL', ca: [ca.cert], crl: [caCrlRemoveFromCrl], client: c1, expect: 'OK' },
  { name: 'a CRL with an unknown critical extension', ca: [ca.cert], crl: [caCrlCritical], client: c1, expect: 'UNHANDLED_CRITICAL_CRL_EXTENSION' },
  { name: 'a CRL with an unknown critical extension next to a clean one', ca: [ca.cert], crl: [caCrlCritical, caCrl], client: c1, expect: 'OK' },
  { name: '3 levels, both CRLs', ca: [ca.cert, inter.cert], crl: [caCrl, interCrl], client: leaf3, expect: 'OK' },
  { name: '3 levels, only the intermediate CRL', ca: [ca.cert, inter.cert], crl: [interCrl], client: leaf3, expect: 'UNABLE_TO_GET_CRL' },
  { name: '3 levels, only the root CRL', ca: [ca.cert, inter.cert], crl: [caCrl], client: leaf3, expect: 'UNABLE_TO_GET_CRL' },
  { name: '3 levels, the root revoked the intermediate', ca: [ca.cert, inter.cert], crl: [caCrlRevokingInter, interCrl], client: leaf3, expect: 'CERT_REVOKED' },
  { name: 'a self-signed client in the store without a CRL of its own', ca: [ca.cert, selfSignedClient.cert], crl: [caCrl], client: selfSignedClient, expect: 'UNABLE_TO_GET_CRL' },
  // Several defects: the code is the last one OpenSSL raises (revocation before validity, the root's own CRL check last).
  { name: 'expired and revoked → expired', ca: [ca.cert], crl: [caCrlRevokingExpired], client: pki.expiredClient, expect: 'CERT_HAS_EXPIRED' },
  { name: 'revoked, on an expired CRL → CRL expired', ca: [ca.cert], crl: [caCrlRevokingClient1Expired], client: c1, expect: 'CRL_HAS_EXPIRED' },
  { name: 'rogue, with CRLs configured', ca: [ca.cert], crl: [caCrl, rogueCrl], client: pki.rogueClient, expect: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
];

t.test('verifyClientCertificate agrees with the TLS listener', async (t) => {
  for (const s of scenarios) {
    await t.test(s.name, async (t) => {
      const result = verifyClientCertificate(der(s.client), createTrustStore(s.ca, s.crl ?? []));
      t.same(result, s.expect === 'OK' ? { ok: true } : { ok: false, code: s.expect }, 'ingress verification');
      // tlsVerdict names the codes Node reports as "UNSPECIFIED" (UNHANDLED_CRITICAL_EXTENSION, KEYUSAGE_NO_CERTSIGN ...).
      t.equal(await tlsVerdict({ server, ca: s.ca, ...(s.crl ? { crl: s.crl } : {}), client: s.client }), s.expect, 'TLS listener');
    });
  }
});

t.test('validity is judged at `now`, to the second, like OpenSSL', async (t) => {
  const store = createTrustStore([ca.cert], []);
  // Well inside the CA's own validity, so that only the leaf's dates are at stake.
  const cert = new X509Certificate((await issueClientCert(ca, { ...ids, notBefore: new Date(now - HOUR), notAfter: new Date(now + DAY) })).cert);
  const notBefore = new Date(cert.validFrom).getTime();
  const notAfter = new Date(cert.validTo).getTime();
  t.same(verifyClientCertificate(cert.raw, store, new Date(notBefore - 1000)), { ok: false, code: 'CERT_NOT_YET_VALID' });
  t.same(verifyClientCertificate(cert.raw, store, new Date(notBefore)), { ok: true }, 'valid from notBefore');
  t.same(verifyClientCertificate(cert.raw, store, new Date(notAfter - 1)), { ok: true }, 'valid during the last second');
  t.same(verifyClientCertificate(cert.raw, store, new Date(notAfter)), { ok: false, code: 'CERT_HAS_EXPIRED' }, 'expired at notAfter');
  const crlStore = createTrustStore([ca.cert], [caCrl]);
  t.same(verifyClientCertificate(der(c1), crlStore, new Date(now + 8 * DAY)), { ok: false, code: 'CRL_HAS_EXPIRED' }, 'the CRL runs out before the certificate');
});

t.test('createTrustStore', async (t) => {
  await t.test('reads every certificate and every CRL of a file', async (t) => {
    const store = createTrustStore([`${pki.rogueCa.cert}\n${ca.cert}\n${inter.cert}`], [`${rogueCrl}\n${caCrl}\n${interCrl}`]);
    t.equal(store.certificates.length, 3);
    t.equal(store.crlCount, 3);
    // Node's `crl` option reads only the first CRL of each string: the TLS listener must be given one per entry.
    t.same(verifyClientCertificate(der(leaf3), store), { ok: true });
    t.equal(await tlsVerdict({ server, ca: [ca.cert, inter.cert], crl: [`${rogueCrl}\n${caCrl}\n${interCrl}`], client: leaf3 }), 'UNABLE_TO_GET_CRL', 'Node keeps the first CRL of a bundle only');
  });

  await t.test('reads a CRL of thousands of entries (regression: asn1js stopped at 10 000 ASN.1 nodes)', async (t) => {
    const serials = Array.from({ length: 2000 }, (_, i) => (0x10000 + i).toString(16));
    const large = await createCrl(ca, [...serials, serial(c1)]);
    t.same(verifyClientCertificate(der(c1), createTrustStore([ca.cert], [large])), { ok: false, code: 'CERT_REVOKED' });
    t.same(verifyClientCertificate(der(pki.client2), createTrustStore([ca.cert], [large])), { ok: true });
    const fromDer = crlPemFromDer(Buffer.from(x509.PemConverter.decodeFirst(large)));
    t.same(verifyClientCertificate(der(c1), createTrustStore([ca.cert], [fromDer])), { ok: false, code: 'CERT_REVOKED' }, 'crlPemFromDer too');
    t.equal(await tlsVerdict({ server, ca: [ca.cert], crl: [large], client: c1 }), 'CERT_REVOKED', 'TLS listener');
  });

  await t.test('accepts Buffers', async (t) => {
    const store = createTrustStore([Buffer.from(ca.cert)], [Buffer.from(caCrl)]);
    t.same(verifyClientCertificate(der(c1), store), { ok: true });
  });

  await t.test('refuses unusable input with a TypeError', async (t) => {
    t.throws(() => createTrustStore([], []), { name: 'TypeError', message: 'no CA certificate configured: nothing could be trusted' });
    t.throws(() => createTrustStore(['not a pem'], []), { name: 'TypeError', message: 'CA file #1 holds no "BEGIN CERTIFICATE" block' });
    t.throws(() => createTrustStore([ca.cert.slice(0, 200)], []), { name: 'TypeError', message: /CA file #1: .*no matching "END CERTIFICATE" line/ });
    t.throws(() => createTrustStore(['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'], []), { name: 'TypeError', message: /CA file #1 holds a certificate that does not parse/ });
    t.throws(() => createTrustStore([ca.cert], [ca.cert]), { name: 'TypeError', message: 'CRL file #1 holds no "BEGIN X509 CRL" block' });
    t.throws(() => createTrustStore([ca.cert], [caCrl.replace(/X509 CRL/g, 'CRL')]), {
      name: 'TypeError',
      message: 'CRL file #1 labels its CRL "BEGIN CRL"; OpenSSL (and so the TLS listener) reads only "BEGIN X509 CRL"',
    });
  });

  await t.test('refuses CRLs it would not evaluate like OpenSSL', async (t) => {
    const idpValue = AsnConvert.serialize(new IssuingDistributionPoint({ onlyContainsUserCerts: true }));
    const idp = await customCrl(ca, { extra: [new x509.Extension(id_ce_issuingDistributionPoint, true, idpValue)] });
    const delta = await customCrl(ca, { extra: [new x509.Extension(id_ce_deltaCRLIndicator, true, AsnConvert.serialize(new BaseCRLNumber(1)))] });
    t.throws(() => createTrustStore([ca.cert], [idp]), { name: 'TypeError', message: /issuingDistributionPoint/ });
    t.throws(() => createTrustStore([ca.cert], [delta]), { name: 'TypeError', message: /delta CRL/ });
  });
});

t.test('verifyClientCertificate on bad input', async (t) => {
  const store = createTrustStore([ca.cert], []);
  t.same(verifyClientCertificate(Buffer.from('not a certificate'), store), { ok: false, code: 'CERT_UNPARSABLE' });
  t.throws(() => verifyClientCertificate(der(c1), { certificates: [], crlCount: 0 }), { name: 'TypeError' });
});

t.test('crlPemFromDer', async (t) => {
  const crlDer = Buffer.from(new x509.X509Crl(caCrl).rawData);
  const pem = crlPemFromDer(crlDer);
  t.match(pem, /^-----BEGIN X509 CRL-----\n/);
  t.same(verifyClientCertificate(der(c1), createTrustStore([ca.cert], [pem])), { ok: true });
  t.equal(await tlsVerdict({ server, ca: [ca.cert], crl: [pem], client: c1 }), 'OK', 'Node reads it');
  t.throws(() => crlPemFromDer(der(c1)), { name: 'TypeError', message: /not a DER-encoded CRL/ });
});
