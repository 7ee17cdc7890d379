import t from 'tap';
import { X509Certificate, createHash, randomBytes, webcrypto } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';
import { createCa, issueClientCert } from '../../src/dev/pki.js';
import { identityFromDer, ofbSubjectDn, rfc4514Dn, thumbprintOf } from '../../src/tls/identity.js';
import { ClientCertificateError } from '../../src/errors.js';
import { x509 } from '../../src/x509.js';

const ORG_ID = '74e929d9-33b6-4d85-8ba7-c146c867a817';
const SOFTWARE_ID = 'b2c4b0b4-1f3a-4e4e-9c1e-6a2f0d3c9a11';
const CNPJ = '12345678000195';

const ca = await createCa('Identity Test CA');
const client = await issueClientCert(ca, {
  orgId: ORG_ID,
  softwareId: SOFTWARE_ID,
  commonName: 'tpp.example.com.br',
  organizationName: 'Banco Exemplo SA',
  cnpj: CNPJ,
});
const der = new X509Certificate(client.cert).raw;

/** `#` + hex of a DER TLV for a short (< 128 byte) string: tag, length, UTF-8 bytes. */
function hexTlv(tag: number, value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  return `#${Buffer.from([tag, bytes.length]).toString('hex')}${bytes.toString('hex')}`;
}

// One key for the hand-built subjects below: only the subject matters there.
const keys = await webcrypto.subtle.generateKey(
  { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  false,
  ['sign', 'verify'],
);
async function derWithSubject(subject: x509.JsonNameParams): Promise<Uint8Array> {
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ name: new x509.Name(subject), keys });
  return new Uint8Array(cert.rawData);
}

t.test('identity from an OFB client certificate', async (t) => {
  const id = identityFromDer(der);
  t.equal(id.orgId, ORG_ID);
  t.equal(id.softwareId, SOFTWARE_ID);
  t.equal(id.commonName, 'tpp.example.com.br');
  const x = new X509Certificate(client.cert);
  t.equal(id.notAfter.getTime(), new Date(x.validTo).getTime());

  // x5t#S256 (RFC 8705 §3.1), computed independently three ways.
  const expected = createHash('sha256').update(x.raw).digest().toString('base64url');
  t.equal(id.thumbprint, expected);
  t.equal(thumbprintOf(der), expected);
  t.equal(id.thumbprint, Buffer.from(x.fingerprint256.replaceAll(':', ''), 'hex').toString('base64url'));
  t.match(id.thumbprint, /^[A-Za-z0-9_-]{43}$/, 'base64url, 43 chars, no padding');
  t.notOk(id.thumbprint.includes('='));
});

t.test('works on a Buffer that is a view into a larger pool', async (t) => {
  const big = Buffer.concat([Buffer.alloc(5, 0xff), der, Buffer.alloc(3, 0xee)]);
  const view = big.subarray(5, 5 + der.length);
  t.same(identityFromDer(view), identityFromDer(der));
});

t.test('legacy certificate (issued up to 2022-08-31): org id taken from OU', async (t) => {
  const issued2022 = { notBefore: new Date('2022-06-01T00:00:00Z'), notAfter: new Date(Date.now() + 86400_000) };
  const legacy = await issueClientCert(ca, { orgId: ORG_ID, softwareId: SOFTWARE_ID, legacyOu: true, cnpj: CNPJ, ...issued2022 });
  const id = identityFromDer(new X509Certificate(legacy.cert).raw);
  t.equal(id.orgId, ORG_ID);
  t.equal(id.softwareId, SOFTWARE_ID);
  t.match(id.subjectDn, `,OU=${ORG_ID},`);
  t.notMatch(id.subjectDn, '2.5.4.97');

  const recent = await issueClientCert(ca, { orgId: ORG_ID, softwareId: SOFTWARE_ID, legacyOu: true, cnpj: CNPJ });
  t.equal(identityFromDer(new X509Certificate(recent.cert).raw).orgId, undefined, 'SPEC §3: OU counts only on certificates issued up to 2022-08-31');
});

t.test('org id extraction rules', async (t) => {
  const both = identityFromDer(await derWithSubject([
    { OU: ['from-ou'] },
    { '2.5.4.97': [{ utf8String: 'OFBBR-from-oi' }] },
  ]));
  t.equal(both.orgId, 'from-oi', 'organizationIdentifier wins over OU');

  const otherPrefix = identityFromDer(await derWithSubject([{ '2.5.4.97': [{ utf8String: 'XYZ-abc-def' }] }]));
  t.equal(otherPrefix.orgId, 'abc-def', 'split on the first dash whatever the prefix');

  const noDash = identityFromDer(await derWithSubject([{ OU: ['ou'] }, { '2.5.4.97': [{ utf8String: 'nodash' }] }]));
  t.equal(noDash.orgId, undefined, 'malformed organizationIdentifier does not fall back to OU');

  const conflicting = identityFromDer(await derWithSubject([
    { '0.9.2342.19200300.100.1.1': [{ utf8String: 'a' }] },
    { '0.9.2342.19200300.100.1.1': [{ utf8String: 'b' }] },
  ]));
  t.equal(conflicting.softwareId, undefined, 'conflicting values are ambiguous');

  const none = identityFromDer(await derWithSubject([{ CN: ['only-cn'] }]));
  t.equal(none.orgId, undefined);
  t.equal(none.softwareId, undefined);
  t.equal(none.commonName, 'only-cn');
});

