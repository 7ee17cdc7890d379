// SPEC §3 ingress mode: the gateway "refuses every certificate its own TLS listener would refuse
// (the chain's name constraints included)". Name constraints (RFC 5280 §4.2.1.10), certificate
// policies (§4.2.1.4, .5, .11, .14) and malformed extensions, each scenario run through
// verifyClientCertificate and through a real Node TLS server with the same `ca`.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { createDevPki, issueClientCert, type Ca, type Pem } from '../../src/dev/pki.js';
import { createTrustStore, verifyClientCertificate, type VerifyCode } from '../../src/tls/verify-chain.js';
import { x509 } from '../../src/x509.js';
import {
  altNames,
  certificatePolicies,
  customCert,
  inhibitAnyPolicy,
  nameConstraints,
  policyMappings,
  proxyCertInfo,
  requireExplicitPolicy,
  tlsVerdict,
  unknownExtension,
  type CustomCertOptions,
  type GeneralNameSpec,
} from '../helpers/x509-cases.js';

const DAY = 86_400_000;
const now = Date.now();
const KU = x509.KeyUsageFlags;
const EMAIL_ADDRESS = '1.2.840.113549.1.9.1';

const pki = await createDevPki();
const { ca, server } = pki;

/** An intermediate CA under `parent` with these extra extensions. */
function intermediate(parent: Ca | undefined, cn: string, extra: x509.Extension[]): Promise<Ca> {
  return customCert(parent, { cn, basicConstraints: { ca: true }, keyUsage: KU.keyCertSign | KU.cRLSign, extKeyUsage: null, extra });
}
const san = (...names: GeneralNameSpec[]): x509.Extension[] => [altNames(names)];

const [ncDns, ncDnsExcluded, ncEmail, ncDn, ncDnExcluded, ncIp, ncUri, ncMinimum, ncRegisteredId, ncRoot, policyInters] = await Promise.all([
  intermediate(ca, 'NC DNS', [nameConstraints([{ dns: 'allowed.example' }])]),
  intermediate(ca, 'NC DNS excluded', [nameConstraints([], [{ dns: 'evil.test' }])]),
  intermediate(ca, 'NC email', [nameConstraints([{ email: '.allowed.example' }, { email: 'allowed.example' }], [{ email: 'boss@allowed.example' }])]),
  intermediate(ca, 'NC dirName', [nameConstraints([{ dn: [{ C: ['BR'] }, { O: ['Allowed'] }] }])]),
  intermediate(ca, 'NC dirName excluded', [nameConstraints([], [{ dn: [{ C: ['BR'] }, { O: ['Evil'] }] }])]),
  // 10.0.0.0/8 permitted; 10.0.0.0 under the non-contiguous mask 255.0.255.0 excluded (OpenSSL masks byte by byte).
  intermediate(ca, 'NC IP', [nameConstraints([{ ip: [10, 0, 0, 0, 255, 0, 0, 0] }], [{ ip: [10, 0, 0, 0, 255, 0, 255, 0] }])]),
  intermediate(ca, 'NC URI', [nameConstraints([{ uri: '.allowed.example' }])]),
  intermediate(ca, 'NC minimum 1', [nameConstraints([{ dns: 'allowed.example' }], [], { minimum: 1 })]),
  intermediate(ca, 'NC registeredID', [nameConstraints([], [{ registeredID: '1.2.3.4' }])]),
  intermediate(undefined, 'NC Root', [nameConstraints([{ dns: 'allowed.example' }])]),
  Promise.all([
    intermediate(ca, 'requireExplicitPolicy 0', [requireExplicitPolicy(0)]),
    intermediate(ca, 'inhibitAnyPolicy 0', [inhibitAnyPolicy(0)]),
    intermediate(ca, 'critical policyMappings', [policyMappings('1.2.3.4', '1.2.3.5')]),
    intermediate(ca, 'unknown critical extension', [unknownExtension('1.3.6.1.4.1.55555.3', true)]),
    intermediate(ca, 'NC that does not decode', [unknownExtension('2.5.29.30', true)]),
  ]),
]);
const [requireExplicit, inhibitAny, mappings, unknownCritical, ncUndecodable] = policyInters;
const underNcRoot = await intermediate(ncRoot, 'Plain intermediate under NC Root', []);

