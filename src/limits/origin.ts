/**
 * SPEC §10 per-minute "origin": the certificate's org_id on routes that require a client
 * certificate (operations.md: "the calling institution (organisationId) for authenticated ones"),
 * the client IP on the others — behind a trusted ingress proxy, the address it appended to
 * `x-forwarded-for` (the last entry: anything before it was written by the client and proves nothing).
 */
import { BlockList, isIPv4 } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Config, Route } from '../config/load.js';

/** Build the origin function of one route; the trusted proxies are parsed once. */
export function originOf(route: Route, config: Config): (request: FastifyRequest) => string {
  const trusted = trustedProxies(config.server.ingress?.trustedProxies ?? []);
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

function trustedProxies(cidrs: readonly string[]): ((ip: string) => boolean) | undefined {
  if (cidrs.length === 0) return undefined;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', bits = ''] = cidr.split('/');
    list.addSubnet(address, Number(bits), isIPv4(address) ? 'ipv4' : 'ipv6');
  }
  return (ip) => {
    const mapped = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
    return list.check(mapped, isIPv4(mapped) ? 'ipv4' : 'ipv6');
  };
}
