/**
 * Odd certificates and CRLs for verification tests, and the reference verdict: what Node's own TLS
 * server (OpenSSL) says about a client certificate, over a real socket.
 */
import { webcrypto } from 'node:crypto';
import { createServer, connect, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { AsnConvert, AsnProp, AsnPropTypes } from '@peculiar/asn1-schema';
import {
  CRLNumber,
  CertificatePolicies,
  InhibitAnyPolicy,
  Name,
  PolicyConstraints,
  PolicyInformation,
  PolicyMapping,
  PolicyMappings,
  id_ce_certificatePolicies,
  id_ce_inhibitAnyPolicy,
  id_ce_nameConstraints,
  id_ce_policyConstraints,
  id_ce_policyMappings,
  id_ce_subjectAltName,
} from '@peculiar/asn1-x509';
import type { Ca, Pem } from '../../src/dev/pki.js';
import { RawGeneralName, RawGeneralNames, RawGeneralSubtree, RawGeneralSubtrees, RawNameConstraints } from '../../src/tls/general-names.js';
import { x509 } from '../../src/x509.js';

const HOUR = 3_600_000;
const RSA: webcrypto.RsaHashedKeyGenParams = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };

/** An extension nobody knows: its value is an opaque DER INTEGER, as content does not matter to a verifier that does not understand it. */
export function unknownExtension(oid: string, critical: boolean): x509.Extension {
  return new x509.Extension(oid, critical, AsnConvert.serialize(new CRLNumber(1)));
}

export interface CustomCertOptions {
  cn?: string;
  /** The whole subject instead of `CN=<cn>`. */
  subject?: x509.JsonNameParams;
  /** Self-signed (no issuer, no AKI). */
  selfSigned?: boolean;
  /** basicConstraints (critical); `null` leaves it out. Default `{ ca: false }`. */
  basicConstraints?: { ca: boolean; pathLength?: number } | null;
  /** keyUsage bits (critical); `null` leaves it out. Default digitalSignature. */
  keyUsage?: number | null;
  /** extKeyUsage OIDs; `null` leaves it out. Default clientAuth. */
  extKeyUsage?: string[] | null;
  /** AKI from this key instead of the signer's (to forge a certificate that names another CA). */
  authorityKey?: x509.PublicKey;
  notBefore?: Date;
  notAfter?: Date;
  extra?: x509.Extension[];
}

/** A certificate with exactly the extensions asked for, signed by `issuer` (or self-signed); usable as a CA in turn. */
export async function customCert(issuer: Ca | undefined, opts: CustomCertOptions = {}): Promise<Ca> {
  const keys = await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify']);
  const bc = opts.basicConstraints === undefined ? { ca: false } : opts.basicConstraints;
  const ku = opts.keyUsage === undefined ? x509.KeyUsageFlags.digitalSignature : opts.keyUsage;
  const eku = opts.extKeyUsage === undefined ? [x509.ExtendedKeyUsage.clientAuth] : opts.extKeyUsage;
  const extensions: x509.Extension[] = [
    ...(bc === null ? [] : [new x509.BasicConstraintsExtension(bc.ca, bc.pathLength, true)]),
    ...(ku === null ? [] : [new x509.KeyUsagesExtension(ku, true)]),
    ...(eku === null ? [] : [new x509.ExtendedKeyUsageExtension(eku)]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ...(opts.extra ?? []),
  ];
  const name = new x509.Name(opts.subject ?? [{ CN: [{ utf8String: opts.cn ?? 'custom.client.example' }] }]);
  const validity = { notBefore: opts.notBefore ?? new Date(Date.now() - HOUR), notAfter: opts.notAfter ?? new Date(Date.now() + 24 * HOUR) };
  let certificate: x509.X509Certificate;
  if (opts.selfSigned === true || issuer === undefined) {
    certificate = await x509.X509CertificateGenerator.createSelfSigned({ name, keys, ...validity, extensions });
  } else {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(opts.authorityKey ?? issuer.certificate.publicKey));
    certificate = await x509.X509CertificateGenerator.create({
      subject: name,
      issuer: issuer.certificate.subjectName,
      publicKey: keys.publicKey,
      signingKey: issuer.privateKey,
      ...validity,
      extensions,
    });
  }
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: certificate.toString('pem'), key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), certificate, privateKey: keys.privateKey };
}

export interface CustomCrlOptions {
  /** Serials to revoke, with an optional reason. */
  entries?: { serialNumber: string; reason?: x509.X509CrlReason }[];
  /** Include the AKI extension (default true). */
  aki?: boolean;
  extra?: x509.Extension[];
  thisUpdate?: Date;
  nextUpdate?: Date;
}

