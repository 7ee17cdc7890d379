/**
 * The client certificate as a TLS-terminating proxy forwards it in a request header (SPEC §3,
 * ingress mode). Only decoding lives here: whether the sender may set the header at all
 * (`trustedProxies`) and whether the certificate chains to a trust anchor (`verify-chain.ts`) are
 * decided by the caller.
 *
 * Accepted encodings, whatever the configured header name:
 * - URL-encoded PEM: nginx-ingress `$ssl_client_escaped_cert`, Envoy's XFCC `Cert`, AWS ALB;
 * - raw PEM whose line breaks a load balancer replaced by spaces or tabs;
 * - base64 DER, bare or as an RFC 9440 byte sequence (`:…:`), as Traefik / Kong send it.
 *
 * `x-forwarded-client-cert` is parsed as Envoy's XFCC: one element per proxy hop, `;`-separated
 * `key=value` pairs, values optionally double-quoted; the certificate is the `Cert` value.
 *
 * Anything ambiguous is refused rather than guessed: several certificates, several header
 * instances, several XFCC hops, double URL-encoding. Decoding never throws; a refusal carries a
 * reason written for the integrator who configures the proxy (it never echoes the header).
 */
import { X509Certificate, createHash } from 'node:crypto';
import { base64ToDer, parsePem } from './pem.js';

/**
 * A decoded certificate, or the reason it was refused: `reason` is public (it becomes the error
 * `detail`) and never holds a library's error text; `cause`, for the logs only, may.
 */
export type HeaderDecode = { ok: true; der: Buffer } | { ok: false; reason: string; cause?: unknown };

/** Larger than any real client certificate (ICP-Brasil leaves are ~2 KiB DER, ~4 KiB URL-encoded PEM). */
export const MAX_CERTIFICATE_HEADER_BYTES = 16 * 1024;

/** Envoy's header; every other name is read as a single certificate. */
export const XFCC_HEADER = 'x-forwarded-client-cert';

const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/;
const SF_BINARY = /^:([^:]*):$/;

/**
 * Decodes the client certificate a proxy sent in header `headerName`.
 *
 * @param value the header as Node parsed it: a string, or an array when read from
 *   `req.headersDistinct` (one entry per header line).
 * @returns `undefined` when the header is absent; otherwise the certificate's DER or the reason it
 *   was refused.
 */
export function decodeCertificateHeader(headerName: string, value: string | string[] | undefined): HeaderDecode | undefined {
  const name = headerName.toLowerCase();
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    if (value.length > 1) return refuse(`${name} was sent ${value.length} times; exactly one is expected`);
    value = value[0] ?? '';
  }
  if (value.length > MAX_CERTIFICATE_HEADER_BYTES) {
    return refuse(`${name} is ${value.length} bytes; the limit is ${MAX_CERTIFICATE_HEADER_BYTES}`);
  }
  if (value.trim() === '') return refuse(`${name} is empty`);
  return name === XFCC_HEADER ? decodeXfcc(name, value) : decodeCertificate(name, value);
}

