import { TextDecoder } from 'node:util';
import type { FastifyRequest } from 'fastify';
import { constants, KeyObject, verify, type webcrypto } from 'node:crypto';
import { decodeProtectedHeader, type CompactJWSHeaderParameters, type CryptoKey } from 'jose';
import { REPLAY_TTL_MS } from '../stores/types.js';
import { BadSignatureError, ClientCertificateError, InvalidClientError, UnsupportedMediaTypeError } from '../errors.js';
import type { CheckDefinition } from './types.js';

/** Compact serialization only: three non-empty base64url parts (RFC 7515 §7.1). */
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Conformance suite `...JtiIsUUIDv4`: a UUID version 4, any hex case. */
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** JOSE headers that carry or point at a key: never used to find one, so refused outright (SPEC §2). */
const KEY_CARRYING = ['jku', 'x5u', 'jwk', 'x5c'] as const;

/** RFC 7518 §3.5: the PSS salt is as long as the hash output (SHA-256: 32 bytes). */
const PS256_SALT_BYTES = 32;

/** OFB FAPI "Message Content Signing" item 8: iat within ±60 s. */
const CLOCK_SKEW_SECONDS = 60;

/** Methods whose requests carry a body; others are checked only when they send one anyway. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * SPEC §1 row 9, §2 — the request body is a compact JWS (`Content-Type: application/jwt`, else 415)
 * signed PS256 by the organisation of the client certificate, with a key from that organisation's
 * JWKS in the OFB Directory and nowhere else. Signature-class failures → 400 BAD_SIGNATURE; claim
 * failures (aud, iss, iat, jti) and replays → 403 INVALID_CLIENT. The jti is recorded only after
 * the signature and the claims verified, atomically, per client for 86 400 s. The verified jti and
 * payload go on request.ofb (x-jws-jti upstream, `jws.forward: json`, idempotency).
 */
export const jwsRequestCheck: CheckDefinition = {
  name: 'jws-request',
  phase: 'body',
  create(route, deps) {
    if (route.jws?.request !== true) return undefined;
    const directory = deps.directory;
    const store = deps.replayStore;
    if (directory === undefined || store === undefined) throw new TypeError('jws.request needs deps.directory and deps.replayStore');
    const publicBaseUrl = deps.config.server.publicBaseUrl;

    return async function verifyJwsRequest(request) {
      const body = request.body;
      const hasBody = Buffer.isBuffer(body) && body.length > 0;
      if (!BODY_METHODS.has(request.method) && !hasBody) return;

      // OFB FAPI "Message Content Signing" item 4; payments OpenAPI declares 415.
      if (mediaType(request.headers['content-type']) !== 'application/jwt') {
        throw new UnsupportedMediaTypeError('the request body must be a signed JWS with Content-Type application/jwt');
      }
      if (!hasBody) throw new BadSignatureError('the request body is empty: a JWS in compact serialization is required');
      const jws = decodeAscii(body);
      if (jws === undefined || !COMPACT.test(jws)) {
        throw new BadSignatureError('the request body must be a JWS in compact serialization (header.payload.signature)');
      }

      const header = protectedHeader(jws);
      checkHeader(header);
      const kid = header.kid as string;

      const identity = request.ofb.identity;
      const orgId = identity?.orgId;
      if (orgId === undefined) throw new ClientCertificateError('the client certificate carries no organisation id (organizationIdentifier or OU)');
      // SPEC §2: the key comes only from the directory JWKS of the certificate's organisation.
      const keys = await directory.keysFor({ orgId, softwareId: identity?.softwareId }, kid);
      const payloadBytes = verifySignature(jws, keys);

      const claims = parseClaims(payloadBytes);
      checkClaims(claims, { aud: audience(request, publicBaseUrl), iss: orgId, nowSeconds: Date.now() / 1000 });
      const jti = claims.jti as string;

      // OFB FAPI item 9: jti unique per client for 86 400 s → 403. Recorded only now, after the
      // signature and the claims verified, so nobody can burn another client's jti.
      const namespace = request.ofb.clientId ?? orgId;
      const first = await store.setIfAbsent(`jti:${encodeURIComponent(namespace)}:${jti.toLowerCase()}`, '1', REPLAY_TTL_MS);
      if (!first) throw new InvalidClientError('the JWS jti was already used by this client (replay)');

      request.ofb.jwsJti = jti;
      request.ofb.jwsPayload = claims;
    };
  },
};

