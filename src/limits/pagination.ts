/**
 * SPEC §10 pagination rule (operations.md "Monthly call limits": further pages of the same query do
 * not count; the bank issues the `pagination-key` in the response `links`, valid 60 minutes): find
 * the keys a 2xx JSON answer hands out, and the key a request presents.
 *
 * Bounded: a body is searched only when it holds the text `pagination-key`, is parsed only up to
 * MAX_SCANNED_BYTES, and only its `links` members are read.
 */
import { hash } from 'node:crypto';
import { Transform, pipeline, type Readable } from 'node:stream';

/** operations.md: a pagination key is valid for 60 minutes. */
export const PAGINATION_TTL_MS = 3_600_000;

/** Largest response body searched for pagination keys; a larger page's keys are not remembered (its next page counts). */
export const MAX_SCANNED_BYTES = 1_048_576;

const NEEDLE = 'pagination-key';

/**
 * The `pagination-key` query value of a request target, if any. A target with the parameter twice
 * has none: upstream frameworks disagree on which value wins (first, last, both joined), so such a
 * request is never a free follow-up (regression: `?pagination-key=SEEN&pagination-key=EVIL` was free).
 */
export function requestPaginationKey(url: string): string | undefined {
  const q = url.indexOf('?');
  if (q === -1 || !url.includes(NEEDLE, q)) return undefined;
  const values = new URLSearchParams(url.slice(q + 1)).getAll(NEEDLE);
  return values.length === 1 && values[0] !== '' ? values[0] : undefined;
}

/**
 * The `pagination-key` values the bank hands out in the `links.*` URLs of an OFB JSON body
 * (`{"data":…,"links":{"next":"https://…"}}`). `links.self` and the request's own key are not
 * handed out: an OFB answer's `self` repeats the request URL, so remembering it made any key a
 * client invented free after its first (counted) use (regression: bogus key free via `self`).
 */
export function paginationKeysIn(body: Buffer, ownKey?: string): string[] {
  if (body.length > MAX_SCANNED_BYTES || !body.includes(NEEDLE)) return [];
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return [];
  }
  const links = typeof json === 'object' && json !== null ? (json as { links?: unknown }).links : undefined;
  if (typeof links !== 'object' || links === null) return [];
  const keys = new Set<string>();
  for (const [name, link] of Object.entries(links)) {
    if (name === 'self' || typeof link !== 'string' || !link.includes(NEEDLE)) continue;
    try {
      for (const key of new URL(link, 'https://placeholder.invalid').searchParams.getAll(NEEDLE)) if (key !== '') keys.add(key);
    } catch {
      // Not a URL: nothing to remember.
    }
  }
  if (ownKey !== undefined) keys.delete(ownKey);
  return [...keys];
}

/** The store key of one remembered pagination key: hashed, so a long or odd key makes a short, safe key. */
export function rememberedKey(scope: string, paginationKey: string): string {
  return `${scope}:${hash('sha256', paginationKey, 'base64url')}`;
}

/**
 * Pass a streamed body through unchanged, collecting up to MAX_SCANNED_BYTES; `onEnd` gets the body
 * when the stream completed within the bound, else undefined. Errors flow on to the client side.
 */
export function tapStream(source: Readable, onEnd: (body: Buffer | undefined) => void): Readable {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!over) {
        size += chunk.length;
        if (size > MAX_SCANNED_BYTES) {
          over = true;
          chunks.length = 0;
        } else chunks.push(chunk);
      }
      callback(null, chunk);
    },
  });
  pipeline(source, tap, (err) => onEnd(err || over ? undefined : Buffer.concat(chunks)));
  return tap;
}
