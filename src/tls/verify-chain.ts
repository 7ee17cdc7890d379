/**
 * Client-certificate verification for ingress mode (SPEC §3): the proxy terminated TLS and sent the
 * leaf in a header, so the gateway verifies it itself — and must refuse exactly what its own TLS
 * listener refuses, "the chain's name constraints included". This module reproduces OpenSSL 3.0's
 * `X509_verify_cert` as Node drives it for a server with `ca` + `crl` (verify parameters
 * "ssl_client": purpose SSL client, no policy check, no partial chains; with CRLs
 * `X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL`), down to the verify code the listener's
 * socket would carry. Parity is asserted case by case against a real TLS socket in
 * test/tls/verify-chain.test.ts.
 *
 * How OpenSSL arrives at *one* code matters: Node's verify callback accepts every error so that
 * the handshake completes and the route decides, so OpenSSL runs every check and the code left is
 * the LAST one raised, in this order:
 *   1. chain building (issuer lookup in the trust store only: the header carries the leaf alone);
 *   2. extensions, per certificate from the leaf up: unhandled critical extension, proxy
 *      certificate, CA flag, purpose (clientAuth EKU, digitalSignature/keyAgreement KU on the
 *      leaf), path length;
 *   3. revocation (chain-crl.ts), per certificate from the leaf up *including the root*;
 *   4. signatures and validity, from the root down to the leaf;
 *   5. name constraints (name-constraints.ts), each certificate against every one above it.
 * So an expired *and* revoked leaf is CERT_HAS_EXPIRED, an expired leaf outside its issuer's name
 * constraints is PERMITTED_VIOLATION, and a non-CA intermediate is INVALID_PURPOSE.
 *
 * Evaluated: everything above; RFC 5280 §4.2.1.10 name constraints (dNSName, rfc822Name,
 * directoryName, URI, iPAddress; other constraint types fail closed where they meet a name of
 * their type); malformed or repeated extensions that OpenSSL decodes up front (basicConstraints,
 * keyUsage, extKeyUsage, key identifiers, subjectAltName, nameConstraints, cRLDistributionPoints)
 * make a certificate unusable, as in OpenSSL.
 *
 * Certificate policies: certificatePolicies, policyConstraints, policyMappings and inhibitAnyPolicy
 * are understood (critical is fine) and NOT evaluated — exactly OpenSSL's default, which builds no
 * policy tree without X509_V_FLAG_POLICY_CHECK and so accepts requireExplicitPolicy with no policy,
 * or a critical certificatePolicies that does not even decode (both asserted against the listener).
 *
 * Not evaluated (OpenSSL would): the key-size and digest strength of the security level, Netscape
 * cert types, AKID authorityCertIssuer, RFC 3779 address and AS blocks. CRLs with an
 * issuingDistributionPoint (partitioned/scoped) or delta CRLs are refused when the store is built,
 * not silently applied to certificates they may not cover; so are CA certificates that
 * @peculiar/asn1-x509 cannot read.
 *
 * Codes are OpenSSL's names. Node names only some of them and reports the others (name-constraint
 * codes, UNHANDLED_CRITICAL_EXTENSION, KEYUSAGE_NO_CERTSIGN, ...) as "UNSPECIFIED"; here they keep
 * their name.
 */
import { X509Certificate } from 'node:crypto';
import { x509 } from '../x509.js';
import { checkRevocation, crlPemFromDer, inspectCrl, type CrlInfo, type RevocationCode } from './chain-crl.js';
import { inspect, isSelfSigned, kuRejects, likelyIssued, signs, type CertInfo } from './chain-facts.js';
import { checkNameConstraints, type NameConstraintCode } from './name-constraints.js';
import { parsePem } from './pem.js';

export { crlPemFromDer };

/** OpenSSL verify codes (`X509_V_ERR_*` without the prefix), plus CERT_UNPARSABLE for input that is not a certificate. */
export type VerifyCode =
  | 'UNABLE_TO_GET_ISSUER_CERT'
  | 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'
  | 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
  | 'DEPTH_ZERO_SELF_SIGNED_CERT'
  | 'CERT_CHAIN_TOO_LONG'
  | 'UNHANDLED_CRITICAL_EXTENSION'
  | 'PROXY_CERTIFICATES_NOT_ALLOWED'
  | 'INVALID_CA'
  | 'INVALID_PURPOSE'
  | 'PATH_LENGTH_EXCEEDED'
  | RevocationCode
  | 'KEYUSAGE_NO_CERTSIGN'
  | 'KEYUSAGE_NO_DIGITAL_SIGNATURE'
  | 'CERT_SIGNATURE_FAILURE'
  | 'CERT_NOT_YET_VALID'
  | 'CERT_HAS_EXPIRED'
  | NameConstraintCode
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

/**
 * Builds a trust store from the contents of PEM files: CA files may hold several certificates
 * (roots and intermediates), CRL files several CRLs.
 *
 * @throws TypeError when a file holds no certificate/CRL, a block does not parse, a CA certificate
 *   has an extension OpenSSL would find invalid, no CA is given, or a CRL is a kind this module
 *   does not evaluate (delta, issuingDistributionPoint).
 */
