/**
 * Throw-away PKI for development, tests and the demo. Never for production:
 * keys are generated in memory, certificates are short-lived and nothing is
 * meant to be committed.
 *
 * RSA-2048 / SHA-256 everywhere: the FAPI TLS 1.2 cipher suites are
 * ECDHE-RSA / DHE-RSA, so at least the server certificate must be RSA.
 */
import { generateKeyPairSync, randomInt, randomUUID, webcrypto } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import { x509 } from '../x509.js';

/** PEM-encoded certificate and its PKCS#8 ("PRIVATE KEY") private key. */
export interface Pem {
  cert: string;
  key: string;
}

/** A certificate authority that can sign further certificates. */
export interface Ca extends Pem {
  certificate: x509.X509Certificate;
  privateKey: webcrypto.CryptoKey;
}

/** Validity window; defaults are {@link defaultValidity}. */
export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

/** Options for {@link issueServerCert}. */
export interface ServerCertOptions extends Validity {
  /** DNS SANs; default `["localhost"]`. The first one is also the CN. */
  hostnames?: string[];
  /** IP SANs; default `["127.0.0.1", "::1"]`. */
  ips?: string[];
}

/** Options for {@link issueClientCert}. */
export interface ClientCertOptions extends Validity {
  /** Directory organisation id (goes into organizationIdentifier "OFBBR-<orgId>", or OU if legacyOu). */
  orgId: string;
  /** Software statement id (UID). */
  softwareId: string;
  /** Default `<softwareId>.client.example`. */
  commonName?: string;
  /** Subject O; default "Guarita Dev Participant". */
  organizationName?: string;
  /** 14-digit CNPJ for serialNumber; default random digits (no check-digit validation). */
  cnpj?: string;
  /** Put the org id in OU instead of organizationIdentifier, like certificates issued up to 2022-08-31. */
  legacyOu?: boolean;
}

/** Options for {@link createIntermediateCa}. */
export interface IntermediateCaOptions extends Validity {
  /**
   * basicConstraints cA; default true. `false` issues a certificate that may sign certificates
   * (keyUsage keyCertSign) but is not a CA, which verifiers must refuse as an issuer (OpenSSL
   * raises INVALID_CA, then INVALID_PURPOSE, which is what Node reports).
   */
  isCa?: boolean;
  /** basicConstraints pathLenConstraint; default none. */
  pathLength?: number;
}

/** Options for {@link createCrl}. */
export interface CrlOptions {
  /** Default: one hour ago. */
  thisUpdate?: Date;
  /** Default: 7 days after `thisUpdate`; `null` omits nextUpdate. */
  nextUpdate?: Date | null;
  /** cRLNumber; default 1. */
  crlNumber?: number;
  /** Sign with this key instead of the CA's own (to produce a CRL with a bad signature). */
  signingKey?: webcrypto.CryptoKey;
}

/** A client certificate together with the OFB ids it carries. */
export type ClientPem = Pem & { orgId: string; softwareId: string };

/** Everything the tests and the demo need. */
export interface DevPki {
  ca: Ca;
  server: Pem;
  client1: ClientPem;
  client2: ClientPem;
  /** Issued by `ca`, valid from 2 days ago to 1 day ago. */
  expiredClient: Pem;
  /** A CA nobody trusts. */
  rogueCa: Ca;
  /** Issued by `rogueCa`. */
  rogueClient: Pem;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const RSA_KEY: webcrypto.RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};

/**
 * Default validity: from one hour ago (tolerates clock skew between the
 * machines in a demo) to 30 days from now (nothing long-lived).
 */
export function defaultValidity(now = Date.now()): Required<Validity> {
  return { notBefore: new Date(now - HOUR), notAfter: new Date(now + 30 * DAY) };
}

/** Creates a self-signed RSA root CA. */
export async function createCa(name = 'Guarita Dev CA', opts: Validity = {}): Promise<Ca> {
  const keys = await newKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: new x509.Name([{ CN: [{ utf8String: name }] }]),
    keys,
    ...validity(opts),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { ...(await toPem(certificate, keys.privateKey)), certificate, privateKey: keys.privateKey };
}

/**
 * Creates an intermediate CA signed by `parent` (keyUsage keyCertSign + cRLSign, AKI = parent SKI).
 * Its validity defaults to {@link defaultValidity}.
 */
