/**
 * A mock OFB Directory keystore for development, tests and the demo: an HTTPS server serving
 * `/{orgId}/application.jwks` (the org-level signing keys, ofb/requirements.md §5) and
 * `/openbanking.jwks` (the Directory's software-statement keys), counting the
 * fetches and able to play an outage. Plus PS256 organisation keys and a signer for request bodies.
 * Never for production.
 */
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { calculateJwkThumbprint, CompactSign, exportJWK, generateKeyPair, importPKCS8, type CryptoKey, type JWK } from 'jose';

/** An organisation's PS256 signing key (what the participant registers in the directory). */
export interface OrgSigningKey {
  readonly orgId: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** Public JWK with `kid`, `use: sig`, `alg: PS256`: what the directory publishes. */
  readonly publicJwk: JWK;
}

/** Generate a PS256 key for `orgId` (RSA 2048). */
export async function generateOrgKey(orgId: string, kid: string = randomUUID()): Promise<OrgSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('PS256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'PS256' };
  return { orgId, kid, privateKey, publicJwk };
}

/** The file of a client's request-signing key in the dev PKI directory: `client1-signing.key`. */
export function orgKeyFile(certDir: string, client: string): string {
  return join(certDir, `${client}-signing.key`);
}

/**
 * A client organisation's signing key kept in the dev PKI directory (`<client>-signing.key`, RSA
 * 2048 PKCS#8 PEM, mode 0600), so that `npm run sandbox` publishes the key that
 * `npm run sandbox:sign` signs with. Written when missing. The kid is the key's RFC 7638
 * thumbprint: the same for every process that reads the file.
 */
export async function orgKeyFromDir(certDir: string, client: string, orgId: string): Promise<OrgSigningKey> {
  const file = orgKeyFile(certDir, client);
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    try {
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600);
    } catch (err) {
      // Another process (the sandbox, the sign script) wrote it first: read theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const pem = readFileSync(file, 'utf8');
  const jwk = createPublicKey(pem).export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  const publicJwk: JWK = { kty: jwk.kty, n: jwk.n, e: jwk.e, kid, use: 'sig', alg: 'PS256' };
  return { orgId, kid, privateKey: await importPKCS8(pem, 'PS256'), publicJwk };
}

/**
 * Sign a request body the way an OFB participant does: compact JWS, PS256, header `kid` and
 * `typ: JWT`, claims = `body` members + `aud`, `iss` (the org), a fresh UUID v4 `jti`, `iat` = now.
 */
export function signAsOrg(key: OrgSigningKey, aud: string, body: Record<string, unknown>): Promise<string> {
  const claims = { aud, iss: key.orgId, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ...body };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: 'PS256', kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

/**
 * The key-set name under which the Directory's own software-statement keys (`/openbanking.jwks`)
 * are published and counted: `publish(SSA_KEY_SET, keys)`, `fetches(SSA_KEY_SET)`.
 */
export const SSA_KEY_SET = 'openbanking.jwks';

/**
 * Sign a software statement assertion as the OFB Directory does (SEC DCR ID3 §8.1 example): compact
 * JWS, PS256, header `kid` and `typ: JWT`, `iat` = now unless `claims` sets it.
 */
export function signSoftwareStatement(key: Pick<OrgSigningKey, 'kid' | 'privateKey'>, claims: Record<string, unknown>): Promise<string> {
  const payload = { iss: 'Open Banking Open Banking Brasil sandbox SSA issuer', iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ...claims };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'PS256', kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

/**
 * The claims of a software statement for a client certificate's organisation and software, as the
 * sandbox Directory issues them (SEC DCR ID3 §8.1): redirect and webhook URIs under the software's
 * own host, keys at the keystore, roles DADOS and PAGTO active. `overrides` replace members.
 */
export function softwareStatementClaims(directoryUrl: string, client: { orgId: string; softwareId: string }, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base = `https://${client.softwareId}.tpp.example`;
  return {
    software_mode: 'Live',
    software_id: client.softwareId,
    software_client_id: client.softwareId,
    software_client_name: 'Guarita sandbox TPP',
    software_version: '1.0',
    software_environment: 'sandbox',
    software_roles: ['DADOS', 'PAGTO'],
    software_statement_roles: [
      { role: 'DADOS', authorisation_domain: 'Open Banking', status: 'Active' },
      { role: 'PAGTO', authorisation_domain: 'Open Banking', status: 'Active' },
    ],
    software_redirect_uris: [`${base}/callback`, `${base}/callback2`],
    software_api_webhook_uris: [`${base}/webhook`],
    software_jwks_uri: `${directoryUrl}/${client.orgId}/${client.softwareId}/application.jwks`,
    software_jwks_transport_uri: `${directoryUrl}/${client.orgId}/${client.softwareId}/transport.jwks`,
    org_status: 'Active',
    org_id: client.orgId,
    org_name: 'Guarita sandbox TPP',
    ...overrides,
  };
}

export interface MockDirectoryOptions {
  /** PEM server certificate (and chain) and key. */
  readonly cert: string;
  readonly key: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
}

export interface MockDirectory {
  /** `https://host:port`. */
  readonly url: string;
  /** The `directory.jwksUri` template for this directory. */
  readonly jwksUri: string;
  /** The `directory.ssaJwksUri` of this directory: the keys published as {@link SSA_KEY_SET}. */
  readonly ssaJwksUri: string;
  /** Publish (replace) an organisation's key set. */
  publish(orgId: string, keys: readonly JWK[]): void;
  /** Stop publishing an organisation (its URL answers 404). */
  unpublish(orgId: string): void;
  /** Key-set fetches served (or refused while down) for one organisation, or for all. */
  fetches(orgId?: string): number;
  /** While down every request is answered 503. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

const JWKS_PATH = /^\/([^/]+)\/application\.jwks$/;

/** Start a mock directory keystore over HTTPS. */
export async function startMockDirectory(options: MockDirectoryOptions): Promise<MockDirectory> {
  const sets = new Map<string, readonly JWK[]>();
  const counts = new Map<string, number>();
  let down = false;
  const server = createServer({ cert: options.cert, key: options.key }, (req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const match = JWKS_PATH.exec(path);
    const orgId = path === `/${SSA_KEY_SET}` ? SSA_KEY_SET : match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
    if (orgId !== undefined) counts.set(orgId, (counts.get(orgId) ?? 0) + 1);
    if (down) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('directory down');
      return;
    }
    const keys = orgId === undefined ? undefined : sets.get(orgId);
    if (keys === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `https://${host}:${port}`;
  return {
    url,
    jwksUri: `${url}/{orgId}/application.jwks`,
    ssaJwksUri: `${url}/${SSA_KEY_SET}`,
    publish(orgId, keys) {
      sets.set(orgId, [...keys]);
    },
    unpublish(orgId) {
      sets.delete(orgId);
    },
    fetches(orgId) {
      if (orgId !== undefined) return counts.get(orgId) ?? 0;
      let total = 0;
      for (const n of counts.values()) total += n;
      return total;
    },
    setDown(value) {
      down = value;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
