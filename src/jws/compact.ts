/**
 * The pure part of SPEC §2 for signed request bodies: parse a compact JWS, enforce the JOSE header
 * rules, verify a PS256 signature with given keys, decode and check the claims. No I/O, no clock
 * (the caller passes the time), no Fastify: the check in `checks/jws-request.ts` runs these around
 * the directory lookup and the replay store, and the property tests run them directly.
 *
 * Every refusal is a catalogue error: signature-class failures are {@link BadSignatureError}
 * (400 BAD_SIGNATURE), claim failures {@link InvalidClientError} (403 INVALID_CLIENT).
 */
import { TextDecoder } from 'node:util';
import { constants, KeyObject, verify, type webcrypto } from 'node:crypto';
import type { CryptoKey } from 'jose';
import { BadSignatureError, InvalidClientError } from '../errors.js';
import { findJsonFlaw, type JsonFlaw } from './strict-json.js';

/** Conformance suite `...JtiIsUUIDv4`: a UUID version 4, any hex case. */
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** RFC 7515 §7.1 compact serialization: three non-empty base64url parts. */
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** JOSE headers that carry or point at a key: never used to find one, so refused outright (SPEC §2). */
const KEY_CARRYING = ['jku', 'x5u', 'jwk', 'x5c'] as const;

/** RFC 7518 §3.5: the PSS salt is as long as the hash output (SHA-256: 32 bytes). */
const PS256_SALT_BYTES = 32;

/** OFB FAPI "Message Content Signing" item 8: iat within ±60 s. */
export const CLOCK_SKEW_SECONDS = 60;

/** RFC 7519 §7.2 step 8 / RFC 8259 §8.1: UTF-8, invalid sequences refused; a BOM is not stripped (so refused by the JSON grammar). */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A compact JWS whose protected header passed the SPEC §2 header rules; signature not yet verified. */
export interface CompactJws {
  /** The serialization itself, without the ASCII white space around it. */
  readonly compact: string;
  /** The protected header (strict JSON object). */
  readonly header: Readonly<Record<string, unknown>>;
  /** The header's `kid`: which of the organisation's keys to verify with. */
  readonly kid: string;
}

/** What the claims must say (SPEC §2). */
export interface ExpectedClaims {
  /** The exact resource URL, or undefined when it cannot be known (no Host header): then no aud matches. */
  readonly aud: string | undefined;
  /** The org_id of the client certificate. */
  readonly iss: string;
  /** The gateway clock, in seconds since the epoch. */
  readonly nowSeconds: number;
}

/**
 * Parse a request body as a compact JWS and enforce the SPEC §2 JOSE header rules.
 * @throws BadSignatureError for anything else than a compact JWS with an acceptable protected header.
 */
export function parseCompactJws(body: Buffer | string): CompactJws {
  // Latin-1 maps every byte to one character, so a non-ASCII byte survives to fail the pattern below.
  const text = typeof body === 'string' ? body : body.toString('latin1');
  const compact = trimAsciiWhitespace(text);
  if (compact === '') throw new BadSignatureError('the request body is empty: a JWS in compact serialization is required');
  if (!COMPACT.test(compact)) {
    throw new BadSignatureError('the request body must be a JWS in compact serialization (header.payload.signature)');
  }
  const firstDot = compact.indexOf('.');
  const lastDot = compact.lastIndexOf('.');
  // RFC 7515 §2 / RFC 4648 §3.5: one encoding per byte string, so the bytes checked are the bytes
  // any decoder reads (and a signature cannot be re-encoded into a second valid body).
  if (!canonicalBase64url(compact, 0, firstDot) || !canonicalBase64url(compact, firstDot + 1, lastDot) || !canonicalBase64url(compact, lastDot + 1, compact.length)) {
    throw new BadSignatureError('the JWS parts must be canonical base64url without padding (RFC 7515 §2)');
  }
  const header = decodeJsonObject(Buffer.from(compact.slice(0, firstDot), 'base64url'), 'protected header');
  checkHeader(header);
  return { compact, header, kid: header.kid as string };
}

/** SPEC §2 JOSE header rules; every failure is signature-class (400 BAD_SIGNATURE). */
function checkHeader(header: Record<string, unknown>): void {
  // FAPI 1 Adv. §8.6 and OFB: PS256 only (never none, HS*, RS256).
  if (header.alg !== 'PS256') throw new BadSignatureError('the JWS alg must be PS256');
  if (typeof header.kid !== 'string' || header.kid === '') throw new BadSignatureError('the JWS header must carry a kid');
  // RFC 7515 §4.1.9: "JWT", the "application/" prefix optional, case-insensitive.
  if (header.typ !== undefined && !(typeof header.typ === 'string' && /^(application\/)?jwt$/i.test(header.typ))) {
    throw new BadSignatureError('the JWS typ, when present, must be JWT');
  }
  for (const name of KEY_CARRYING) {
    if (Object.hasOwn(header, name)) {
      throw new BadSignatureError(`the JWS header must not carry ${name}: keys come only from the organisation's JWKS in the directory`);
    }
  }
  // RFC 7515 §4.1.11: the gateway understands no extension, so any crit is unknown.
  if (header.crit !== undefined) throw new BadSignatureError('the JWS header lists crit parameters the gateway does not understand');
  // RFC 7797: an unencoded payload is not a JWT.
  if (header.b64 !== undefined && header.b64 !== true) throw new BadSignatureError('the JWS payload must be base64url-encoded (b64: false is not accepted)');
}

/** Verification keys as node:crypto KeyObjects, converted once per imported key. */
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

function keyObjectOf(key: CryptoKey): KeyObject {
  let object = keyObjects.get(key);
  if (object === undefined) {
    object = KeyObject.from(key as unknown as webcrypto.CryptoKey);
    keyObjects.set(key, object);
  }
  return object;
}