export async function createIntermediateCa(parent: Ca, name: string, opts: IntermediateCaOptions = {}): Promise<Ca> {
  const keys = await newKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    subject: new x509.Name([{ CN: [{ utf8String: name }] }]),
    issuer: parent.certificate.subjectName,
    ...validity(opts),
    publicKey: keys.publicKey,
    signingKey: parent.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(opts.isCa ?? true, opts.pathLength, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.AuthorityKeyIdentifierExtension.create(parent.certificate.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { ...(await toPem(certificate, keys.privateKey)), certificate, privateKey: keys.privateKey };
}

/**
 * Creates a PEM CRL issued by `ca` (v2, with AKI and cRLNumber) revoking `revokedSerials`
 * (hexadecimal, as `X509Certificate.serialNumber` prints them).
 */
export async function createCrl(ca: Ca, revokedSerials: readonly string[] = [], opts: CrlOptions = {}): Promise<string> {
  const thisUpdate = opts.thisUpdate ?? new Date(Date.now() - HOUR);
  const nextUpdate = opts.nextUpdate === undefined ? new Date(thisUpdate.getTime() + 7 * DAY) : opts.nextUpdate;
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subjectName,
    thisUpdate,
    ...(nextUpdate === null ? {} : { nextUpdate }),
    signingAlgorithm: RSA_KEY,
    signingKey: opts.signingKey ?? ca.privateKey,
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey),
      new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(opts.crlNumber ?? 1))),
    ],
    entries: revokedSerials.map((serialNumber) => ({ serialNumber, revocationDate: thisUpdate, reason: x509.X509CrlReason.keyCompromise })),
  });
  // Not crl.toString('pem'): @peculiar/x509 labels it "CRL", which OpenSSL (and so Node's `crl`
  // TLS option) does not read; the PEM label OpenSSL expects is "X509 CRL".
  return x509.PemConverter.encode(crl.rawData, 'X509 CRL');
}

/** Issues a TLS server certificate (EKU serverAuth); SANs default to localhost, 127.0.0.1, ::1. */
export async function issueServerCert(ca: Ca, opts: ServerCertOptions = {}): Promise<Pem> {
  const hostnames = opts.hostnames ?? ['localhost'];
  const ips = opts.ips ?? ['127.0.0.1', '::1'];
  const subject = new x509.Name([{ CN: [{ utf8String: hostnames[0] ?? ips[0] ?? 'localhost' }] }]);
  const san = new x509.SubjectAlternativeNameExtension([
    ...hostnames.map((value) => ({ type: 'dns' as const, value })),
    ...ips.map((value) => ({ type: 'ip' as const, value })),
  ]);
  return issue(ca, subject, x509.ExtendedKeyUsage.serverAuth, [san], opts);
}

/**
 * Issues an OFB-style client certificate (EKU clientAuth).
 *
 * The subject is encoded in the order of the OFB Certificate Standard's
 * OpenSSL template: businessCategory, jurisdictionC, serialNumber, C, O, ST,
 * L, organizationIdentifier (or OU), UID, CN. RFC 4514 prints RDNs last-first,
 * so `ofbSubjectDn` yields the standard's documented order
 * `CN, UID, 2.5.4.97, L, ST, O, C, 2.5.4.5, 1.3.6.1.4.1.311.60.2.1.3, 2.5.4.15`.
 */
export async function issueClientCert(ca: Ca, opts: ClientCertOptions): Promise<Pem> {
  const cnpj = opts.cnpj ?? Array.from({ length: 14 }, () => randomInt(10)).join('');
  // Attribute types by dotted OID with explicit string types: x509.Name only
  // knows a handful of short names, and the OFB standard fixes the encodings
  // (PrintableString for serialNumber/jurisdictionC, UTF8String elsewhere).
  const subject = new x509.Name([
    { '2.5.4.15': [{ utf8String: 'Private Organization' }] }, // businessCategory
    { '1.3.6.1.4.1.311.60.2.1.3': [{ printableString: 'BR' }] }, // jurisdictionCountryName
    { '2.5.4.5': [{ printableString: cnpj }] }, // serialNumber (CNPJ)
    { '2.5.4.6': [{ printableString: 'BR' }] }, // C: PrintableString per RFC 5280
    { '2.5.4.10': [{ utf8String: opts.organizationName ?? 'Guarita Dev Participant' }] }, // O
    { '2.5.4.8': [{ utf8String: 'SP' }] }, // ST
    { '2.5.4.7': [{ utf8String: 'Sao Paulo' }] }, // L
    opts.legacyOu
      ? { '2.5.4.11': [{ utf8String: opts.orgId }] } // OU (certs issued up to 2022-08-31)
      : { '2.5.4.97': [{ utf8String: `OFBBR-${opts.orgId}` }] }, // organizationIdentifier
    { '0.9.2342.19200300.100.1.1': [{ utf8String: opts.softwareId }] }, // UID
    { '2.5.4.3': [{ utf8String: opts.commonName ?? `${opts.softwareId}.client.example` }] }, // CN
  ]);
  return issue(ca, subject, x509.ExtendedKeyUsage.clientAuth, [], opts);
}

