/**
 * Request hygiene (SPEC §4): decide once, before routing, whether a request is unambiguous, and
 * give the one canonical request target that is routed, checked, logged and forwarded.
 *
 * Upstreams disagree about ambiguous requests (Tomcat reads `/a/..;/b` as `/b`, Jetty refuses it),
 * so anything two HTTP stacks could read differently is refused, never repaired — with one
 * exception: percent-encoded RFC 3986 unreserved characters are decoded (RFC 3986 §6.2.2.2), and
 * the upstream receives the decoded form. Envoy's `path_utility.cc` is the model; this module is
 * the only place that reads the raw request target.
 *
 * | refused (400 PARAMETRO_INVALIDO)                                  | why                                     |
 * |-------------------------------------------------------------------|-----------------------------------------|
 * | target not origin-form (`http://h/p`, `*`, `host:443`)            | a foreign authority, userinfo           |
 * | version other than HTTP/1.0 or HTTP/1.1                           | RFC 9112 §2.3; `HTTP/2.0` in a 1.x line |
 * | no `Host` (HTTP/1.1) or more than one, or not a host[:port]       | RFC 9112 §3.2: which one is routed?     |
 * | more than MAX_HEADER_FIELDS header fields (431)                   | Node would drop the rest unseen         |
 * | a body on GET, HEAD, DELETE or OPTIONS                            | a body that is itself a request         |
 * | `;` `\` `#`, a byte outside printable ASCII                       | path parameters, separators, encodings  |
 * | `//`, a `.` or `..` segment                                       | normalisation moves the request         |
 * | `%2F %5C %3B %2E %25`, an encoded control, a malformed escape     | decoded later into one of the above     |
 * | encoded bytes ≥ 0x80 that are not valid UTF-8 (overlong `%C0%AE`) | lenient decoders read `.`               |
 */
import type { IncomingMessage } from 'node:http';

/** Why a request was refused before routing: the public detail of its 400 (431 when `tooLarge`). */
export class AmbiguousRequest {
  constructor(
    readonly detail: string,
    readonly tooLarge = false,
  ) {}
}

/**
 * The most header fields a request may carry. Node's own cap (`maxHeadersCount`) drops the fields
 * past it silently — a second Host or a Transfer-Encoding there would be neither seen nor refused —
 * so the listener keeps every field (its byte size is bounded by maxHeaderSize) and this refuses.
 */
export const MAX_HEADER_FIELDS = 256;

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const QUERY = 0x3f;

/** Methods whose requests carry no body (RFC 9110 §9.3: a body on them has no defined meaning). */
const BODYLESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

const NOT_ORIGIN_FORM = new AmbiguousRequest('the request target must be a path starting with "/" (origin-form)');
const BAD_VERSION = new AmbiguousRequest('only HTTP/1.0 and HTTP/1.1 requests are accepted');
const ONE_HOST = new AmbiguousRequest('the request must carry exactly one Host header');
const BAD_HOST = new AmbiguousRequest('the Host header must be a host name or IP literal with an optional port');
const TOO_MANY_FIELDS = new AmbiguousRequest(`the request carries more than ${MAX_HEADER_FIELDS} header fields`, true);

/** RFC 9110 §7.2 / RFC 3986 §3.2.2: a DNS name (letters, digits, `-`, `_`, `.`) or a bracketed IP literal, then an optional port. */
const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
const BODY_NOT_ALLOWED = new AmbiguousRequest('a GET, HEAD, DELETE or OPTIONS request must not carry a body');
const NOT_PRINTABLE = new AmbiguousRequest('the request target must be printable ASCII (percent-encode other bytes)');
const FORBIDDEN_CHARACTER = new AmbiguousRequest('the request path must not contain ";", "\\" or "#"');
const EMPTY_SEGMENT = new AmbiguousRequest('the request path must not contain an empty segment ("//")');
const DOT_SEGMENT = new AmbiguousRequest('the request path must not contain "." or ".." segments');
const BAD_ESCAPE = new AmbiguousRequest('the request target contains a malformed percent-escape');
const FORBIDDEN_ESCAPE = new AmbiguousRequest('the request path must not percent-encode "/", "\\", ";", ".", "%" or a control character');
const BAD_UTF8 = new AmbiguousRequest('percent-encoded bytes in the request path must be valid UTF-8');

/**
 * The request's canonical target, or why it is ambiguous. Returns `req.url` itself (no
 * allocation) when nothing needs decoding — the common case.
 */
