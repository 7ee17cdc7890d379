/**
 * Client-certificate verification for ingress mode (SPEC §3): the proxy terminated TLS and sent the
 * leaf in a header, so the gateway verifies it itself — and must refuse exactly what its own TLS
 * listener refuses. This module reproduces OpenSSL 3's `X509_verify_cert` as Node drives it for
 * a server with `ca` + `crl` (`X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL`, purpose
 * "SSL client", no partial chains), down to the verify code `socket.authorizationError.code` would
 * carry. Parity is asserted case by case against a real TLS socket in
 * test/tls/verify-chain.test.ts.
 *
 * How OpenSSL arrives at *one* code matters: Node's verify callback accepts every error so that
 * the handshake completes and the route decides, so OpenSSL runs every check and the code left is
 * the LAST one raised, in this order:
 *   1. chain building (issuer lookup in the trust store only: the header carries the leaf alone);
 *   2. extensions, per certificate from the leaf up: unhandled critical extension, CA flag,
 *      purpose (clientAuth EKU, digitalSignature/keyAgreement KU on the leaf), path length;
 *   3. revocation, per certificate from the leaf up *including the root*: CRL found? issuer may
 *      sign CRLs? CRL time, CRL signature, unhandled critical CRL extension, serial listed;
 *   4. signatures and validity, from the root down to the leaf.
 * So an expired *and* revoked leaf is CERT_HAS_EXPIRED, a leaf whose issuer is unknown is
 * UNABLE_TO_VERIFY_LEAF_SIGNATURE, and a non-CA intermediate is INVALID_PURPOSE (raised after
 * INVALID_CA for the same certificate) — as on the TLS listener.
 *
 * Codes are OpenSSL's names. Node knows only some of them and reports the others
 * (UNHANDLED_CRITICAL_EXTENSION, UNHANDLED_CRITICAL_CRL_EXTENSION, KEYUSAGE_NO_CERTSIGN,
 * KEYUSAGE_NO_CRL_SIGN) as "UNSPECIFIED"; here they keep their name.
 *
 * Not evaluated (OpenSSL would): name constraints and certificate policies, the key-size and digest
 * strength of the security level, Netscape cert types, AKID authorityCertIssuer. CRLs with an
 * issuingDistributionPoint (partitioned/scoped) or delta CRLs are refused when the store is built,
 * not silently applied to certificates they may not cover.
 */
import { X509Certificate, constants, verify as verifySignature, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, type RevokedCertificate } from '@peculiar/asn1-x509';
import { x509 } from '../x509.js';
import { parsePem } from './pem.js';

/** OpenSSL verify codes (`X509_V_ERR_*` without the prefix), plus CERT_UNPARSABLE for input that is not a certificate. */
export type VerifyCode =
  | 'UNABLE_TO_GET_ISSUER_CERT'
  | 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'
  | 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
  | 'DEPTH_ZERO_SELF_SIGNED_CERT'
  | 'CERT_CHAIN_TOO_LONG'
  | 'UNHANDLED_CRITICAL_EXTENSION'
  | 'INVALID_EXTENSION'
  | 'INVALID_CA'
  | 'INVALID_PURPOSE'
  | 'PATH_LENGTH_EXCEEDED'
  | 'UNABLE_TO_GET_CRL'
  | 'KEYUSAGE_NO_CRL_SIGN'
  | 'CRL_NOT_YET_VALID'
  | 'CRL_HAS_EXPIRED'
  | 'CRL_SIGNATURE_FAILURE'
  | 'UNHANDLED_CRITICAL_CRL_EXTENSION'
  | 'CERT_REVOKED'
  | 'KEYUSAGE_NO_CERTSIGN'
  | 'CERT_SIGNATURE_FAILURE'
  | 'CERT_NOT_YET_VALID'
  | 'CERT_HAS_EXPIRED'
  | 'CERT_UNPARSABLE';

export type VerifyResult = { ok: true } | { ok: false; code: VerifyCode };

/** Trust anchors, intermediates and CRLs, parsed once. Build with {@link createTrustStore}. */
export interface TrustStore {
  /** Every certificate of the CA files, in file order. */
  readonly certificates: readonly X509Certificate[];
  /** Number of CRLs; when > 0, every certificate of every chain needs a CRL from its issuer. */
  readonly crlCount: number;
}

/**
 * At most this many certificates above the leaf. OpenSSL's default is 100; real chains
 * (ICP-Brasil: leaf → issuing AC → intermediate AC → root) have 3 or 4 certificates.
 */
