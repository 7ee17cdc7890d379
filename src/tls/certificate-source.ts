/**
 * Where a request's client certificate comes from (SPEC §3): the TLS connection it arrived on,
 * or — in ingress mode — a header set by a TLS-terminating proxy, accepted only from
 * `trustedProxies` and verified by the gateway itself against the same trust anchors and CRLs.
 */
import { readFileSync } from 'node:fs';
import { trustedProxyMatcher } from '../edge/trusted-proxies.js';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import {
  ABSENT,
  UNPARSEABLE,
  describeVerifyError,
  identityOf,
  rejectedCertificate,
  socketCertificate,
  type CertificateState,
} from './client-certificate.js';
import { decodeCertificateHeader } from './certificate-header.js';
import { thumbprintOf } from './identity.js';
import { createTrustStore, verifyClientCertificate, type TrustStore } from './verify-chain.js';

export type CertificateSource = (request: FastifyRequest) => CertificateState;

/** The certificate presented in this request's TLS handshake. */
export const socketSource: CertificateSource = (request) => socketCertificate(request.raw.socket as TLSSocket);

export interface IngressSettings {
  readonly header: string;
  readonly trustedProxies: readonly string[];
  readonly clientCa: readonly string[];
  readonly crl: readonly string[];
}

/** A certificate source for the ingress listener; `reload()` re-reads the CA and CRL files. */
export interface IngressSource {
  readonly source: CertificateSource;
  /** Whether a peer address is one of `trustedProxies`. */
  readonly trusts: (ip: string) => boolean;
  /** Rebuild the trust store (files re-read; `crls` replaces the fetched CRLs when given). */
  reload(crls?: readonly string[]): void;
}

export function ingressSource(settings: IngressSettings): IngressSource {
  const trusts = trustedProxyMatcher(settings.trustedProxies);
  let fetchedCrls: readonly string[] = [];
  const load = (): TrustStore =>
    createTrustStore(settings.clientCa.map((f) => readFileSync(f)), [...settings.crl.map((f) => readFileSync(f)), ...fetchedCrls]);
  let store = load();
  // Verification results by certificate hash: a proxy sends the same few certificates all day.
  let verified = new LRUCache<string, CertificateState>({ max: 10_000, ttl: 60_000 });
  const header = settings.header;

  const source: CertificateSource = (request) => {
    const value = request.headers[header];
    if (value === undefined) return ABSENT;
    if (!trusts(request.socket.remoteAddress ?? '')) {
      // SPEC §3: from anywhere but a trusted proxy, the header is an attack.
      return { status: 'rejected', reason: `${header} is only accepted from a trusted proxy` };
    }
    const decoded = decodeCertificateHeader(header, value);
    if (decoded === undefined) return ABSENT;
    if (!decoded.ok) return { status: 'rejected', reason: `${header}: ${decoded.reason}`, cause: decoded.cause };
    const key = thumbprintOf(decoded.der);
    let state = verified.get(key);
    if (state === undefined) {
      const result = verifyClientCertificate(decoded.der, store);
      state = result.ok ? verifiedState(decoded.der) : rejectedCertificate(describeVerifyError(result.code), decoded.der);
      verified.set(key, state);
    }
    return state;
  };

  return {
    source,
    trusts,
    reload(crls = fetchedCrls) {
      const previous = fetchedCrls;
      fetchedCrls = crls;
      try {
        store = load();
      } catch (err) {
        fetchedCrls = previous;
        throw err;
      }
      verified = new LRUCache<string, CertificateState>({ max: 10_000, ttl: 60_000 });
    },
  };
}

function verifiedState(der: Buffer): CertificateState {
  try {
    return { status: 'verified', identity: identityOf(der), der };
  } catch (err) {
    return { status: 'rejected', reason: UNPARSEABLE, cause: err };
  }
}

/**
 * While a configured CRL URL has never been fetched, a presented certificate's revocation status is
 * unknown: refuse it rather than accept it unchecked (fail closed).
 */
export function revocationGuard(source: CertificateSource, known: () => boolean): CertificateSource {
  return (request) => {
    const state = source(request);
    if (state.status !== 'verified' || known()) return state;
    return rejectedCertificate('client certificate revocation status is unknown (a configured CRL could not be fetched yet)', state.der);
  };
}
