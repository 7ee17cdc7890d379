/** What the bare proxies (b) and (bf) share: their options, TLS settings and the hop-by-hop header filter. */
import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import type { SecureContextOptions, TlsOptions } from 'node:tls';

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

/** The TLS options of the gateway's listener: the client certificate asked for and verified, no tickets, no renegotiation. */
export function bareTlsOptions(options: BareOptions): TlsOptions & SecureContextOptions {
  return {
    cert: readFileSync(options.cert),
    key: readFileSync(options.key),
    ca: readFileSync(options.ca),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    secureOptions: constants.SSL_OP_NO_TICKET | constants.SSL_OP_NO_RENEGOTIATION,
  };
}
