/** What the bare proxies (b) and (bf) share: their options and the hop-by-hop header filter. */
import type { IncomingHttpHeaders } from 'node:http';

export interface BareOptions {
  readonly upstream: string;
  /** PEM files. */
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

/** Hop-by-hop headers belong to one connection and must not cross the proxy, in either direction. */
export function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}