t.test('subject DN in the OFB RFC 4514 form', async (t) => {
  const expected = [
    'CN=tpp.example.com.br',
    `UID=${SOFTWARE_ID}`,
    `2.5.4.97=${hexTlv(0x0c, `OFBBR-${ORG_ID}`)}`, // UTF8String
    'L=Sao Paulo',
    'ST=SP',
    'O=Banco Exemplo SA',
    'C=BR',
    `2.5.4.5=${hexTlv(0x13, CNPJ)}`, // PrintableString
    `1.3.6.1.4.1.311.60.2.1.3=${hexTlv(0x13, 'BR')}`,
    `2.5.4.15=${hexTlv(0x0c, 'Private Organization')}`,
  ].join(',');
  t.equal(ofbSubjectDn(der), expected);
  t.equal(identityFromDer(der).subjectDn, expected);

  // The encoded order is the reverse: node/OpenSSL prints it first-to-last.
  const encodedOrder = new X509Certificate(client.cert).subject.split('\n').map((l) => l.split('=')[0]);
  t.same(encodedOrder, ['businessCategory', 'jurisdictionC', 'serialNumber', 'C', 'O', 'ST', 'L', 'organizationIdentifier', 'UID', 'CN']);
});

t.test('DN values with special characters are escaped (RFC 4514 §2.4)', async (t) => {
  const comma = await issueClientCert(ca, { orgId: ORG_ID, softwareId: SOFTWARE_ID, organizationName: 'Banco Exemplo, S.A.' });
  t.match(ofbSubjectDn(new X509Certificate(comma.cert).raw), ',O=Banco Exemplo\\, S.A.,');

  const atv = (type: string, value: Partial<AttributeValue>): AttributeTypeAndValue =>
    new AttributeTypeAndValue({ type, value: new AttributeValue(value) });
  const dn = (...rdns: AttributeTypeAndValue[][]): string =>
    rfc4514Dn(new Name(rdns.map((r) => new RelativeDistinguishedName(r))));

  t.equal(dn([atv('2.5.4.3', { utf8String: 'a,b+c"d\\e<f>g;h' })]), 'CN=a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h');
  t.equal(dn([atv('2.5.4.3', { utf8String: '#lead' })]), 'CN=\\#lead');
  t.equal(dn([atv('2.5.4.3', { utf8String: ' both ' })]), 'CN=\\ both\\ ');
  t.equal(dn([atv('2.5.4.3', { utf8String: ' ' })]), 'CN=\\ ');
  t.equal(dn([atv('2.5.4.3', { utf8String: 'mid#dle and = sign' })]), 'CN=mid#dle and = sign');
  t.equal(dn([atv('2.5.4.3', { utf8String: 'nul\0' })]), 'CN=nul\\00');
  t.equal(dn([atv('2.5.4.3', { utf8String: 'São Paulo' })]), 'CN=São Paulo', 'UTF-8 left as is');
  t.equal(
    dn([atv('2.5.4.6', { printableString: 'BR' })], [atv('2.5.4.10', { utf8String: 'X' }), atv('2.5.4.11', { utf8String: 'Y' })]),
    'O=X+OU=Y,C=BR',
    'reverse RDN order, multi-valued RDN joined with +',
  );
  t.equal(dn([atv('2.5.4.5', { printableString: '1,2' })]), '2.5.4.5=#1303312c32', 'dotted OID values are hex, never escaped');
  const integer = new Uint8Array([0x02, 0x01, 0x05]).buffer;
  t.equal(dn([atv('2.5.4.3', { anyValue: integer })]), 'CN=#020105', 'non-string value of a short-name type is hex');
  t.equal(Buffer.from(AsnConvert.serialize(new AttributeValue({ anyValue: integer }))).toString('hex'), '020105');
});

t.test('garbage input throws a plain Error', async (t) => {
  const inputs: [string, Uint8Array][] = [
    ['empty', new Uint8Array()],
    ['random bytes', randomBytes(64)],
    ['PEM text instead of DER', Buffer.from(client.cert)],
    ['truncated', der.subarray(0, 200)],
    ['DER but not a certificate', Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x05])],
  ];
  for (const [label, input] of inputs) {
    // A catalogue error with a fixed detail: the ASN.1 library's message is only its cause (regression: it was echoed).
    const expected = { name: 'ClientCertificateError', statusCode: 401, detail: 'invalid client certificate: not a DER-encoded X.509 certificate' };
    t.throws(() => identityFromDer(input), expected, label);
    t.throws(() => ofbSubjectDn(input), expected, label);
    try {
      identityFromDer(input);
    } catch (err) {
      t.ok(err instanceof ClientCertificateError && err.cause instanceof Error, `${label}: the library error is kept as the cause`);
    }
  }
});