export function canonicalRequest(req: IncomingMessage): string | AmbiguousRequest {
  if (req.httpVersionMajor !== 1 || (req.httpVersionMinor !== 1 && req.httpVersionMinor !== 0)) return BAD_VERSION;
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (at most one in 1.0). Node's own missing-Host
  // answer is turned off (requireHostHeader: false) so that this one, in the OFB shape, is given.
  if (req.rawHeaders.length > 2 * MAX_HEADER_FIELDS) return TOO_MANY_FIELDS;
  const hosts = hostCount(req.rawHeaders);
  if (hosts > 1 || (hosts === 0 && req.httpVersionMinor === 1)) return ONE_HOST;
  // The Host is sent upstream as x-forwarded-host and is the JWS audience without publicBaseUrl.
  const host = req.headers.host;
  if (host !== undefined && !HOST.test(host)) return BAD_HOST;
  if (BODYLESS_METHODS.has(req.method ?? '') && carriesBody(req)) return BODY_NOT_ALLOWED;
  return canonicalTarget(req.url ?? '');
}

/** The canonical form of an origin-form request target (path and query), or why it is ambiguous. */
export function canonicalTarget(url: string): string | AmbiguousRequest {
  if (url.charCodeAt(0) !== SLASH) return NOT_ORIGIN_FORM;
  const end = url.length;
  let decode = false;
  let nonAscii = false;
  let i = 0;
  for (; i < end; i++) {
    const c = url.charCodeAt(i);
    if (c === QUERY) break;
    if (c <= 0x20 || c >= 0x7f) return NOT_PRINTABLE;
    if (c === 0x3b || c === 0x5c || c === 0x23) return FORBIDDEN_CHARACTER;
    if (c === SLASH) {
      const refusal = segmentAfter(url, i + 1);
      if (refusal !== undefined) return refusal;
    } else if (c === PERCENT) {
      const byte = escapedByte(url, i);
      if (byte < 0) return BAD_ESCAPE;
      if (isForbiddenEscape(byte)) return FORBIDDEN_ESCAPE;
      if (isUnreserved(byte)) decode = true;
      else if (byte >= 0x80) nonAscii = true;
      i += 2;
    }
  }
  const query = checkQuery(url, i);
  if (query !== undefined) return query;
  if (nonAscii && !isUtf8(url.slice(0, i))) return BAD_UTF8;
  return decode ? decodeUnreserved(url, i) : url;
}

/** A segment starting at `start` (just after a `/`) that is empty, `.` or `..` is refused. */
function segmentAfter(url: string, start: number): AmbiguousRequest | undefined {
  const c = url.charCodeAt(start);
  // `/` ending the path (a trailing slash) is a segment boundary, not an empty segment in between.
  if (c === SLASH) return EMPTY_SEGMENT;
  if (c !== DOT) return undefined;
  const next = start + 1 < url.length && url.charCodeAt(start + 1) === DOT ? start + 2 : start + 1;
  return isSegmentEnd(url, next) ? DOT_SEGMENT : undefined;
}

function isSegmentEnd(url: string, i: number): boolean {
  if (i >= url.length) return true;
  const c = url.charCodeAt(i);
  return c === SLASH || c === QUERY;
}

/** The byte a `%XX` escape at `i` stands for, or -1 when malformed. */
function escapedByte(url: string, i: number): number {
  if (i + 2 >= url.length) return -1;
  const high = hexValue(url.charCodeAt(i + 1));
  const low = hexValue(url.charCodeAt(i + 2));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** `/`, `\`, `;`, `.`, `%` and controls: encoded, they would be decoded by someone into what is refused raw. */
function isForbiddenEscape(byte: number): boolean {
  return byte === SLASH || byte === 0x5c || byte === 0x3b || byte === DOT || byte === PERCENT || byte < 0x20 || byte === 0x7f;
}

/** RFC 3986 §2.3 unreserved, less `.` (refused encoded: it could form a dot segment). */
function isUnreserved(byte: number): boolean {
  return (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x2d || byte === 0x5f || byte === 0x7e;
}

/** The query (from the `?` at `start`) must be printable ASCII with well-formed escapes and no `#`. */
function checkQuery(url: string, start: number): AmbiguousRequest | undefined {
  for (let i = start + 1; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return NOT_PRINTABLE;
    if (c === 0x23) return FORBIDDEN_CHARACTER;
    if (c === PERCENT) {
      if (escapedByte(url, i) < 0) return BAD_ESCAPE;
      i += 2;
    }
  }
  return undefined;
}

/** Whether the path's escapes decode to valid UTF-8 (decodeURIComponent refuses overlong forms). */
function isUtf8(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/** The target with the path's unreserved escapes decoded; the query is kept as sent. */
function decodeUnreserved(url: string, pathEnd: number): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < pathEnd; i++) {
    if (url.charCodeAt(i) !== PERCENT) continue;
    const byte = escapedByte(url, i);
    if (isUnreserved(byte)) {
      out += url.slice(from, i) + String.fromCharCode(byte);
      from = i + 3;
    }
    i += 2;
  }
  return out + url.slice(from);
}

/** How many Host fields the request carried (Node keeps only the first in `headers`). */
function hostCount(raw: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') count++;
  }
  return count;
}

/** RFC 9112 §6.3: a body is announced by a non-zero Content-Length or any Transfer-Encoding. */
export function carriesBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && Number(length) !== 0) || req.headers['transfer-encoding'] !== undefined;
}
