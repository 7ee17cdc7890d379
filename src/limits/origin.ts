/**
 * SPEC §10 per-minute "origin": the certificate's org_id on routes that require a client
 * certificate (operations.md: "the calling institution (organisationId) for authenticated ones"),
 * the client IP on the others — behind a trusted ingress proxy, the address it appended to
 * `x-forwarded-for` (the last entry: anything before it was written by the client and proves nothing).
 */
import type { FastifyRequest } from 'fastify';
import type { Config, Route } from '../config/load.js';
import { trustedProxyMatcher } from '../edge/trusted-proxies.js';

/** Build the origin function of one route; the trusted proxies are parsed once. */
export function originOf(route: Route, config: Config): (request: FastifyRequest) => string {
  const cidrs = config.server.ingress?.trustedProxies ?? [];
  const trusted = cidrs.length === 0 ? undefined : trustedProxyMatcher(cidrs);
  const clientIp = (request: FastifyRequest): string => {
    const peer = request.socket.remoteAddress ?? '';
    // Only the plain ingress listener sits behind a proxy; on the TLS listener the peer is the client.
    if (trusted === undefined || isEncrypted(request) || !trusted(peer)) return `ip:${peer}`;
    const forwarded = request.headers['x-forwarded-for'];
    const last = typeof forwarded === 'string' ? forwarded.slice(forwarded.lastIndexOf(',') + 1).trim() : '';
    return `ip:${last === '' ? peer : last}`;
  };
  if (route.mtls !== 'required') return clientIp;
  return (request) => {
    const identity = request.ofb.identity;
    // A certificate without an OFB org id (a test PKI) is still one client: its thumbprint.
    if (identity !== undefined) return identity.orgId !== undefined ? `org:${identity.orgId}` : `cert:${identity.thumbprint}`;
    return clientIp(request);
  };
}

function isEncrypted(request: FastifyRequest): boolean {
  return (request.socket as { encrypted?: boolean }).encrypted === true;
}