export function createTrustStore(caPems: readonly (string | Buffer)[], crlPems: readonly (string | Buffer)[]): TrustStore {
  const infos: CertInfo[] = [];
  caPems.forEach((pem, i) => {
    for (const der of pemDers(pem, 'CERTIFICATE', `CA file #${i + 1}`)) infos.push(inspectCa(der, `CA file #${i + 1}`));
  });
  if (infos.length === 0) throw new TypeError('no CA certificate configured: nothing could be trusted');
  const crls: CrlInfo[] = [];
  crlPems.forEach((pem, i) => {
    for (const der of pemDers(pem, 'X509 CRL', `CRL file #${i + 1}`)) crls.push(inspectCrl(der, `CRL file #${i + 1}`));
  });
  return new Store(infos, crls);
}

/**
 * Verifies a DER client certificate against `store` at `now`, as OpenSSL would on the mTLS listener.
 * Synchronous and side-effect free; callers cache the result per certificate hash (and drop the
 * cache when the store is rebuilt).
 */
export function verifyClientCertificate(der: Buffer, store: TrustStore, now: Date = new Date()): VerifyResult {
  if (!(store instanceof Store)) throw new TypeError('store must come from createTrustStore()');
  let leaf: CertInfo;
  try {
    leaf = inspect(new X509Certificate(der));
  } catch {
    return { ok: false, code: 'CERT_UNPARSABLE' };
  }
  // OpenSSL compares times in whole seconds (time_t).
  const t = Math.floor(now.getTime() / 1000) * 1000;
  const errors: VerifyCode[] = [];
  const chain = buildChain(leaf, store, t, errors);
  checkExtensions(chain, errors);
  if (store.crls.length > 0) checkRevocation(chain, store.crls, t, errors);
  checkSignaturesAndTimes(chain, t, errors);
  checkNameConstraints(chain, errors);
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

// ---- 2. Extensions (OpenSSL check_extensions) ----------------------------------------------------

function checkExtensions(chain: readonly CertInfo[], errors: VerifyCode[]): void {
  let belowCas = 0; // non-self-issued CA certificates between the current one and the leaf
  chain.forEach((c, i) => {
    if (c.unhandledCritical) errors.push('UNHANDLED_CRITICAL_EXTENSION');
    // RFC 3820 proxy certificates are refused unless X509_V_FLAG_ALLOW_PROXY_CERTS, which Node never sets.
    if (c.proxy) errors.push('PROXY_CERTIFICATES_NOT_ALLOWED');
    const level = caLevel(c);
    // An issuer must be a CA; below the top, by basicConstraints cA:TRUE only (RFC 5280 §6.1.4 (k)).
    if (i > 0 && (level === 0 || (i < chain.length - 1 && level !== 1))) errors.push('INVALID_CA');
    // Purpose "SSL client" (X509_PURPOSE_SSL_CLIENT): clientAuth if an EKU is present, for every certificate;
    // the leaf's keyUsage must allow a signature or key agreement, an issuer must be a CA. An invalid
    // certificate has no purpose.
    const ekuOk = c.extKeyUsage === undefined || c.extKeyUsage.includes(CLIENT_AUTH);
    const purposeOk = !c.invalid && ekuOk && (i === 0 ? !kuRejects(c, KU.digitalSignature | KU.keyAgreement) : level !== 0);
    if (!purposeOk) errors.push('INVALID_PURPOSE');
    // RFC 5280 §4.2.1.9 pathLenConstraint: self-issued certificates below do not count.
    if (i > 1 && c.pathLength !== undefined && belowCas > c.pathLength) errors.push('PATH_LENGTH_EXCEEDED');
    if (i > 0 && !c.selfIssued) belowCas++;
  });
}

/** OpenSSL `check_ca()`: 0 = not a CA; 1 = basicConstraints cA; 3 = v1 self-signed root; 4 = keyCertSign without basicConstraints. */
function caLevel(c: CertInfo): number {
  if (kuRejects(c, KU.keyCertSign)) return 0;
  if (c.isCa !== undefined) return c.isCa ? 1 : 0;
  if (c.v1 && c.selfIssued) return 3;
  return c.keyUsage !== undefined ? 4 : 0;
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
      // The trust anchor's self-signature is not checked (it is trusted as configured). RFC 5280
      // §6.1.4 (n): the issuer's keyUsage must allow keyCertSign (RFC 3820 §4.1: digitalSignature for a proxy).
      if (subject.proxy && kuRejects(issuer, KU.digitalSignature)) errors.push('KEYUSAGE_NO_DIGITAL_SIGNATURE');
      if (!subject.proxy && kuRejects(issuer, KU.keyCertSign)) errors.push('KEYUSAGE_NO_CERTSIGN');
      if (!signs(issuer, subject)) errors.push('CERT_SIGNATURE_FAILURE');
    }
    if (subject.notBefore > t) errors.push('CERT_NOT_YET_VALID');
    if (subject.notAfter <= t) errors.push('CERT_HAS_EXPIRED');
    if (--n < 0) return;
    issuer = subject;
    subject = chain[n] as CertInfo;
  }
}

// ---- Trust store input --------------------------------------------------------------------------

function inspectCa(der: Buffer, where: string): CertInfo {
  let info: CertInfo;
  try {
    info = inspect(new X509Certificate(der));
  } catch (err) {
    throw new TypeError(`${where} holds a certificate that does not parse: ${(err as Error).message}`);
  }
  // OpenSSL would load it and never use it as an issuer: say so at start-up instead.
  if (info.invalid) throw new TypeError(`${where} holds a certificate with a malformed or repeated extension, which OpenSSL (and so the TLS listener) cannot use as an issuer`);
  return info;
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
