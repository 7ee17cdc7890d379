/**
 * Header hygiene (SPEC §4): what is stripped from the client's request, what the gateway adds for
 * the upstream, and what is stripped from the upstream's response.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { UpstreamHeaders } from '../config/schema.js';
import type { OfbContext } from '../context.js';

/** The parts of a Fastify request the rewriters read. */
interface ProxiedRequest {
  readonly ofb: OfbContext;
  readonly ip: string;
  readonly headers: { readonly host?: string | undefined; readonly 'x-forwarded-for'?: string | string[] | undefined };
}

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the legacy ones proxies still see. */
export const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'] as const;

/** Client-certificate headers a client could use to impersonate another (SPEC §3 ingress mode). */
export const CLIENT_CERT_HEADERS = ['x-ssl-client-cert', 'x-forwarded-client-cert', 'x-client-cert', 'ssl-client-cert', 'x-amzn-mtls-clientcert'] as const;

/** Headers the gateway sets itself on some route besides the configurable identity headers. */
const GATEWAY_SET = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'forwarded', 'x-jws-verified', 'x-jws-jti'] as const;

/**
 * Every inbound header the gateway removes before forwarding: hop-by-hop, client-certificate
 * headers, and every header name the gateway sets on any route (so `x-org-id` cannot be spoofed).
 */
export function strippedRequestHeaders(names: UpstreamHeaders, extra: readonly string[] = []): ReadonlySet<string> {
  return new Set<string>([...HOP_BY_HOP, ...CLIENT_CERT_HEADERS, ...GATEWAY_SET, ...Object.values(names), ...extra]);
}

/**
 * A copy of `inbound` without the `stripped` names and without those named in `Connection`
 * (RFC 9110 §7.6.1). Copying the few wanted headers is cheaper than deleting the many unwanted ones.
 */
export function filterHeaders(inbound: IncomingHttpHeaders, stripped: ReadonlySet<string>): IncomingHttpHeaders {
  const connection = inbound.connection;
  const listed = typeof connection === 'string' ? connection.toLowerCase().split(',').map((n) => n.trim()) : undefined;
  const headers: IncomingHttpHeaders = {};
  for (const name in inbound) {
    if (stripped.has(name) || (listed !== undefined && listed.includes(name))) continue;
    headers[name] = inbound[name];
  }
  return headers;
}

/**
 * Build the function that sets, on the forwarder's filtered copy of the headers, the identity the
 * checks established (SPEC §4).
 */
export function requestHeaderRewriter(
  names: UpstreamHeaders,
  forwardClientCert: boolean,
  /** Ingress mode: peers whose own x-forwarded-for is kept (and appended to); anyone else's is replaced. */
  trustedProxy: ((ip: string) => boolean) | undefined = undefined,
) {
  return function rewriteRequestHeaders(request: ProxiedRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders {
    const ofb = request.ofb;
    headers[names.interactionId] = ofb.interactionId;
    const id = ofb.identity;
    if (id !== undefined) {
      if (id.orgId !== undefined) headers[names.orgId] = id.orgId;
      if (id.softwareId !== undefined) headers[names.softwareId] = id.softwareId;
      headers[names.certThumbprint] = id.thumbprint;
      if (forwardClientCert && ofb.certificateDer !== undefined) headers[names.clientCert] = encodeURIComponent(toPem(ofb.certificateDer));
    }
    if (ofb.clientId !== undefined) headers[names.clientId] = ofb.clientId;
    if (ofb.consentId !== undefined) headers[names.consentId] = ofb.consentId;
    if (ofb.scope !== undefined) headers[names.tokenScope] = ofb.scope;
    // SPEC §2: the body's signature, claims and jti were verified by the gateway.
    if (ofb.jwsJti !== undefined) {
      headers['x-jws-verified'] = 'true';
      headers['x-jws-jti'] = ofb.jwsJti;
    }
    const inbound = request.headers['x-forwarded-for'];
    headers['x-forwarded-for'] =
      trustedProxy !== undefined && typeof inbound === 'string' && inbound !== '' && trustedProxy(request.ip) ? `${inbound}, ${request.ip}` : request.ip;
    headers['x-forwarded-proto'] = 'https';
    const host = request.headers.host;
    if (host !== undefined) headers['x-forwarded-host'] = host;
    return headers;
  };
}

/**
 * Response side: a copy without hop-by-hop headers (and those named in `Connection`), with the
 * interaction id set (copying, as on the request side: deleting keys turns V8 objects into slow
 * dictionaries that Fastify then iterates).
 */
export function responseHeaderRewriter() {
  const stripped: ReadonlySet<string> = new Set<string>([...HOP_BY_HOP, 'x-fapi-interaction-id']);
  return function rewriteHeaders(inbound: IncomingHttpHeaders, request?: ProxiedRequest): IncomingHttpHeaders {
    const headers = filterHeaders(inbound, stripped);
    // SPEC §1: every response carries the request's interaction id, whatever the upstream sent.
    if (request !== undefined) {
      headers['x-fapi-interaction-id'] = request.ofb.interactionId;
      request.ofb.upstreamMs = performance.now() - request.ofb.forwardedAt;
    }
    return headers;
  };
}

/** PEM text of a DER certificate (what nginx-ingress and AS `tls_client_auth` expect, URL-encoded). */
export function toPem(der: Buffer): string {
  const b64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