export const MAX_CHAIN_DEPTH = 5;

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const KU = x509.KeyUsageFlags;
const ID_CE_ISSUING_DISTRIBUTION_POINT = '2.5.29.28';
const ID_CE_DELTA_CRL_INDICATOR = '2.5.29.27';
const ID_CE_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
const ID_CE_CERTIFICATE_ISSUER = '2.5.29.29';

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

/** What verification needs from a certificate, extracted once. */
interface CertInfo {
  readonly x: X509Certificate;
  readonly subject: string;
  readonly issuer: string;
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly isCa: boolean | undefined; // basicConstraints cA, undefined when the extension is absent
  readonly pathLength: number | undefined;
  readonly keyUsage: number | undefined; // @peculiar KeyUsageFlags, undefined when absent
  readonly extKeyUsage: readonly string[] | undefined;
  readonly skid: string | undefined;
  readonly akid: AuthorityKeyId | undefined;
  readonly unhandledCritical: boolean;
  readonly v1: boolean;
}

interface AuthorityKeyId {
  readonly keyId: string | undefined;
  readonly serial: string | undefined;
}

interface CrlInfo {
  readonly issuer: string;
  readonly akid: AuthorityKeyId | undefined;
  readonly thisUpdate: number;
  readonly nextUpdate: number | undefined;
  readonly unhandledCritical: boolean;
  /** Entries by normalized serial, as parsed; the reason is read only for a serial that is looked up. */
  readonly revoked: ReadonlyMap<string, RevokedCertificate>;
  readonly tbs: Buffer;
  readonly signature: Buffer;
  readonly algorithm: { name: string; hash?: string | { name: string }; saltLength?: number };
  /** Signature check per issuer certificate (store certificates, or a leaf for the duration of a call). */
  readonly signedBy: WeakMap<X509Certificate, boolean>;
}

class Store implements TrustStore {
  constructor(
    readonly infos: readonly CertInfo[],
    readonly crls: readonly CrlInfo[],
  ) {}
  get certificates(): readonly X509Certificate[] {
    return this.infos.map((i) => i.x);
  }
  get crlCount(): number {
    return this.crls.length;
  }
}

/** Exposes parts of the parsed CertificateList that X509Crl keeps to itself. */
class RawCrl extends x509.X509Crl {
  /** The tbsCertList bytes exactly as signed. */
  get tbsRaw(): ArrayBuffer | undefined {
    return this.asn.tbsCertListRaw;
  }
  /** Revoked entries as parsed: `entries` builds an X509CrlEntry each, and reading their reason costs ~70 µs apiece. */
  get revokedCertificates(): readonly RevokedCertificate[] {
    return this.asn.tbsCertList.revokedCertificates ?? [];
  }
}

/**
 * Builds a trust store from the contents of PEM files: CA files may hold several certificates
 * (roots and intermediates), CRL files several CRLs.
 *
 * @throws TypeError when a file holds no certificate/CRL, a block does not parse, no CA is given,
 *   or a CRL is a kind this module does not evaluate (delta, issuingDistributionPoint).
 */
export function createTrustStore(caPems: readonly (string | Buffer)[], crlPems: readonly (string | Buffer)[]): TrustStore {
  const infos: CertInfo[] = [];
  caPems.forEach((pem, i) => {
    for (const der of pemDers(pem, 'CERTIFICATE', `CA file #${i + 1}`)) {
      try {
        infos.push(inspect(new X509Certificate(der)));
      } catch (err) {
        throw new TypeError(`CA file #${i + 1} holds a certificate that does not parse: ${(err as Error).message}`);
      }
    }
  });
  if (infos.length === 0) throw new TypeError('no CA certificate configured: nothing could be trusted');
  const crls: CrlInfo[] = [];
  crlPems.forEach((pem, i) => {
    for (const der of pemDers(pem, 'X509 CRL', `CRL file #${i + 1}`)) crls.push(inspectCrl(der, `CRL file #${i + 1}`));
  });
  return new Store(infos, crls);
}

/** PEM ("X509 CRL", the label OpenSSL and Node's `crl` option read) for a CRL fetched as DER. @throws TypeError if `der` is not a CRL. */
export function crlPemFromDer(der: Buffer): string {
  try {
    new RawCrl(der, crlParseOptions(der));
  } catch (err) {
    throw new TypeError(`not a DER-encoded CRL: ${(err as Error).message}`);
  }
  return x509.PemConverter.encode(der, 'X509 CRL');
}

