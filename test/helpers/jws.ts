/** JWS builders for the tests: good request bodies and every kind of bad one. */
import { constants, KeyObject, randomUUID, sign as nodeSign, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, exportJWK, exportPKCS8, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import type { OrgSigningKey } from '../../src/dev/mock-directory.js';

/** The publicBaseUrl the JWS tests configure; `aud` = this + path. */
export const BASE_URL = 'https://matls-api.bank.example';

export const b64url = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Valid request claims for `key`'s org calling `path`; `overrides` replace or (with undefined) remove members. */
export function requestClaims(key: OrgSigningKey, path: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    aud: BASE_URL + path,
    iss: key.orgId,
    jti: randomUUID(),
    iat: Math.floor(Date.now() / 1000),
    data: { payment: { amount: '100.00', currency: 'BRL' }, creditorAccount: { number: '1234' } },
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete claims[k];
    else claims[k] = v;
  }
  return claims;
}

/** Sign arbitrary claims with an org key; `header` members replace or (with undefined) remove the defaults. */
export async function signJws(
  key: { privateKey: CryptoKey | Uint8Array; kid: string },
  claims: unknown,
  header: Record<string, unknown> = {},
): Promise<string> {
  const protectedHeader: Record<string, unknown> = { alg: 'PS256', kid: key.kid, typ: 'JWT' };
  for (const [k, v] of Object.entries(header)) {
    if (v === undefined) delete protectedHeader[k];
    else protectedHeader[k] = v;
  }
  const payload = typeof claims === 'string' ? claims : JSON.stringify(claims);
  return new CompactSign(new TextEncoder().encode(payload))
    .setProtectedHeader(protectedHeader as { alg: string })
    .sign(key.privateKey);
}

/** A JWS whose signature part is made up (header and payload unchanged). */
export function unsignedJws(header: Record<string, unknown>, claims: unknown, signature = ''): string {
  return `${b64url(header)}.${b64url(claims)}.${signature}`;
}

export interface BankKey {
  readonly kid: string;
  readonly orgId: string;
  /** PEM PKCS#8 file and JWK file with the same private key. */
  readonly pemFile: string;
  readonly jwkFile: string;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

let bank: Promise<BankKey> | undefined;

/** The bank's response signing key, written to a temp dir once per test process. */
export function testBankKey(): Promise<BankKey> {
  bank ??= (async () => {
    const { privateKey, publicKey } = await generateKeyPair('PS256', { extractable: true });
    const dir = mkdtempSync(join(tmpdir(), 'guarita-bank-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const pemFile = join(dir, 'signing.key');
    const jwkFile = join(dir, 'signing.jwk.json');
    writeFileSync(pemFile, await exportPKCS8(privateKey), { mode: 0o600 });
    writeFileSync(jwkFile, JSON.stringify(await exportJWK(privateKey)), { mode: 0o600 });
    return { kid: 'bank-2026', orgId: randomUUID(), pemFile, jwkFile, publicKey, publicJwk: await exportJWK(publicKey) };
  })();
  return bank;
}

/**
 * A PS256 signature over any header (jose refuses to produce some of the malformed ones the tests
 * need, e.g. an unknown `crit`): Web Crypto RSA-PSS, SHA-256, 32-byte salt (RFC 7518 §3.5).
 */
export async function signRawPs256(privateKey: CryptoKey, header: Record<string, unknown>, payload: string): Promise<string> {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const signature = await webcrypto.subtle.sign({ name: 'RSA-PSS', saltLength: 32 }, privateKey as unknown as webcrypto.CryptoKey, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

/**
 * A PS256 JWS over exactly these header and payload bytes (JSON text with repeated members,
 * invalid UTF-8, a BOM ...): what a sender with the right key could put on the wire. Signed with
 * node:crypto (RSA-PSS, SHA-256, 32-byte salt, RFC 7518 §3.5).
 */
export function signRawBytes(privateKey: CryptoKey, header: string | Buffer, payload: string | Buffer): string {
  return signSegments(privateKey, `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`);
}

/** A valid PS256 signature appended to any signing input `header.payload` (even ill-encoded segments). */
export function signSegments(privateKey: CryptoKey, input: string): string {
  const key = KeyObject.from(privateKey as unknown as webcrypto.CryptoKey);
  const signature = nodeSign('sha256', Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  return `${input}.${signature.toString('base64url')}`;
}

/** Verify a signed response with the bank's public key; its protected header and claims. */
export async function verifyBankJws(jws: string, bank: BankKey): Promise<{ header: Record<string, unknown>; claims: Record<string, unknown> }> {
  const { compactVerify } = await import('jose');
  const { payload, protectedHeader } = await compactVerify(jws, bank.publicKey, { algorithms: ['PS256'] });
  return { header: protectedHeader as Record<string, unknown>, claims: JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown> };
}
