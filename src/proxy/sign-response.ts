/**
 * Signed responses (SPEC §2, `jws.response: true`): the upstream's JSON body — and the gateway's own
 * 422s — for statuses 200/201/202/422 become a compact JWS, PS256, header `kid` and `typ: JWT`, claims
 * = the body's members + `aud` (the client's org_id), `iss` (the bank's org_id), a fresh UUID v4
 * `jti` and `iat` = now; `Content-Type: application/jwt`. Other statuses stay plain JSON.
 */
import { mediaTypeOf } from '../edge/media-type.js';
import { createPrivateKey, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CompactSign } from 'jose';
import type { SigningConfig } from '../config/schema.js';

/** OFB payments: only these statuses are signed (mock-bank `middleware/jwt.go`, OpenAPI 422). */
export const SIGNED_STATUSES: ReadonlySet<number> = new Set([200, 201, 202, 422]);

export interface ResponseSigner {
  readonly kid: string;
  /** The bank's org id (`iss`). */
  readonly orgId: string;
  /** Compact JWS of `body` with the response claims; `audience` is the client's org id. */
  sign(body: Readonly<Record<string, unknown>>, audience: string): Promise<string>;
}

/**
 * Read the bank signing key: a PEM private key (PKCS#8) or a JWK JSON file with the private members.
 * Throws (TypeError or a crypto error) when it is not an RSA private key of at least 2048 bits.
 */
export function loadSigningKey(file: string): KeyObject {
  const text = readFileSync(file, 'utf8');
  const key = text.trimStart().startsWith('{')
    ? createPrivateKey({ key: JSON.parse(text) as JsonWebKey, format: 'jwk' })
    : createPrivateKey(text);
  if (key.asymmetricKeyType !== 'rsa') throw new TypeError('the signing key must be an RSA private key (PS256)');
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048) throw new TypeError(`the signing key has ${bits} bits; PS256 needs at least 2048`);
  return key;
}

/** Build the signer from `signing` (the key is read once, here). */
export function createResponseSigner(signing: SigningConfig): ResponseSigner {
  const key = loadSigningKey(signing.key);
  const encoder = new TextEncoder();
  return {
    kid: signing.kid,
    orgId: signing.orgId,
    sign(body, audience) {
      const claims = { ...body, aud: audience, iss: signing.orgId, jti: randomUUID(), iat: Math.floor(Date.now() / 1000) };
      return new CompactSign(encoder.encode(JSON.stringify(claims))).setProtectedHeader({ alg: 'PS256', kid: signing.kid, typ: 'JWT' }).sign(key);
    },
  };
}

/** The route `onSend` hook that signs eligible JSON responses; anything else passes unchanged. */
export function responseSigningHook(signer: ResponseSigner) {
  return async function signResponse(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    if (!SIGNED_STATUSES.has(reply.statusCode)) return payload;
    const audience = request.ofb?.identity?.orgId;
    if (audience === undefined || !isJson(reply.getHeader('content-type'))) return payload;
    const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
    if (text === undefined) return payload;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      request.log.warn({ interactionId: request.ofb.interactionId, status: reply.statusCode }, 'response declared JSON but is not; sent unsigned');
      return payload;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return payload;
    const jws = await signer.sign(body as Record<string, unknown>, audience);
    reply.header('content-type', 'application/jwt');
    return jws;
  };
}

function isJson(contentType: unknown): boolean {
  const type = mediaTypeOf(contentType);
  if (type === undefined) return false;
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}