/**
 * Verifies a DER client certificate against `store` at `now`, as OpenSSL would on the mTLS listener.
 * Synchronous and side-effect free; callers cache the result per certificate hash (and drop the
 * cache when the store is rebuilt).
 */
export function verifyClientCertificate(der: Buffer, store: TrustStore, now: Date = new Date()): VerifyResult {
  if (!(store instanceof Store)) throw new TypeError('store must come from createTrustStore()');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    return { ok: false, code: 'CERT_UNPARSABLE' };
  }
  let leaf: CertInfo;
  try {
    leaf = inspect(cert);
  } catch {
    return { ok: false, code: 'INVALID_EXTENSION' }; // OpenSSL: EXFLAG_INVALID → X509_V_ERR_INVALID_EXTENSION
  }
  // OpenSSL compares times in whole seconds (time_t).
  const t = Math.floor(now.getTime() / 1000) * 1000;
  const errors: VerifyCode[] = [];
  const chain = buildChain(leaf, store, t, errors);
  checkExtensions(chain, errors);
  if (store.crls.length > 0) checkRevocation(chain, store, t, errors);
  checkSignaturesAndTimes(chain, t, errors);
  const code = errors.at(-1);
  return code === undefined ? { ok: true } : { ok: false, code };
}

// ---- 1. Chain building -------------------------------------------------------------------------

