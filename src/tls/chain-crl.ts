/**
 * Revocation for chain verification (verify-chain.ts), as OpenSSL 3 checks it with
 * `X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL` (RFC 5280 §6.3, full CRLs only).
 */
import { constants, verify as verifySignature, type KeyObject, type X509Certificate } from 'node:crypto';
import type { Name, RevokedCertificate } from '@peculiar/asn1-x509';
import { x509 } from '../x509.js';
import { akidMatches, kuRejects, normalizeSerial, type AuthorityKeyId, type CertInfo } from './chain-facts.js';
import { canonicalName } from './general-names.js';

/** OpenSSL verify codes raised by the revocation check. */
export type RevocationCode = 'UNABLE_TO_GET_CRL' | 'KEYUSAGE_NO_CRL_SIGN' | 'CRL_NOT_YET_VALID' | 'CRL_HAS_EXPIRED' | 'CRL_SIGNATURE_FAILURE' | 'UNHANDLED_CRITICAL_CRL_EXTENSION' | 'CERT_REVOKED';

export interface CrlInfo {
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

const ID_CE_ISSUING_DISTRIBUTION_POINT = '2.5.29.28';
const ID_CE_DELTA_CRL_INDICATOR = '2.5.29.27';
const ID_CE_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
const ID_CE_CERTIFICATE_ISSUER = '2.5.29.29';
const KU = x509.KeyUsageFlags;

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
  /** The issuer as an ASN.1 Name, for OpenSSL's canonical comparison. */
  get issuerAsn(): Name {
    return this.asn.tbsCertList.issuer;
  }
}

/** Parses a DER CRL. @throws TypeError (naming `where`) when it does not parse or is a kind this module does not evaluate. */
export function inspectCrl(der: Buffer, where: string): CrlInfo {
  let crl: RawCrl;
  try {
    crl = parseCrl(der);
  } catch (err) {
    throw new TypeError(`${where} holds a CRL that does not parse: ${(err as Error).message}`);
  }
  const issuer = crl.issuerName;
  const extensions = crl.extensions;
  const types = new Set(extensions.map((e) => e.type));
  if (types.has(ID_CE_ISSUING_DISTRIBUTION_POINT)) {
    throw new TypeError(`${where}: the CRL of "${issuer.toString()}" has an issuingDistributionPoint (partitioned or scoped CRL), which ingress verification does not evaluate; configure the full CRL`);
  }
  if (types.has(ID_CE_DELTA_CRL_INDICATOR)) throw new TypeError(`${where}: the CRL of "${issuer.toString()}" is a delta CRL; configure the full CRL`);
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
    issuer: canonicalName(crl.issuerAsn),
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

/** PEM ("X509 CRL", the label OpenSSL and Node's `crl` option read) for a CRL fetched as DER. @throws TypeError if `der` is not a CRL. */
export function crlPemFromDer(der: Buffer): string {
  try {
    parseCrl(der);
  } catch (err) {
    throw new TypeError(`not a DER-encoded CRL: ${(err as Error).message}`);
  }
  return x509.PemConverter.encode(der, 'X509 CRL');
}

/**
 * asn1js's default limit (10 000 nodes) stops a CRL at ~1 200 entries, and CA CRLs hold tens of
 * thousands. Every node takes at least 2 bytes, so the size bounds the count.
 */
function parseCrl(der: Buffer): RawCrl {
  return new RawCrl(der, { berOptions: { maxNodes: Math.max(10_000, der.length), maxContentLength: Math.max(16 * 1024 * 1024, der.length) } });
}

/** RFC 5280 §6.3 via OpenSSL `check_revocation()`: every certificate of the chain, the root included, in leaf-first order. */
export function checkRevocation(chain: readonly CertInfo[], crls: readonly CrlInfo[], t: number, errors: { push(code: RevocationCode): unknown }): void {
  chain.forEach((c, i) => {
    // The CRL issuer is the next certificate up; the top of the chain is its own.
    const crlIssuer = chain[i + 1] ?? c;
    const crl = selectCrl(crls, c, crlIssuer, t);
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
function selectCrl(crls: readonly CrlInfo[], subject: CertInfo, crlIssuer: CertInfo, t: number): CrlInfo | undefined {
  let best: CrlInfo[] = [];
  let bestScore = -1;
  for (const crl of crls) {
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
