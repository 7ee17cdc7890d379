/**
 * The client certificate of a request, from the TLS connection it arrived on (SPEC §3).
 * Verification is OpenSSL's, against `server.tls.clientCa` and the CRLs; the OFB identity is parsed
 * once per connection and once per distinct certificate (bounded cache), never per request.
 */
import type { TLSSocket } from 'node:tls';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { LRUCache } from 'lru-cache';
import { identityFromDer, rfc4514Dn, thumbprintOf, type ClientIdentity } from './identity.js';

/** The public detail when a verified certificate's DER cannot be read for its identity. */
export const UNPARSEABLE = 'the client certificate could not be parsed as an X.509 certificate';

/** Who a refused certificate names, for the log line (SPEC §7): never sent to the client. */
export interface CertificateNames {
  /** Subject DN in the OFB RFC 4514 form (what `guarita dn` prints). */
  readonly subject: string;
  /** Issuer DN, same form. */
  readonly issuer: string;
  /** Serial number, upper-case hex (as OpenSSL prints it). */
  readonly serial: string;
}

export type CertificateState =
  | { readonly status: 'absent' }
  /**
   * `reason` is the public detail (never a library's text); `cause` and `certificate` (the refused
   * certificate's names, when it could be parsed) only go to the logs.
   */
  | { readonly status: 'rejected'; readonly reason: string; readonly cause?: unknown; readonly certificate?: CertificateNames }
  | { readonly status: 'verified'; readonly identity: ClientIdentity; readonly der: Buffer };

/** No certificate presented (shared, frozen). */
export const ABSENT: CertificateState = Object.freeze({ status: 'absent' });
const kState = Symbol('guarita.clientCertificate');
type SocketWithState = TLSSocket & { [kState]?: CertificateState };

/** Identities by SHA-256 of the DER: thousands of connections share a handful of certificates. */
const identities = new LRUCache<string, ClientIdentity>({ max: 10_000 });

/** The certificate state of a TLS connection, computed on its first request only. */
export function socketCertificate(socket: TLSSocket): CertificateState {
  const s = socket as SocketWithState;
  let state = s[kState];
  if (state === undefined) {
    state = computeState(socket);
    s[kState] = state;
  }
  return state;
}

function computeState(socket: TLSSocket): CertificateState {
  // getPeerCertificate(false) is ~3× cheaper per new connection than getPeerX509Certificate()
  // (measured: 49 vs 150 µs); it returns an empty object when the client sent no certificate.
  const der = typeof socket.getPeerCertificate === 'function' ? (socket.getPeerCertificate(false) as { raw?: Buffer }).raw : undefined;
  if (der === undefined) return ABSENT;
  if (!socket.authorized) {
    return rejectedCertificate(describeVerifyError(socket.authorizationError), der);
  }
  try {
    return { status: 'verified', identity: identityOf(der), der };
  } catch (err) {
    return { status: 'rejected', reason: UNPARSEABLE, cause: err };
  }
}

/** A refusal of certificate `der`, naming it for the logs when it parses (refusals only: not the hot path). */
export function rejectedCertificate(reason: string, der: Uint8Array): CertificateState {
  const certificate = certificateNames(der);
  return certificate === undefined ? { status: 'rejected', reason } : { status: 'rejected', reason, certificate };
}

/** Subject, issuer and serial of a DER certificate; undefined when it is not one. */
export function certificateNames(der: Uint8Array): CertificateNames | undefined {
  try {
    const tbs = AsnConvert.parse(der, Certificate).tbsCertificate;
    let serial = Buffer.from(tbs.serialNumber);
    // DER INTEGER: a leading zero byte only keeps a positive number positive.
    if (serial.length > 1 && serial[0] === 0) serial = serial.subarray(1);
    return { subject: rfc4514Dn(tbs.subject), issuer: rfc4514Dn(tbs.issuer), serial: serial.toString('hex').toUpperCase() };
  } catch {
    return undefined;
  }
}

/** Parse (or fetch from the cache) the OFB identity of a DER certificate. */
export function identityOf(der: Buffer): ClientIdentity {
  const key = thumbprintOf(der);
  let identity = identities.get(key);
  if (identity === undefined) {
    identity = Object.freeze(identityFromDer(der));
    identities.set(key, identity);
  }
  return identity;
}

/** OpenSSL verify codes → words an integrator can act on. */
export function describeVerifyError(error: Error | string | null | undefined): string {
  const code = typeof error === 'string' ? error : ((error as { code?: string } | null | undefined)?.code ?? error?.message ?? 'UNKNOWN');
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return 'client certificate has expired';
    case 'CERT_NOT_YET_VALID':
      return 'client certificate is not yet valid';
    case 'CERT_REVOKED':
      return 'client certificate has been revoked';
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return 'client certificate is not issued by a trusted certificate authority';
    case 'UNABLE_TO_GET_CRL':
      return 'client certificate revocation status is unknown (no CRL for its issuer)';
    case 'CRL_HAS_EXPIRED':
      return 'client certificate revocation status is unknown (the CRL has expired)';
    case 'INVALID_PURPOSE':
      return 'client certificate is not valid for TLS client authentication (key usage or extended key usage)';
    case 'INVALID_CA':
    case 'KEYUSAGE_NO_CERTSIGN':
      return 'client certificate chain has an issuer that is not a certificate authority';
    case 'CERT_SIGNATURE_FAILURE':
      return 'client certificate signature does not verify';
    case 'CRL_SIGNATURE_FAILURE':
      return 'client certificate revocation status is unknown (a CRL signature does not verify)';
    case 'PERMITTED_VIOLATION':
    case 'EXCLUDED_VIOLATION':
      return 'client certificate names are outside the name constraints of its issuing chain (RFC 5280 §4.2.1.10)';
    case 'UNHANDLED_CRITICAL_EXTENSION':
      return 'client certificate chain carries a critical extension that cannot be evaluated';
    default:
      // Only an OpenSSL-style code, never a library's message text (SPEC §3).
      return `client certificate failed verification (${/^[A-Z0-9_]{1,64}$/.test(code) ? code : 'UNKNOWN'})`;
  }
}