function buildChain(leaf: CertInfo, store: Store, t: number, errors: VerifyCode[]): CertInfo[] {
  const chain = [leaf];
  if (isSelfSigned(leaf)) {
    // A self-signed leaf is trusted only if it is itself in the store.
    if (!store.infos.some((c) => c.x.raw.equals(leaf.x.raw))) errors.push('DEPTH_ZERO_SELF_SIGNED_CERT');
    return chain;
  }
  for (;;) {
    const top = chain[chain.length - 1] as CertInfo;
    if (chain.length > 1 && isSelfSigned(top)) return chain; // reached a trust anchor
    if (chain.length > MAX_CHAIN_DEPTH) {
      errors.push('CERT_CHAIN_TOO_LONG');
      return chain;
    }
    const issuer = findIssuer(top, store, chain, t);
    if (issuer === undefined) {
      // Without X509_V_FLAG_PARTIAL_CHAIN a chain must end at a self-signed anchor.
      errors.push(chain.length === 1 ? 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' : 'UNABLE_TO_GET_ISSUER_CERT');
      return chain;
    }
    chain.push(issuer);
  }
}

/**
 * OpenSSL's `X509_STORE_CTX_get1_issuer`: the candidates are the store certificates whose subject
 * is the certificate's issuer and whose key id matches its AKID (not `checkIssued()`, which also
 * requires keyCertSign: OpenSSL takes such an issuer and fails later with KEYUSAGE_NO_CERTSIGN).
 * It takes the first one valid now, else the one expiring last. Among several valid ones this
 * also prefers one whose key verifies the signature (a same-name CA rollover without AKIDs),
 * where OpenSSL takes store order.
 */
function findIssuer(subject: CertInfo, store: Store, chain: readonly CertInfo[], t: number): CertInfo | undefined {
  const candidates = store.infos.filter((c) => !chain.includes(c) && likelyIssued(c, subject));
  if (candidates.length <= 1) return candidates[0];
  let best: CertInfo | undefined;
  let bestRank = -1;
  for (const candidate of candidates) {
    const valid = candidate.notBefore <= t && candidate.notAfter > t;
    const rank = valid ? (signs(candidate, subject) ? 2 : 1) : 0;
    if (rank > bestRank || (rank === 0 && bestRank === 0 && best !== undefined && candidate.notAfter > best.notAfter)) {
      best = candidate;
      bestRank = rank;
      if (rank === 2) break;
    }
  }
  return best;
}

// ---- 2. Extensions ---------------------------------------------------------------------------

function checkExtensions(chain: readonly CertInfo[], errors: VerifyCode[]): void {
  let belowCas = 0; // non-self-issued CA certificates between the current one and the leaf
  chain.forEach((c, i) => {
    if (c.unhandledCritical) errors.push('UNHANDLED_CRITICAL_EXTENSION');
    const level = caLevel(c);
    // An issuer must be a CA; below the top, by basicConstraints cA:TRUE only.
    if (i > 0 && (level === 0 || (i < chain.length - 1 && level !== 1))) errors.push('INVALID_CA');
    // Purpose "SSL client" (X509_PURPOSE_SSL_CLIENT): clientAuth if an EKU is present, for every certificate;
    // the leaf's keyUsage must allow a signature or key agreement, an issuer must be a CA.
    const purposeOk = (c.extKeyUsage === undefined || c.extKeyUsage.includes(CLIENT_AUTH)) && (i === 0 ? !kuRejects(c, KU.digitalSignature | KU.keyAgreement) : level !== 0);
    if (!purposeOk) errors.push('INVALID_PURPOSE');
    if (i > 1 && c.pathLength !== undefined && belowCas > c.pathLength) errors.push('PATH_LENGTH_EXCEEDED');
    if (i > 0 && c.subject !== c.issuer) belowCas++;
  });
}

/** OpenSSL `check_ca()`: 0 = not a CA; 1 = basicConstraints cA; 3 = v1 self-signed root; 4 = keyCertSign without basicConstraints. */
function caLevel(c: CertInfo): number {
  if (kuRejects(c, KU.keyCertSign)) return 0;
  if (c.isCa !== undefined) return c.isCa ? 1 : 0;
  if (c.v1 && c.subject === c.issuer) return 3;
  return c.keyUsage !== undefined ? 4 : 0;
}

function kuRejects(c: CertInfo, bits: number): boolean {
  return c.keyUsage !== undefined && (c.keyUsage & bits) === 0;
}

// ---- 3. Revocation (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL) --------------------------

function checkRevocation(chain: readonly CertInfo[], store: Store, t: number, errors: VerifyCode[]): void {
  chain.forEach((c, i) => {
    // The CRL issuer is the next certificate up; the top of the chain is its own.
    const crlIssuer = chain[i + 1] ?? c;
    const crl = selectCrl(store, c, crlIssuer, t);
    if (crl === undefined) {
      errors.push('UNABLE_TO_GET_CRL');
      return;
    }
    if (kuRejects(crlIssuer, KU.cRLSign)) errors.push('KEYUSAGE_NO_CRL_SIGN');
    if (crl.thisUpdate > t) errors.push('CRL_NOT_YET_VALID');
    if (crl.nextUpdate !== undefined && crl.nextUpdate <= t) errors.push('CRL_HAS_EXPIRED');
    if (!crlSignedBy(crl, crlIssuer)) errors.push('CRL_SIGNATURE_FAILURE');
    if (crl.unhandledCritical) errors.push('UNHANDLED_CRITICAL_CRL_EXTENSION');
    if (listed(crl, c.serial)) errors.push('CERT_REVOKED');
  });
}

/**
 * OpenSSL `get_crl_sk()`: candidates name the certificate's issuer and carry no AKID or the CRL
 * issuer's key id (others are ignored). Best score wins — no unhandled critical extension first,
 * then valid now — then the newest thisUpdate. The signature is checked only after the choice,
 * so a bad CRL that wins fails verification even if a good one is configured. Ties are in
 * OpenSSL's (hash-sorted, effectively arbitrary) store order; here the failing one wins.
 */
function selectCrl(store: Store, subject: CertInfo, crlIssuer: CertInfo, t: number): CrlInfo | undefined {
  let best: CrlInfo[] = [];
  let bestScore = -1;
  for (const crl of store.crls) {
    if (crl.issuer !== subject.issuer || !akidMatches(crl.akid, crlIssuer)) continue;
    const score = (crl.unhandledCritical ? 0 : 2) + (crl.thisUpdate <= t && (crl.nextUpdate === undefined || crl.nextUpdate > t) ? 1 : 0);
    const newest = best[0]?.thisUpdate ?? -Infinity;
    if (score > bestScore || (score === bestScore && crl.thisUpdate > newest)) {
      best = [crl];
      bestScore = score;
    } else if (score === bestScore && crl.thisUpdate === newest) {
      best.push(crl);
    }
  }
  if (best.length > 1) {
    return best.find((crl) => !crlSignedBy(crl, crlIssuer)) ?? best.find((crl) => listed(crl, subject.serial)) ?? best[0];
  }
  return best[0];
}

/** Revoked by `crl`? An entry with reason removeFromCRL does not count (it un-revokes, in delta CRLs). */
function listed(crl: CrlInfo, serial: string): boolean {
  const entry = crl.revoked.get(serial);
  return entry !== undefined && new x509.X509CrlEntry(entry).reason !== x509.X509CrlReason.removeFromCRL;
}

function crlSignedBy(crl: CrlInfo, issuer: CertInfo): boolean {
  let ok = crl.signedBy.get(issuer.x);
  if (ok === undefined) {
    ok = verifyCrlSignature(crl, issuer.x.publicKey);
    crl.signedBy.set(issuer.x, ok);
  }
  return ok;
}

/** Synchronous (node:crypto) check of a CRL signature, for the algorithms X.509 PKIs use. */
function verifyCrlSignature(crl: CrlInfo, key: KeyObject): boolean {
  const { name, hash, saltLength } = crl.algorithm;
  const digest = (typeof hash === 'string' ? hash : hash?.name)?.replace('-', '').toLowerCase(); // "SHA-256" → "sha256"
  try {
    switch (name) {
      case 'RSASSA-PKCS1-v1_5':
      case 'ECDSA': // X.509 carries ECDSA signatures DER-encoded, node's default dsaEncoding
        return digest !== undefined && verifySignature(digest, crl.tbs, key, crl.signature);
      case 'RSA-PSS':
        return digest !== undefined && verifySignature(digest, crl.tbs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: saltLength ?? 20 }, crl.signature);
      case 'Ed25519':
      case 'Ed448':
      case 'EdDSA':
        return verifySignature(null, crl.tbs, key, crl.signature);
      default:
        return false;
    }
  } catch {
    return false; // e.g. an EC key for an RSA signature
  }
}

