/**
 * What chain verification (verify-chain.ts) needs to know about one certificate, read once with
 * @peculiar/asn1-x509, and the issuer relations OpenSSL 3 uses to build a chain.
 */
import type { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  CRLDistributionPoints,
  Certificate,
  ExtendedKeyUsage,
  KeyUsage,
  SubjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_cRLDistributionPoints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_nameConstraints,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  type Extension,
} from '@peculiar/asn1-x509';
import { RawGeneralNames, RawNameConstraints, canonicalName, decodeExtension, type RawGeneralName } from './general-names.js';
import type { NameFacts } from './name-constraints.js';

/** OpenSSL 3.0 `X509_supported_extension()`: a critical extension outside this list fails verification. */
const SUPPORTED_CRITICAL_EXTENSIONS: ReadonlySet<string> = new Set([
  '2.16.840.1.113730.1.1', // netscape-cert-type
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.19', // basicConstraints
  '2.5.29.32', // certificatePolicies
  '2.5.29.31', // cRLDistributionPoints
  '2.5.29.37', // extKeyUsage
  '1.3.6.1.5.5.7.1.7', // sbgp-ipAddrBlock
  '1.3.6.1.5.5.7.1.8', // sbgp-autonomousSysNum
  '1.3.6.1.5.5.7.48.1.5', // id-pkix-ocsp-nocheck
  '2.5.29.36', // policyConstraints
  '1.3.6.1.5.5.7.1.14', // proxyCertInfo
  '2.5.29.30', // nameConstraints
  '2.5.29.33', // policyMappings
  '2.5.29.54', // inhibitAnyPolicy
]);

/** RFC 3820 proxyCertInfo: OpenSSL refuses proxy certificates unless X509_V_FLAG_ALLOW_PROXY_CERTS. */
export const ID_PE_PROXY_CERT_INFO = '1.3.6.1.5.5.7.1.14';

export interface AuthorityKeyId {
  readonly keyId: string | undefined;
  readonly serial: string | undefined;
}

/** What verification needs from a certificate, extracted once. */
export interface CertInfo extends NameFacts {
  readonly x: X509Certificate;
  /** Canonical subject and issuer names (equal when OpenSSL's X509_NAME_cmp says so). */
  readonly subject: string;
  readonly issuer: string;
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly isCa: boolean | undefined; // basicConstraints cA, undefined when the extension is absent
  readonly pathLength: number | undefined;
  readonly keyUsage: number | undefined; // KeyUsageFlags bits, undefined when absent
  readonly extKeyUsage: readonly string[] | undefined;
  readonly skid: string | undefined;
  readonly akid: AuthorityKeyId | undefined;
  readonly unhandledCritical: boolean;
  readonly proxy: boolean;
  readonly v1: boolean;
  /**
   * An extension OpenSSL decodes up front (x509v3_cache_extensions) does not decode or is
   * repeated: OpenSSL's EXFLAG_INVALID. Such a
   * certificate is nobody's issuer and has no issuer.
   */
  readonly invalid: boolean;
}

/** Reads extensions, remembering whether one OpenSSL caches failed to decode. */
class ExtensionReader {
  invalid = false;
  constructor(private readonly extensions: readonly Extension[]) {}

  read<T>(oid: string, schema: new () => T): T | undefined {
    const found = this.extensions.filter((e) => e.extnID === oid);
    if (found.length === 0) return undefined;
    // OpenSSL X509_get_ext_d2i(): a repeated extension reads as absent, and the certificate as invalid (RFC 5280 §4.2).
    if (found.length > 1) return this.fail();
    try {
      return decodeExtension((found[0] as Extension).extnValue.buffer, schema);
    } catch {
      return this.fail();
    }
  }

  private fail(): undefined {
    this.invalid = true;
    return undefined;
  }
}

/**
 * Facts about `cert`. @throws Error when @peculiar/asn1-x509 cannot parse the certificate at all
 * (node:crypto could: a caller treats it as unparsable).
 */