/** Creates a complete dev PKI: trusted CA, server, two clients of distinct orgs, an expired and a rogue client. */
export async function createDevPki(opts: { hostnames?: string[] } = {}): Promise<DevPki> {
  const now = Date.now();
  // The CA starts before the expired client so that expiry is that
  // certificate's only defect.
  const [ca, rogueCa] = await Promise.all([
    createCa('Guarita Dev CA', { ...defaultValidity(now), notBefore: new Date(now - 3 * DAY) }),
    createCa('Guarita Rogue CA'),
  ]);
  const ids = (): { orgId: string; softwareId: string } => ({ orgId: randomUUID(), softwareId: randomUUID() });
  const [id1, id2, idExpired, idRogue] = [ids(), ids(), ids(), ids()];
  const [server, client1, client2, expiredClient, rogueClient] = await Promise.all([
    issueServerCert(ca, opts.hostnames ? { hostnames: opts.hostnames } : {}),
    issueClientCert(ca, id1),
    issueClientCert(ca, id2),
    issueClientCert(ca, { ...idExpired, notBefore: new Date(now - 2 * DAY), notAfter: new Date(now - DAY) }),
    issueClientCert(rogueCa, idRogue),
  ]);
  return { ca, server, client1: { ...client1, ...id1 }, client2: { ...client2, ...id2 }, expiredClient, rogueCa, rogueClient };
}

/**
 * Writes the dev PKI as PEM files into `dir` (created if needed); private keys
 * get mode 0600. Returns file name -> path.
 */
export async function writeDevPki(dir: string, pki: DevPki): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ['ca.crt', pki.ca.cert],
    ['ca.key', pki.ca.key],
    ['server.crt', pki.server.cert],
    ['server.key', pki.server.key],
    ['client1.crt', pki.client1.cert],
    ['client1.key', pki.client1.key],
    ['client2.crt', pki.client2.cert],
    ['client2.key', pki.client2.key],
    ['expired-client.crt', pki.expiredClient.cert],
    ['expired-client.key', pki.expiredClient.key],
    ['rogue-ca.crt', pki.rogueCa.cert],
    ['rogue-client.crt', pki.rogueClient.cert],
    ['rogue-client.key', pki.rogueClient.key],
  ];
  const written: Record<string, string> = {};
  for (const [name, content] of files) {
    const path = join(dir, name);
    const mode = name.endsWith('.key') ? 0o600 : 0o644;
    await writeFile(path, content, { mode });
    await chmod(path, mode); // writeFile's mode only applies when it creates the file
    written[name] = path;
  }
  return written;
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  // Extractable so the private key can be exported as PKCS#8 PEM.
  return webcrypto.subtle.generateKey(RSA_KEY, true, ['sign', 'verify']);
}

function validity(opts: Validity): Required<Validity> {
  const d = defaultValidity();
  return { notBefore: opts.notBefore ?? d.notBefore, notAfter: opts.notAfter ?? d.notAfter };
}

/** Signs an end-entity certificate for `subject` with the CA key. */
async function issue(
  ca: Ca,
  subject: x509.Name,
  eku: x509.ExtendedKeyUsage,
  extra: x509.Extension[],
  opts: Validity,
): Promise<Pem> {
  const keys = await newKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    // serialNumber omitted: the generator uses 16 random bytes (positive).
    subject,
    issuer: ca.certificate.subjectName,
    ...validity(opts),
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // RSA TLS: digitalSignature for (EC)DHE-RSA, keyEncipherment for RSA key transport.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([eku]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...extra,
    ],
  });
  return toPem(certificate, keys.privateKey);
}

async function toPem(certificate: x509.X509Certificate, privateKey: webcrypto.CryptoKey): Promise<Pem> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', privateKey);
  return { cert: certificate.toString('pem'), key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

/**
 * Write the bank's response-signing key (RSA 2048, PKCS#8 PEM; `signing.key` in routes.yaml) to
 * `dir/signing.key`, mode 0600. Development only: a production key lives in an HSM or a secret.
 */
export async function writeBankSigningKey(dir: string): Promise<string> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const path = join(dir, 'signing.key');
  await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}