/** One certificate, in any of the accepted encodings. `what` names it in reasons. */
function decodeCertificate(what: string, raw: string): HeaderDecode {
  let text = raw.trim();
  // Node joins repeated header lines with ", "; no accepted encoding contains a comma.
  if (text.includes(',')) return refuse(`${what} holds several comma-separated values (was the header sent more than once?); exactly one certificate is expected`);
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text).trim();
    } catch {
      return refuse(`${what} has malformed percent-encoding`);
    }
    // A PEM never contains '%': an escape left after one decoding means the proxy encoded twice.
    if (PERCENT_ESCAPE.test(text)) return refuse(`${what} is URL-encoded twice; configure the proxy to encode the certificate once`);
  }

  let der: Buffer | undefined;
  if (text.includes('-----BEGIN') || text.includes('-----END')) {
    const pem = parsePem(text);
    if (!pem.ok) return refuse(`${what}: ${pem.reason}`);
    if (pem.blocks.length === 0) return refuse(`${what} has an "END" line without its "BEGIN" line (truncated?)`);
    if (pem.blocks.length > 1) {
      return refuse(`${what} holds ${pem.blocks.length} PEM blocks; send only the client (leaf) certificate`);
    }
    const [block] = pem.blocks;
    if (block === undefined || block.label !== 'CERTIFICATE') return refuse(`${what} holds a "${block?.label ?? ''}" PEM block, not a CERTIFICATE`);
    if (pem.outside.trim() !== '') return refuse(`${what} has text outside its PEM block`);
    der = block.der;
  } else {
    der = base64ToDer(SF_BINARY.exec(text)?.[1] ?? text);
    if (der === undefined) return refuse(`${what} is neither a PEM certificate nor base64 DER`);
  }

  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (err) {
    // SPEC §3: error details never echo a library's error text (OpenSSL's goes to the cause).
    return refuse(`${what} does not hold an X.509 certificate; send the client certificate as URL-encoded PEM`, err);
  }
  // The DER is what thumbprints (RFC 8705 x5t#S256) are computed over: it must be the certificate and nothing more.
  if (cert.raw.length !== der.length) return refuse(`${what} has data after the certificate`);
  return { ok: true, der };
}

/**
 * Envoy XFCC: `By=…;Hash=…;Cert="…";Subject="…";URI=…` per hop, hops separated by `,`.
 * More than one hop means the header was appended to rather than set by the edge proxy, so it is
 * not known which element the trusted proxy wrote: refused.
 */
function decodeXfcc(name: string, value: string): HeaderDecode {
  const elements = splitOutsideQuotes(value, ',');
  if (elements === undefined) return refuse(`${name} has an unterminated quoted value`);
  if (elements.length !== 1) {
    return refuse(
      `${name} has ${elements.length} elements (one per proxy hop); exactly one is expected: configure the edge proxy to replace the header (Envoy forward_client_cert_details: SANITIZE_SET)`,
    );
  }
  const pairs = splitOutsideQuotes(elements[0] ?? '', ';') ?? [];
  let cert: string | undefined;
  let hash: string | undefined;
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return refuse(`${name} has a field that is not key=value`);
    const key = pair.slice(0, eq).trim().toLowerCase();
    const fieldValue = unquote(pair.slice(eq + 1).trim());
    if (key === 'cert') {
      if (cert !== undefined) return refuse(`${name} has more than one Cert field`);
      cert = fieldValue;
    } else if (key === 'hash') {
      hash = fieldValue;
    }
  }
  if (cert === undefined) {
    return refuse(`${name} has no Cert field; configure the proxy to forward the certificate (Envoy set_current_client_cert_details: { cert: true })`);
  }
  if (cert.trim() === '') return refuse(`${name} has an empty Cert field`);
  const decoded = decodeCertificate(`${name} Cert field`, cert);
  // Envoy's Hash is the hex SHA-256 of the DER: a mismatch means the element was assembled by hand or tampered with.
  if (decoded.ok && hash !== undefined && createHash('sha256').update(decoded.der).digest('hex') !== hash.toLowerCase()) {
    return refuse(`${name} Hash field does not match its Cert field`);
  }
  return decoded;
}

/** Splits on `sep` outside double quotes (a backslash escapes the next character inside them); undefined if a quote is left open. */
function splitOutsideQuotes(s: string, sep: string): string[] | undefined {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if (quoted && ch === '\\' && i + 1 < s.length) {
      current += ch + (s[++i] as string);
    } else if (ch === '"') {
      quoted = !quoted;
      current += ch;
    } else if (ch === sep && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (quoted) return undefined;
  parts.push(current);
  return parts;
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

function refuse(reason: string, cause?: unknown): HeaderDecode {
  return cause === undefined ? { ok: false, reason } : { ok: false, reason, cause };
}