// ---- 4. Signatures and validity (OpenSSL internal_verify) ---------------------------------------

function checkSignaturesAndTimes(chain: readonly CertInfo[], t: number, errors: VerifyCode[]): void {
  let n = chain.length - 1;
  let issuer = chain[n] as CertInfo;
  let subject = issuer;
  if (!isSelfSigned(issuer)) {
    // Incomplete chain: nothing to check the top certificate's signature (or, above the leaf, its validity) with.
    if (n > 0) subject = chain[--n] as CertInfo;
    else errors.push('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  }
  for (;;) {
    if (subject !== issuer) {
      // The trust anchor's self-signature is not checked (it is trusted as configured).
      if (kuRejects(issuer, KU.keyCertSign)) errors.push('KEYUSAGE_NO_CERTSIGN');
      if (!signs(issuer, subject)) errors.push('CERT_SIGNATURE_FAILURE');
    }
    if (subject.notBefore > t) errors.push('CERT_NOT_YET_VALID');
    if (subject.notAfter <= t) errors.push('CERT_HAS_EXPIRED');
    if (--n < 0) return;
    issuer = subject;
    subject = chain[n] as CertInfo;
  }
}

// ---- Certificate and CRL facts -----------------------------------------------------------------

function inspect(cert: X509Certificate): CertInfo {
  const p = new x509.X509Certificate(cert.raw);
  const bc = p.getExtension(x509.BasicConstraintsExtension);
  const ku = p.getExtension(x509.KeyUsagesExtension);
  const eku = p.getExtension(x509.ExtendedKeyUsageExtension);
  const aki = p.getExtension(x509.AuthorityKeyIdentifierExtension);
  const v1 = bc === null && ku === null && AsnConvert.parse(cert.raw, Certificate).tbsCertificate.version === 0;
  return {
    x: cert,
    subject: canonicalName(p.subjectName),
    issuer: canonicalName(p.issuerName),
    serial: normalizeSerial(p.serialNumber),
    notBefore: p.notBefore.getTime(),
    notAfter: p.notAfter.getTime(),
    isCa: bc === null ? undefined : bc.ca,
    pathLength: bc?.pathLength,
    keyUsage: ku === null ? undefined : ku.usages,
    extKeyUsage: eku === null ? undefined : eku.usages.map(String),
    skid: p.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId.toLowerCase(),
    akid: aki === null ? undefined : { keyId: aki.keyId?.toLowerCase(), serial: aki.certId === undefined ? undefined : normalizeSerial(aki.certId.serialNumber) },
    unhandledCritical: p.extensions.some((e) => e.critical && !SUPPORTED_CRITICAL_EXTENSIONS.has(e.type)),
    v1,
  };
}

function inspectCrl(der: Buffer, where: string): CrlInfo {
  let crl: RawCrl;
  try {
    crl = new RawCrl(der, crlParseOptions(der));
  } catch (err) {
    throw new TypeError(`${where} holds a CRL that does not parse: ${(err as Error).message}`);
  }
  const issuer = crl.issuerName;
  const extensions = crl.extensions;
  const types = new Set(extensions.map((e) => e.type));
  if (types.has(ID_CE_ISSUING_DISTRIBUTION_POINT)) {
    throw new TypeError(`${where}: the CRL of "${issuer.toString()}" has an issuingDistributionPoint (partitioned or scoped CRL), which ingress verification does not evaluate; configure the full CRL`);
  }
  if (types.has(ID_CE_DELTA_CRL_INDICATOR)) {
    throw new TypeError(`${where}: the CRL of "${issuer.toString()}" is a delta CRL; configure the full CRL`);
  }
  const tbs = crl.tbsRaw;
  if (tbs === undefined) throw new TypeError(`${where}: CRL without its signed part`);
  const revoked = new Map<string, RevokedCertificate>();
  // OpenSSL (x_crl.c) handles these critical CRL extensions; any other makes the CRL unusable, as does a
  // critical entry extension other than certificateIssuer.
  let unhandledCritical = extensions.some((e) => e.critical && e.type !== ID_CE_AUTHORITY_KEY_IDENTIFIER);
  for (const entry of crl.revokedCertificates) {
    if (entry.crlEntryExtensions?.some((e) => e.critical && e.extnID !== ID_CE_CERTIFICATE_ISSUER)) unhandledCritical = true;
    revoked.set(normalizeSerial(Buffer.from(entry.userCertificate).toString('hex')), entry);
  }
  const aki = crl.getExtension(x509.AuthorityKeyIdentifierExtension);
  return {
    issuer: canonicalName(issuer),
    akid: aki === null ? undefined : { keyId: aki.keyId?.toLowerCase(), serial: aki.certId === undefined ? undefined : normalizeSerial(aki.certId.serialNumber) },
    thisUpdate: crl.thisUpdate.getTime(),
    nextUpdate: crl.nextUpdate?.getTime(),
    unhandledCritical,
    revoked,
    tbs: Buffer.from(tbs),
    signature: Buffer.from(crl.signature),
    algorithm: crl.signatureAlgorithm as CrlInfo['algorithm'],
    signedBy: new WeakMap(),
  };
}

/**
 * asn1js's default limit (10 000 nodes) stops a CRL at ~1 200 entries, and CA CRLs hold tens of
 * thousands. Every node takes at least 2 bytes, so the size bounds the count.
 */
function crlParseOptions(der: Buffer): { berOptions: { maxNodes: number; maxContentLength: number } } {
  return { berOptions: { maxNodes: Math.max(10_000, der.length), maxContentLength: Math.max(16 * 1024 * 1024, der.length) } };
}

/** OpenSSL `ossl_x509_likely_issued()`: issuer name matches and the AKID (if any) names the issuer's key / serial. */
function likelyIssued(issuer: CertInfo, subject: CertInfo): boolean {
  return issuer.subject === subject.issuer && akidMatches(subject.akid, issuer);
}

/** OpenSSL `X509_check_akid()` (key identifier and serial; authorityCertIssuer is not compared). */
function akidMatches(akid: AuthorityKeyId | undefined, issuer: CertInfo): boolean {
  if (akid === undefined) return true;
  if (akid.keyId !== undefined && issuer.skid !== undefined && akid.keyId !== issuer.skid) return false;
  return akid.serial === undefined || akid.serial === issuer.serial;
}

function isSelfSigned(c: CertInfo): boolean {
  return likelyIssued(c, c);
}

function signs(issuer: CertInfo, subject: CertInfo): boolean {
  try {
    return subject.x.verify(issuer.x.publicKey);
  } catch {
    return false;
  }
}

/** Approximates OpenSSL's canonical name comparison (case- and whitespace-insensitive values). */
function canonicalName(name: x509.Name): string {
  return name.toString().toLowerCase().replace(/\s+/g, ' ').trim();
}

function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '');
}

function pemDers(pem: string | Buffer, label: string, where: string): Buffer[] {
  const parsed = parsePem(typeof pem === 'string' ? pem : pem.toString('latin1'));
  if (!parsed.ok) throw new TypeError(`${where}: ${parsed.reason}`);
  const blocks = parsed.blocks.filter((b) => b.label === label);
  if (blocks.length === 0) {
    const other = parsed.blocks.find((b) => b.label === 'CRL' && label === 'X509 CRL');
    throw new TypeError(
      other !== undefined
        ? `${where} labels its CRL "BEGIN CRL"; OpenSSL (and so the TLS listener) reads only "BEGIN X509 CRL"`
        : `${where} holds no "BEGIN ${label}" block`,
    );
  }
  return blocks.map((b) => b.der);
}