export function inspect(cert: X509Certificate): CertInfo {
  const tbs = AsnConvert.parse(cert.raw, Certificate).tbsCertificate;
  const extensions = tbs.extensions ?? [];
  const r = new ExtensionReader(extensions);
  const bc = r.read(id_ce_basicConstraints, BasicConstraints);
  const ku = r.read(id_ce_keyUsage, KeyUsage);
  const eku = r.read(id_ce_extKeyUsage, ExtendedKeyUsage);
  const skid = r.read(id_ce_subjectKeyIdentifier, SubjectKeyIdentifier);
  const aki = r.read(id_ce_authorityKeyIdentifier, AuthorityKeyIdentifier);
  const san = r.read(id_ce_subjectAltName, RawGeneralNames);
  const nc = r.read(id_ce_nameConstraints, RawNameConstraints);
  r.read(id_ce_cRLDistributionPoints, CRLDistributionPoints);
  const subject = canonicalName(tbs.subject);
  const issuer = canonicalName(tbs.issuer);
  return {
    x: cert,
    subject,
    issuer,
    subjectName: tbs.subject,
    issuerName: tbs.issuer,
    selfIssued: subject === issuer,
    serial: normalizeSerial(Buffer.from(tbs.serialNumber).toString('hex')),
    notBefore: tbs.validity.notBefore.getTime().getTime(),
    notAfter: tbs.validity.notAfter.getTime().getTime(),
    isCa: bc?.cA,
    pathLength: bc?.pathLenConstraint,
    keyUsage: ku?.toNumber(),
    extKeyUsage: eku === undefined ? undefined : [...eku],
    skid: skid === undefined ? undefined : hex(skid.buffer),
    akid: aki === undefined ? undefined : authorityKeyId(aki),
    altNames: san === undefined ? undefined : ([...san] as RawGeneralName[]),
    nameConstraints: nc,
    unhandledCritical: extensions.some((e) => e.critical && !SUPPORTED_CRITICAL_EXTENSIONS.has(e.extnID)),
    proxy: extensions.some((e) => e.extnID === ID_PE_PROXY_CERT_INFO),
    v1: bc === undefined && ku === undefined && tbs.version === 0,
    invalid: r.invalid,
  };
}

export function authorityKeyId(aki: AuthorityKeyIdentifier): AuthorityKeyId {
  return {
    keyId: aki.keyIdentifier === undefined ? undefined : hex(aki.keyIdentifier.buffer),
    serial: aki.authorityCertSerialNumber === undefined ? undefined : normalizeSerial(hex(aki.authorityCertSerialNumber)),
  };
}

/** OpenSSL `ossl_x509_likely_issued()`: issuer name matches, both certificates valid, and the AKID (if any) names the issuer's key / serial. */
export function likelyIssued(issuer: CertInfo, subject: CertInfo): boolean {
  return issuer.subject === subject.issuer && !issuer.invalid && !subject.invalid && akidMatches(subject.akid, issuer);
}

/** OpenSSL `X509_check_akid()` (key identifier and serial; authorityCertIssuer is not compared). */
export function akidMatches(akid: AuthorityKeyId | undefined, issuer: CertInfo): boolean {
  if (akid === undefined) return true;
  if (akid.keyId !== undefined && issuer.skid !== undefined && akid.keyId !== issuer.skid) return false;
  return akid.serial === undefined || akid.serial === issuer.serial;
}

export function isSelfSigned(c: CertInfo): boolean {
  return likelyIssued(c, c);
}

export function signs(issuer: CertInfo, subject: CertInfo): boolean {
  try {
    return subject.x.verify(issuer.x.publicKey);
  } catch {
    return false;
  }
}

export function kuRejects(c: CertInfo, bits: number): boolean {
  return c.keyUsage !== undefined && (c.keyUsage & bits) === 0;
}

export function normalizeSerial(hexSerial: string): string {
  return hexSerial.toLowerCase().replace(/^0+(?=.)/, '');
}

function hex(bytes: ArrayBuffer): string {
  return Buffer.from(bytes).toString('hex');
}