/**
 * RFC 7515 §5.2 over the received segments: PS256 (RFC 7518 §3.5 — RSASSA-PSS, SHA-256, MGF1 with
 * SHA-256, a 32-byte salt) checked by OpenSSL through node:crypto's synchronous `verify`, which costs
 * about 25 µs where WebCrypto's `subtle.verify` costs about 88 µs. Returns the payload bytes.
 * @throws BadSignatureError when no key verifies the signature.
 */
export function verifyPs256(jws: CompactJws, keys: readonly CryptoKey[]): Buffer {
  const { compact } = jws;
  const firstDot = compact.indexOf('.');
  const lastDot = compact.lastIndexOf('.');
  const signingInput = Buffer.from(compact.slice(0, lastDot), 'latin1');
  const signature = Buffer.from(compact.slice(lastDot + 1), 'base64url');
  for (const key of keys) {
    const ok = verify('sha256', signingInput, { key: keyObjectOf(key), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PS256_SALT_BYTES }, signature);
    if (ok) return Buffer.from(compact.slice(firstDot + 1, lastDot), 'base64url');
  }
  throw new BadSignatureError("the JWS signature does not verify with the organisation's key for this kid");
}

/**
 * The verified payload as a JWT claims set: a strict JSON object (RFC 7519 §7.2 steps 9–10).
 * @throws BadSignatureError
 */
export function parseClaims(payload: Uint8Array): Record<string, unknown> {
  return decodeJsonObject(payload, 'payload');
}

/**
 * SPEC §2 claim rules; returns the jti.
 * @throws InvalidClientError (OFB payments "Invalid aud/iss/iat/jti" → 403 INVALID_CLIENT).
 */
export function checkClaims(claims: Record<string, unknown>, expected: ExpectedClaims): string {
  const aud = claims.aud;
  const audOk = expected.aud !== undefined && (aud === expected.aud || (Array.isArray(aud) && aud.includes(expected.aud)));
  if (!audOk) throw new InvalidClientError('the JWS aud must be the URL of the resource being called');
  if (claims.iss !== expected.iss) throw new InvalidClientError('the JWS iss must be the organisation id of the client certificate');
  const iat = claims.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new InvalidClientError('the JWS iat must be a NumericDate');
  if (Math.abs(expected.nowSeconds - iat) > CLOCK_SKEW_SECONDS) {
    throw new InvalidClientError(`the JWS iat must be within ${CLOCK_SKEW_SECONDS} seconds of the current time`);
  }
  if (claims.exp !== undefined && !(typeof claims.exp === 'number' && claims.exp + CLOCK_SKEW_SECONDS >= expected.nowSeconds)) {
    throw new InvalidClientError('the JWS has expired (exp)');
  }
  if (claims.nbf !== undefined && !(typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_SECONDS <= expected.nowSeconds)) {
    throw new InvalidClientError('the JWS is not yet valid (nbf)');
  }
  const jti = claims.jti;
  if (typeof jti !== 'string' || !UUID_V4.test(jti)) throw new InvalidClientError('the JWS jti must be a UUID v4');
  return jti;
}

/** Bytes → UTF-8 → strict JSON → an object; `what` names the part in the refusal. */
function decodeJsonObject(bytes: Uint8Array, what: 'protected header' | 'payload'): Record<string, unknown> {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (err) {
    // RFC 7515 §5.2 step 3 / RFC 7519 §7.2: the header and claims are UTF-8.
    throw new BadSignatureError(`the JWS ${what} is not valid UTF-8`, { cause: err });
  }
  const flaw = findJsonFlaw(text);
  if (flaw !== undefined) throw refusal(flaw, what);
  const value = JSON.parse(text) as unknown;
  // RFC 7515 §4 / RFC 7519 §7.2 step 10: a JOSE header and a claims set are JSON objects.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadSignatureError(`the JWS ${what} is not a JSON object${what === 'payload' ? ' (a JWT claims set is required)' : ''}`);
  }
  return value as Record<string, unknown>;
}

/** Names short and printable enough to quote back in a detail. */
const QUOTABLE = /^[\x20-\x7e]{1,64}$/;

function refusal(flaw: JsonFlaw, what: 'protected header' | 'payload'): BadSignatureError {
  if (flaw.kind === 'duplicate') {
    // RFC 7515 §4 / SPEC §2: repeated member names → BAD_SIGNATURE (first-wins and last-wins parsers disagree).
    const name = flaw.member !== undefined && QUOTABLE.test(flaw.member) ? ` (${JSON.stringify(flaw.member)})` : '';
    return new BadSignatureError(`the JWS ${what} repeats a JSON member name${name}`);
  }
  return new BadSignatureError(what === 'payload' ? 'the JWS payload is not JSON (a JWT claims set is required)' : 'the JWS protected header is not base64url-encoded JSON');
}

/** The text without RFC 8259 white space (space, tab, CR, LF) at either end — nothing Unicode calls white space. */
function trimAsciiWhitespace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isAsciiWhitespace(text.charCodeAt(start))) start++;
  while (end > start && isAsciiWhitespace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isAsciiWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Whether text[start, end) — already known to be base64url alphabet — is a canonical unpadded
 * encoding: not 1 character short of a group, and no bits set past the last whole byte.
 */
function canonicalBase64url(text: string, start: number, end: number): boolean {
  const rest = (end - start) % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const last = base64urlValue(text.charCodeAt(end - 1));
  // 2 characters carry 1 byte (4 spare bits); 3 carry 2 bytes (2 spare bits).
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

function base64urlValue(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41; // A-Z
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26; // a-z
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52; // 0-9
  return c === 0x2d ? 62 : 63; // - _
}