interface Scenario {
  readonly name: string;
  readonly ca: readonly string[];
  readonly client: Promise<Pem>;
  readonly expect: VerifyCode | 'OK';
}

/** A leaf of `issuer`, trusted through `anchors` (default: the dev CA and `issuer`). */
function leaf(name: string, issuer: Ca, opts: CustomCertOptions, expect: Scenario['expect'], anchors?: readonly string[]): Scenario {
  return { name, ca: anchors ?? [ca.cert, issuer.cert], client: customCert(issuer, opts), expect };
}
const subject = (...rdns: x509.JsonNameParams): { subject: x509.JsonNameParams } => ({ subject: rdns });
const ids = { orgId: 'a6b0f4b5-2a5d-4e8e-9c1e-0d7f3c3b1a10', softwareId: 'f3e1d2c4-5b6a-4798-8c9d-0e1f2a3b4c5d' };
const expired = { notBefore: new Date(now - 3 * DAY), notAfter: new Date(now - DAY) };

const nameConstraintScenarios: Scenario[] = [
  // dNSName (RFC 5280 §4.2.1.10: any number of labels added on the left)
  leaf('a dNSName SAN inside the intermediate\'s permitted subtree', ncDns, { extra: san({ dns: 'a.allowed.example' }) }, 'OK'),
  leaf('ingress refuses a leaf outside the intermediate\'s nameConstraints (was accepted)', ncDns, { extra: san({ dns: 'evil.test' }) }, 'PERMITTED_VIOLATION'),
  leaf('a dNSName that ends with the constraint but not on a label boundary', ncDns, { extra: san({ dns: 'notallowed.example' }) }, 'PERMITTED_VIOLATION'),
  // OpenSSL NAME_CONSTRAINTS_check_CN: without a dNSName SAN, a host-like CN is a DNS name.
  leaf('no SAN, a CN outside the permitted subtree (was accepted)', ncDns, { cn: 'evil.test' }, 'PERMITTED_VIOLATION'),
  leaf('no SAN, a CN inside the permitted subtree', ncDns, { cn: 'host.allowed.example' }, 'OK'),
  leaf('a dNSName SAN inside, the CN outside: the CN is not checked', ncDns, { cn: 'evil.test', extra: san({ dns: 'a.allowed.example' }) }, 'OK'),
  leaf('expired and outside: name constraints are checked last', ncDns, { cn: 'evil.test', ...expired }, 'PERMITTED_VIOLATION'),
  { name: 'an OFB client certificate (CN <software_id>.client.example) under a DNS-constrained intermediate', ca: [ca.cert, ncDns.cert], client: issueClientCert(ncDns, ids), expect: 'PERMITTED_VIOLATION' },
  leaf('a dNSName in an excluded subtree', ncDnsExcluded, { extra: san({ dns: 'x.evil.test' }) }, 'EXCLUDED_VIOLATION'),
  leaf('a dNSName in an excluded subtree, other case', ncDnsExcluded, { extra: san({ dns: 'X.EVIL.TEST' }) }, 'EXCLUDED_VIOLATION'),
  leaf('a dNSName next to an excluded subtree', ncDnsExcluded, { extra: san({ dns: 'notevil.test' }) }, 'OK'),
  // rfc822Name: ".domain" = any host below; a mailbox's local part is case-sensitive.
  leaf('an email SAN inside the permitted subtree', ncEmail, { extra: san({ email: 'a@x.allowed.example' }) }, 'OK'),
  leaf('an email SAN outside the permitted subtree', ncEmail, { extra: san({ email: 'a@evil.test' }) }, 'PERMITTED_VIOLATION'),
  leaf('an emailAddress attribute in the subject outside the permitted subtree', ncEmail, subject({ CN: ['x'] }, { [EMAIL_ADDRESS]: [{ ia5String: 'a@evil.test' }] }), 'PERMITTED_VIOLATION'),
  leaf('an emailAddress attribute that is not an IA5String', ncEmail, subject({ CN: ['x'] }, { [EMAIL_ADDRESS]: [{ utf8String: 'a@allowed.example' }] }), 'UNSUPPORTED_NAME_SYNTAX'),
  leaf('an excluded mailbox', ncEmail, { extra: san({ email: 'boss@allowed.example' }) }, 'EXCLUDED_VIOLATION'),
  leaf('an excluded mailbox with another case in the local part', ncEmail, { extra: san({ email: 'Boss@allowed.example' }) }, 'OK'),
  // directoryName: the constraint's RDNs start the subject, compared in OpenSSL's canonical form.
  leaf('a subject inside the permitted directoryName', ncDn, subject({ C: ['BR'] }, { O: ['Allowed'] }, { CN: ['x'] }), 'OK'),
  leaf('a subject inside the permitted directoryName up to case, spaces and string type', ncDn, subject({ C: [{ printableString: 'br' }] }, { O: [{ utf8String: '  ALLOWED ' }] }, { CN: ['x'] }), 'OK'),
  leaf('a subject outside the permitted directoryName', ncDn, { cn: 'x' }, 'PERMITTED_VIOLATION'),
  leaf('a directoryName SAN outside the permitted directoryName', ncDn, { ...subject({ C: ['BR'] }, { O: ['Allowed'] }, { CN: ['x'] }), extra: san({ dn: [{ C: ['BR'] }, { O: ['Other'] }] }) }, 'PERMITTED_VIOLATION'),
  leaf('a subject in an excluded directoryName', ncDnExcluded, subject({ C: ['BR'] }, { O: ['Evil'] }, { OU: ['Team'] }, { CN: ['x'] }), 'EXCLUDED_VIOLATION'),
  // iPAddress: address and mask.
  leaf('an IP SAN inside the permitted range', ncIp, { extra: san({ ip: [10, 1, 2, 3] }) }, 'OK'),
  leaf('an IP SAN outside the permitted range', ncIp, { extra: san({ ip: [192, 168, 1, 1] }) }, 'PERMITTED_VIOLATION'),
  leaf('an IPv6 SAN under an IPv4 constraint', ncIp, { extra: san({ ip: [...Array(15).fill(0), 1] }) }, 'PERMITTED_VIOLATION'),
  leaf('an IP SAN in an excluded range with a non-contiguous mask', ncIp, { extra: san({ ip: [10, 5, 0, 7] }) }, 'EXCLUDED_VIOLATION'),
  // URI: the host part.
  leaf('a URI SAN whose host is inside the permitted subtree', ncUri, { extra: san({ uri: 'https://svc.allowed.example:8443/x' }) }, 'OK'),
  leaf('a URI SAN whose host is outside the permitted subtree', ncUri, { extra: san({ uri: 'https://evil.test/' }) }, 'PERMITTED_VIOLATION'),
  leaf('a URI SAN without an authority', ncUri, { extra: san({ uri: 'urn:example:x' }) }, 'UNSUPPORTED_NAME_SYNTAX'),
  // What cannot be checked fails closed.
  leaf('a subtree with minimum 1 meeting a name of its type', ncMinimum, { cn: 'a.allowed.example' }, 'SUBTREE_MINMAX'),
  leaf('a subtree with minimum 1 and no name of its type', ncMinimum, { cn: 'nodns' }, 'OK'),
  leaf('a registeredID constraint meeting a registeredID SAN', ncRegisteredId, { extra: san({ registeredID: '1.2.3.5' }) }, 'UNSUPPORTED_CONSTRAINT_TYPE'),
  leaf('a registeredID constraint and a dNSName SAN', ncRegisteredId, { extra: san({ dns: 'a.example' }) }, 'OK'),
  // The trust anchor's constraints apply too, through any intermediate.
  leaf('a leaf inside the root\'s nameConstraints', ncRoot, { cn: 'a.allowed.example' }, 'OK', [ncRoot.cert]),
  leaf('a leaf outside the root\'s nameConstraints', ncRoot, { cn: 'evil.test' }, 'PERMITTED_VIOLATION', [ncRoot.cert]),
  leaf('a leaf outside the root\'s nameConstraints, below an intermediate', underNcRoot, { cn: 'evil.test' }, 'PERMITTED_VIOLATION', [ncRoot.cert, underNcRoot.cert]),
];

