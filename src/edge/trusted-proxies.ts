/**
 * SPEC §3 `server.ingress.trustedProxies`: whether a peer address is one of the configured CIDRs
 * (an IPv4-mapped IPv6 peer such as `::ffff:10.0.0.5` is matched as its IPv4 address). Parsed once;
 * the schema has already checked every CIDR.
 */
import { BlockList, isIPv4 } from 'node:net';

export function trustedProxyMatcher(cidrs: readonly string[]): (ip: string) => boolean {
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