/** A PEM ("X509 CRL") CRL of `ca` with exactly the extensions asked for. */
export async function customCrl(ca: Ca, opts: CustomCrlOptions = {}): Promise<string> {
  const thisUpdate = opts.thisUpdate ?? new Date(Date.now() - HOUR);
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subjectName,
    thisUpdate,
    nextUpdate: opts.nextUpdate ?? new Date(thisUpdate.getTime() + 24 * HOUR),
    signingAlgorithm: RSA,
    signingKey: ca.privateKey,
    extensions: [...(opts.aki === false ? [] : [await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey)]), ...(opts.extra ?? [])],
    entries: (opts.entries ?? []).map((e) => ({ serialNumber: e.serialNumber, ...(e.reason === undefined ? {} : { reason: e.reason }) })),
  });
  return x509.PemConverter.encode(crl.rawData, 'X509 CRL');
}

/**
 * What Node's TLS server makes of `client`: 'OK' when authorized, else `socket.authorizationError.code`.
 * The server verifies against `ca` and `crl` exactly as the gateway's mTLS listener does.
 */
export async function tlsVerdict(opts: { server: Pem; ca: readonly string[]; crl?: readonly string[]; client: Pem }): Promise<string> {
  const server = createServer({
    cert: opts.server.cert,
    key: opts.server.key,
    ca: [...opts.ca],
    ...(opts.crl !== undefined && opts.crl.length > 0 ? { crl: [...opts.crl] } : {}),
    requestCert: true,
    rejectUnauthorized: false,
  });
  try {
    const verdict = new Promise<string>((resolve) => {
      server.once('secureConnection', (socket: TLSSocket) => {
        resolve(socket.authorized ? 'OK' : verifyCodeOf(socket));
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, rejectUnauthorized: false, cert: opts.client.cert, key: opts.client.key });
    client.on('error', () => {}); // the server may drop the connection first
    try {
      return await verdict;
    } finally {
      client.destroy();
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * X509_verify_cert_error_string() texts (OpenSSL 3.0 crypto/x509/x509_txt.c) of the verify codes
 * Node does not name: for those `authorizationError` is "UNSPECIFIED" and only the text tells them apart.
 */
const OPENSSL_TEXTS: ReadonlyMap<string, string> = new Map([
  ['unhandled critical extension', 'UNHANDLED_CRITICAL_EXTENSION'],
  ['unhandled critical CRL extension', 'UNHANDLED_CRITICAL_CRL_EXTENSION'],
  ['key usage does not include certificate signing', 'KEYUSAGE_NO_CERTSIGN'],
  ['key usage does not include CRL signing', 'KEYUSAGE_NO_CRL_SIGN'],
  ['key usage does not include digital signature', 'KEYUSAGE_NO_DIGITAL_SIGNATURE'],
  ['proxy certificates not allowed, please set the appropriate flag', 'PROXY_CERTIFICATES_NOT_ALLOWED'],
  ['proxy subject name violation', 'PROXY_SUBJECT_NAME_VIOLATION'],
  ['permitted subtree violation', 'PERMITTED_VIOLATION'],
  ['excluded subtree violation', 'EXCLUDED_VIOLATION'],
  ['name constraints minimum and maximum not supported', 'SUBTREE_MINMAX'],
  ['unsupported name constraint type', 'UNSUPPORTED_CONSTRAINT_TYPE'],
  ['unsupported or invalid name constraint syntax', 'UNSUPPORTED_CONSTRAINT_SYNTAX'],
  ['unsupported or invalid name syntax', 'UNSUPPORTED_NAME_SYNTAX'],
  ['unspecified certificate verification error', 'UNSPECIFIED'],
]);

/** The server socket's verify code by OpenSSL's name (Node's internal handle keeps the OpenSSL text that names it). */
function verifyCodeOf(socket: TLSSocket): string {
  const code = String(socket.authorizationError);
  if (code !== 'UNSPECIFIED') return code;
  const handle = (socket as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  const text = handle?.verifyError?.()?.message ?? '';
  return OPENSSL_TEXTS.get(text) ?? `UNSPECIFIED (${text})`;
}

/** A GeneralName for {@link nameConstraints} and {@link altNames}; iPAddress as bytes (address, then mask in a constraint). */
export type GeneralNameSpec =
  | { dns: string }
  | { email: string }
  | { uri: string }
  | { ip: number[] }
  | { dn: x509.JsonNameParams }
  | { registeredID: string };

function generalName(spec: GeneralNameSpec): RawGeneralName {
  const g = new RawGeneralName();
  if ('dns' in spec) g.dNSName = spec.dns;
  else if ('email' in spec) g.rfc822Name = spec.email;
  else if ('uri' in spec) g.uniformResourceIdentifier = spec.uri;
  else if ('ip' in spec) g.iPAddress = new Uint8Array(spec.ip).buffer;
  else if ('dn' in spec) g.directoryName = AsnConvert.parse(new x509.Name(spec.dn).toArrayBuffer(), Name);
  else g.registeredID = spec.registeredID;
  return g;
}

/** RFC 5280 §4.2.1.10 nameConstraints (critical, as §4.2.1.10 requires); `minimum` other than 0 is for the SUBTREE_MINMAX case. */
export function nameConstraints(permitted: GeneralNameSpec[], excluded: GeneralNameSpec[] = [], opts: { minimum?: number } = {}): x509.Extension {
  const subtrees = (specs: GeneralNameSpec[]): RawGeneralSubtrees | undefined => {
    if (specs.length === 0) return undefined;
    return new RawGeneralSubtrees(specs.map((spec) => Object.assign(new RawGeneralSubtree(), { base: generalName(spec), minimum: opts.minimum ?? 0 })));
  };
  const nc = Object.assign(new RawNameConstraints(), { permittedSubtrees: subtrees(permitted), excludedSubtrees: subtrees(excluded) });
  return new x509.Extension(id_ce_nameConstraints, true, AsnConvert.serialize(nc));
}

/** subjectAltName with any GeneralNames (x509.SubjectAlternativeNameExtension knows fewer types). */
export function altNames(names: GeneralNameSpec[]): x509.Extension {
  return new x509.Extension(id_ce_subjectAltName, false, AsnConvert.serialize(new RawGeneralNames(names.map(generalName))));
}

/** certificatePolicies with these policy OIDs. */
export function certificatePolicies(oids: string[], critical: boolean): x509.Extension {
  const value = new CertificatePolicies(oids.map((policyIdentifier) => new PolicyInformation({ policyIdentifier })));
  return new x509.Extension(id_ce_certificatePolicies, critical, AsnConvert.serialize(value));
}

/** policyConstraints requireExplicitPolicy (critical, RFC 5280 §4.2.1.11); `skipCerts` < 128. */
export function requireExplicitPolicy(skipCerts: number): x509.Extension {
  return new x509.Extension(id_ce_policyConstraints, true, AsnConvert.serialize(new PolicyConstraints({ requireExplicitPolicy: new Uint8Array([skipCerts]).buffer })));
}

/** inhibitAnyPolicy (critical, RFC 5280 §4.2.1.14); `skipCerts` < 128. */
export function inhibitAnyPolicy(skipCerts: number): x509.Extension {
  return new x509.Extension(id_ce_inhibitAnyPolicy, true, AsnConvert.serialize(new InhibitAnyPolicy(new Uint8Array([skipCerts]).buffer)));
}

/** policyMappings (critical, RFC 5280 §4.2.1.5). */
export function policyMappings(issuerDomainPolicy: string, subjectDomainPolicy: string): x509.Extension {
  return new x509.Extension(id_ce_policyMappings, true, AsnConvert.serialize(new PolicyMappings([Object.assign(new PolicyMapping(), { issuerDomainPolicy, subjectDomainPolicy })])));
}

/** RFC 3820 §3.8 ProxyPolicy. */
class ProxyPolicy {
  policyLanguage = '';
}
AsnProp({ type: AsnPropTypes.ObjectIdentifier })(ProxyPolicy.prototype, 'policyLanguage');

/** RFC 3820 §3.8 ProxyCertInfo (pCPathLenConstraint left out). */
class ProxyCertInfo {
  proxyPolicy = new ProxyPolicy();
}
AsnProp({ type: ProxyPolicy })(ProxyCertInfo.prototype, 'proxyPolicy');

/** proxyCertInfo (critical, RFC 3820 §3.8) with policy language id-ppl-inheritAll. */
export function proxyCertInfo(): x509.Extension {
  const value = Object.assign(new ProxyCertInfo(), { proxyPolicy: Object.assign(new ProxyPolicy(), { policyLanguage: '1.3.6.1.5.5.7.21.1' }) });
  return new x509.Extension('1.3.6.1.5.5.7.1.14', true, AsnConvert.serialize(value));
}