// OpenSSL's default verification builds no policy tree (no X509_V_FLAG_POLICY_CHECK): policy
// extensions are understood, so may be critical, and are otherwise not evaluated.
const policyScenarios: Scenario[] = [
  leaf('a critical certificatePolicies', ca, { extra: [certificatePolicies(['1.2.3.4'], true)] }, 'OK', [ca.cert]),
  leaf('a critical certificatePolicies that does not decode is accepted, as by the listener (was INVALID_EXTENSION)', ca, { extra: [unknownExtension('2.5.29.32', true)] }, 'OK', [ca.cert]),
  leaf('requireExplicitPolicy 0 above a leaf without policies', requireExplicit, {}, 'OK'),
  leaf('inhibitAnyPolicy 0 above a leaf with anyPolicy', inhibitAny, { extra: [certificatePolicies(['2.5.29.32.0'], false)] }, 'OK'),
  leaf('a critical policyMappings on the intermediate', mappings, {}, 'OK'),
  leaf('an unknown critical extension on the intermediate', unknownCritical, {}, 'UNHANDLED_CRITICAL_EXTENSION'),
];

// x509v3_cache_extensions: an extension OpenSSL decodes up front that does not decode (or repeats)
// makes the certificate unusable — for a leaf, no issuer is found.
const malformedScenarios: Scenario[] = [
  leaf('a leaf whose basicConstraints does not decode (was INVALID_EXTENSION)', ca, { basicConstraints: null, extra: [unknownExtension('2.5.29.19', true)] }, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', [ca.cert]),
  leaf('a leaf whose subjectAltName does not decode (was INVALID_EXTENSION)', ca, { extra: [unknownExtension('2.5.29.17', false)] }, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', [ca.cert]),
  leaf('ingress refuses a leaf with two subjectAltName extensions (was accepted)', ca, { extra: [...san({ dns: 'a.example' }), ...san({ dns: 'b.example' })] }, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', [ca.cert]),
  leaf('a leaf with a pathLenConstraint but cA FALSE (OpenSSL 3.0 accepts it)', ca, { basicConstraints: { ca: false, pathLength: 0 } }, 'OK', [ca.cert]),
  // RFC 3820 proxy certificates: refused (PROXY_CERTIFICATES_NOT_ALLOWED); then the issuer must allow
  // digitalSignature, and last the proxy's subject is checked.
  leaf('ingress refuses a proxy certificate (was accepted)', ca, { extra: [proxyCertInfo()] }, 'PROXY_SUBJECT_NAME_VIOLATION', [ca.cert]),
  leaf('ingress refuses a proxy certificate named like one (was accepted)', ca, { ...subject({ CN: ['Guarita Dev CA'] }, { CN: ['proxy'] }), extra: [proxyCertInfo()] }, 'KEYUSAGE_NO_DIGITAL_SIGNATURE', [ca.cert]),
];

t.test('name constraints, policies and malformed extensions: verifyClientCertificate agrees with the TLS listener', async (t) => {
  for (const s of [...nameConstraintScenarios, ...policyScenarios, ...malformedScenarios]) {
    await t.test(s.name, async (t) => {
      const client = await s.client;
      const result = verifyClientCertificate(new X509Certificate(client.cert).raw, createTrustStore(s.ca, []));
      t.same(result, s.expect === 'OK' ? { ok: true } : { ok: false, code: s.expect }, 'ingress verification');
      t.equal(await tlsVerdict({ server, ca: s.ca, client }), s.expect, 'TLS listener');
    });
  }
});

t.test('a CA whose nameConstraints does not decode: the listener cannot use it, the trust store refuses it', async (t) => {
  const client = await customCert(ncUndecodable, { cn: 'a.allowed.example' });
  t.equal(await tlsVerdict({ server, ca: [ca.cert, ncUndecodable.cert], client }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'TLS listener');
  t.throws(() => createTrustStore([ca.cert, ncUndecodable.cert], []), {
    name: 'TypeError',
    message: 'CA file #2 holds a certificate with a malformed or repeated extension, which OpenSSL (and so the TLS listener) cannot use as an issuer',
  });
});