/** `type/subtype` of a Content-Type header, lower case, parameters (charset ...) dropped. */
function mediaType(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const semi = header.indexOf(';');
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

function decodeAscii(body: Buffer): string | undefined {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return undefined;
  }
  // A trailing newline (a body written by a shell tool) is tolerated; the bytes forwarded are unchanged.
  return text.trim();
}

function protectedHeader(jws: string): CompactJWSHeaderParameters {
  try {
    return decodeProtectedHeader(jws) as CompactJWSHeaderParameters;
  } catch (err) {
    throw new BadSignatureError('the JWS protected header is not base64url-encoded JSON', { cause: err });
  }
}

/** SPEC §2 JOSE header rules; every failure is signature-class (400 BAD_SIGNATURE). */
function checkHeader(header: CompactJWSHeaderParameters): void {
  // FAPI 1 Adv. §8.6 and OFB: PS256 only (never none, HS*, RS256).
  if (header.alg !== 'PS256') throw new BadSignatureError('the JWS alg must be PS256');
  if (typeof header.kid !== 'string' || header.kid === '') throw new BadSignatureError('the JWS header must carry a kid');
  if (header.typ !== undefined && !(typeof header.typ === 'string' && /^(application\/)?jwt$/i.test(header.typ))) {
    throw new BadSignatureError('the JWS typ, when present, must be JWT');
  }
  for (const name of KEY_CARRYING) {
    if (name in header) {
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
 * about 25 µs where WebCrypto's `subtle.verify` (jose's path) costs about 88 µs. jose still parses the
 * header and imports the directory keys; the header rules were enforced above.
 */
function verifySignature(jws: string, keys: readonly CryptoKey[]): Uint8Array {
  const firstDot = jws.indexOf('.');
  const lastDot = jws.lastIndexOf('.');
  const signingInput = Buffer.from(jws.slice(0, lastDot), 'ascii');
  const signature = Buffer.from(jws.slice(lastDot + 1), 'base64url');
  for (const key of keys) {
    const ok = verify('sha256', signingInput, { key: keyObjectOf(key), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PS256_SALT_BYTES }, signature);
    if (ok) return Buffer.from(jws.slice(firstDot + 1, lastDot), 'base64url');
  }
  throw new BadSignatureError("the JWS signature does not verify with the organisation's key for this kid");
}

function parseClaims(payload: Uint8Array): Record<string, unknown> {
  let claims: unknown;
  try {
    claims = JSON.parse(utf8.decode(payload));
  } catch (err) {
    throw new BadSignatureError('the JWS payload is not JSON (a JWT claims set is required)', { cause: err });
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new BadSignatureError('the JWS payload is not a JSON object (a JWT claims set is required)');
  }
  return claims as Record<string, unknown>;
}

/** SPEC §2: the exact resource URL — publicBaseUrl (else https://<Host>) + path, no query. */
function audience(request: FastifyRequest, publicBaseUrl: string | undefined): string | undefined {
  const url = request.url;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (publicBaseUrl !== undefined) return publicBaseUrl + path;
  const host = request.headers.host;
  return host === undefined || host === '' ? undefined : `https://${host}${path}`;
}

interface Expected {
  readonly aud: string | undefined;
  readonly iss: string;
  readonly nowSeconds: number;
}

/** SPEC §2 claim rules; every failure → 403 INVALID_CLIENT (OFB payments "Invalid aud/iss/iat/jti"). */
function checkClaims(claims: Record<string, unknown>, expected: Expected): void {
  const aud = claims.aud;
  const audOk = expected.aud !== undefined && (aud === expected.aud || (Array.isArray(aud) && aud.includes(expected.aud)));
  if (!audOk) throw new InvalidClientError('the JWS aud must be the URL of the resource being called');
  if (claims.iss !== expected.iss) throw new InvalidClientError("the JWS iss must be the organisation id of the client certificate");
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
  if (typeof claims.jti !== 'string' || !UUID_V4.test(claims.jti)) throw new InvalidClientError('the JWS jti must be a UUID v4');
}
