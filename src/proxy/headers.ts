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

/**
 * Headers the gateway sets itself on some route besides the configurable identity headers, plus the
 * proxy headers it replaces (SPEC §4: client-sent `forwarded` and `x-real-ip` are never passed on).
 * Every `x-forwarded-*` name is dropped by prefix (DroppedRequestHeaders), not listed here.
 */
const GATEWAY_SET = ['forwarded', 'x-real-ip', 'x-jws-verified', 'x-jws-jti', 'x-dcr-verified'] as const;

/**
 * Headers some frameworks read as another URL or method (IIS `x-original-url`, Symfony, method-override
 * middleware): what the gateway routed and checked must be what the upstream serves.
 */
const OVERRIDES = ['x-original-url', 'x-rewrite-url', 'x-http-method-override', 'x-http-method', 'x-method-override'] as const;

/**
 * Which inbound request headers never reach the upstream (SPEC §4): by name, hop-by-hop and
 * client-certificate headers and every name the gateway sets on any route (so `x-org-id` cannot be
 * spoofed); by shape, names with an underscore and every `x-forwarded-*` name. Each name's verdict
 * is cached, so a request pays one map lookup per header, as a plain name set would cost.
 */
export class DroppedRequestHeaders {
  readonly #names: ReadonlySet<string>;
  readonly #verdicts = new Map<string, boolean>();

  constructor(names: Iterable<string>) {
    this.#names = new Set(names);
  }

  /** Whether the (lower-case, as Node parses it) request header `name` is dropped. */
  has(name: string): boolean {
    let dropped = this.#verdicts.get(name);
    if (dropped === undefined) {
      dropped = this.#names.has(name) || !forwardableName(name);
      // Bounded in entries and in name length: a client inventing names fills it once (at most
      // 1024 × 64 bytes), then only pays the check itself.
      if (this.#verdicts.size < VERDICT_CACHE_SIZE && name.length <= VERDICT_NAME_LENGTH) this.#verdicts.set(name, dropped);
    }
    return dropped;
  }
}

/** Distinct header names whose verdict is remembered, per forwarder. */
const VERDICT_CACHE_SIZE = 1024;
/** Longest header name whose verdict is remembered. */
const VERDICT_NAME_LENGTH = 64;

/** The request headers a forwarder drops: see {@link DroppedRequestHeaders}; `extra` adds names. */
export function strippedRequestHeaders(names: UpstreamHeaders, extra: readonly string[] = []): DroppedRequestHeaders {
  return new DroppedRequestHeaders([...HOP_BY_HOP, ...CLIENT_CERT_HEADERS, ...GATEWAY_SET, ...OVERRIDES, ...Object.values(names), ...extra]);
}

/**
 * A copy of the client's `inbound` headers for the upstream, without the `dropped` ones (see
 * {@link DroppedRequestHeaders}) and those named in `Connection` (RFC 9110 §7.6.1). Copying the few
 * wanted headers is cheaper than deleting the many unwanted ones.
 */
export function filterHeaders(inbound: IncomingHttpHeaders, dropped: DroppedRequestHeaders): IncomingHttpHeaders {
  const listed = connectionTokens(inbound.connection);
  const headers: IncomingHttpHeaders = {};
  for (const name in inbound) {
    if (dropped.has(name) || (listed !== undefined && listed.includes(name))) continue;
    headers[name] = inbound[name];
  }
  return headers;
}

const X_FORWARDED = 'x-forwarded-';

/**
 * SPEC §4, by shape: a name with an underscore is dropped (request hygiene: CGI, WSGI, Rack and PHP
 * read `x_org_id` as `x-org-id`; nginx's `underscores_in_headers off`), and so is every
 * `x-forwarded-*` (replaced by the gateway's own, never passed on).
 */
function forwardableName(name: string): boolean {
  return !name.includes('_') && !name.startsWith(X_FORWARDED);
}

/** The lower-case field names a `Connection` header lists (RFC 9110 §7.6.1), or undefined when there is none. */
function connectionTokens(connection: string | undefined): string[] | undefined {
  return typeof connection === 'string' ? connection.toLowerCase().split(',').map((n) => n.trim()) : undefined;
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
  /** The host (and port, if not 443) of `server.publicBaseUrl`, when set: the x-forwarded-host. */
  publicHost: string | undefined = undefined,
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
    // SPEC §9: the registration request passed the DCR guard.
    if (ofb.dcrVerified) headers['x-dcr-verified'] = 'true';
    const inbound = request.headers['x-forwarded-for'];
    headers['x-forwarded-for'] =
      trustedProxy !== undefined && typeof inbound === 'string' && inbound !== '' && trustedProxy(request.ip) ? `${inbound}, ${request.ip}` : request.ip;
    headers['x-forwarded-proto'] = 'https';
    // SPEC §4: the host clients are told to use when configured, else the Host they sent (the one
    // the request was routed on; more than one Host is refused before routing).
    const host = publicHost ?? request.headers.host;
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
    // SPEC §4: the upstream's own headers pass through unchanged, but for hop-by-hop ones.
    const listed = connectionTokens(inbound.connection);
    const headers: IncomingHttpHeaders = {};
    for (const name in inbound) {
      if (stripped.has(name) || (listed !== undefined && listed.includes(name))) continue;
      headers[name] = inbound[name];
    }
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
