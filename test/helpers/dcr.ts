/**
 * A gateway with a `dcr: true` registration route (SPEC §9) in front of a recording authorization
 * server, a real HTTPS mock Directory publishing its software-statement keys (`/openbanking.jwks`),
 * and builders for software statements and registration requests.
 */
import { X509Certificate } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Test } from 'tap';
import { generateOrgKey, signSoftwareStatement, softwareStatementClaims, SSA_KEY_SET, type OrgSigningKey } from '../../src/dev/mock-directory.js';
import { identityFromDer } from '../../src/tls/identity.js';
import { serverBlock, startTestGateway, testPki, type TestGateway } from './gateway.js';
import { startTestDirectory, type TestDirectory } from './directory.js';
import { startUpstream, type TestUpstream } from './upstream.js';
import { send, type ClientResponse } from './client.js';

export const REGISTER = '/register';

let directoryKey: Promise<OrgSigningKey> | undefined;

/** The mock Directory's SSA signing key, one per test process. */
export function testDirectoryKey(): Promise<OrgSigningKey> {
  directoryKey ??= generateOrgKey('directory', 'ssa-signer');
  return directoryKey;
}

export interface DcrGatewayOptions {
  /** Use this directory (e.g. a restartable one) instead of starting one. */
  readonly testDirectory?: TestDirectory;
  /** Extra `server:` keys, indented two spaces (bodyLimit ...). */
  readonly server?: string;
  /** Extra `directory:` keys. */
  readonly directory?: Record<string, number>;
  /** Extra route keys, indented four spaces. */
  readonly route?: string;
  /** Extra top-level sections (e.g. `admin: { port: 0 }`). */
  readonly sections?: string;
}

export interface DcrGateway extends TestDirectory {
  readonly gw: TestGateway;
  /** The recording authorization server behind the gateway. */
  readonly as: TestUpstream;
  readonly ssaKey: OrgSigningKey;
  /** Claims of a good SSA for a client (client1 by default); overrides replace members, undefined removes. */
  ssaClaims(overrides?: Record<string, unknown>, client?: { orgId: string; softwareId: string }): Record<string, unknown>;
  /** A good SSA (signed by the Directory key) with these claim overrides. */
  ssa(overrides?: Record<string, unknown>, client?: { orgId: string; softwareId: string }): Promise<string>;
  /** A registration request for `ssa` built from its claims; overrides replace members, undefined removes. */
  metadata(ssa: string, overrides?: Record<string, unknown>): Record<string, unknown>;
  /** Send to the registration route with client1's certificate unless `cert` says otherwise. */
  call(body: string | Buffer | Record<string, unknown> | undefined, options?: CallOptions): Promise<ClientResponse>;
}

export interface CallOptions {
  readonly method?: string;
  readonly path?: string;
  readonly contentType?: string | null;
  readonly headers?: OutgoingHttpHeaders;
  readonly cert?: { cert: string; key: string } | null;
}

/** The subject DN the gateway reads from a PEM certificate (SPEC §3). */
export function subjectDnOf(pem: string): string {
  return identityFromDer(new X509Certificate(pem).raw).subjectDn;
}

/** Start directory, recording AS and gateway; closed on teardown. */
export async function startDcrGateway(t: Test, options: DcrGatewayOptions = {}): Promise<DcrGateway> {
  const { pki, dir } = await testPki();
  const d = options.testDirectory ?? (await startTestDirectory(t));
  const ssaKey = await testDirectoryKey();
  d.directory.publish(SSA_KEY_SET, [ssaKey.publicJwk]);
  const as = await startUpstream(t, (req, res, body) => {
    if (req.method === 'DELETE') {
      res.writeHead(204).end();
      return;
    }
    res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ client_id: 'as-issued-client', received: body.length }));
  });
  const extra = Object.entries(options.directory ?? {}).map(([k, v]) => `  ${k}: ${v}\n`).join('');
  const yaml = `${serverBlock(dir, options.server ?? '')}directory:
  jwksUri: ${d.directory.jwksUri}
  ssaJwksUri: ${d.directory.ssaJwksUri}
  ca: {{pki}}/ca.crt
${extra}${options.sections ?? ''}routes:
  - path: ${REGISTER}
    upstream: ${as.url}
    forwardClientCert: true
    dcr: true
${options.route ?? ''}`;
  const gw = await startTestGateway(t, yaml);
  const ssaClaims = (overrides: Record<string, unknown> = {}, client: { orgId: string; softwareId: string } = pki.client1) => {
    const claims = softwareStatementClaims(d.directory.url, client);
    for (const [k, v] of Object.entries(overrides)) {
      if (v === undefined) delete claims[k];
      else claims[k] = v;
    }
    return claims;
  };
  return {
    ...d,
    gw,
    as,
    ssaKey,
    ssaClaims,
    ssa: (overrides, client) => signSoftwareStatement(ssaKey, ssaClaims(overrides, client)),
    metadata(ssa, overrides = {}) {
      // The SSA's own URIs when it decodes; a good SSA's otherwise (the malformed-SSA tests).
      let claims = ssaClaims();
      try {
        const decoded = JSON.parse(Buffer.from(ssa.split('.')[1] ?? '', 'base64url').toString('utf8')) as unknown;
        if (typeof decoded === 'object' && decoded !== null && Array.isArray((decoded as Record<string, unknown>).software_redirect_uris)) claims = decoded as Record<string, unknown>;
      } catch {
        // keep the good SSA's
      }
      const body: Record<string, unknown> = {
        software_statement: ssa,
        redirect_uris: [(claims.software_redirect_uris as string[])[0]],
        jwks_uri: claims.software_jwks_uri,
        token_endpoint_auth_method: 'private_key_jwt',
        grant_types: ['authorization_code', 'client_credentials', 'refresh_token'],
        response_types: ['code id_token'],
        scope: 'openid accounts payments',
      };
      for (const [k, v] of Object.entries(overrides)) {
        if (v === undefined) delete body[k];
        else body[k] = v;
      }
      return body;
    },
    call(body, callOptions = {}) {
      const payload = body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      const contentType = callOptions.contentType === undefined ? 'application/json' : callOptions.contentType;
      return send(gw.port, {
        method: callOptions.method ?? 'POST',
        path: callOptions.path ?? REGISTER,
        headers: { ...(contentType === null ? {} : { 'content-type': contentType }), ...callOptions.headers },
        ...(payload === undefined ? {} : { body: payload }),
        ca: pki.ca.cert,
        cert: callOptions.cert === null ? undefined : (callOptions.cert ?? pki.client1),
      });
    },
  };
}

/**
 * A refusal as SPEC §9 fixes it: the status, the RFC 7591 `error`, its headers, and the AS received
 * nothing more than `before` requests.
 */
export function assertRefused(t: Test, res: ClientResponse, status: number, error: string, as: TestUpstream, before: number, what: string): void {
  t.equal(res.status, status, `${what}: status ${status} (${res.body})`);
  let body: { error?: unknown; error_description?: unknown } = {};
  try {
    body = res.json<{ error?: unknown; error_description?: unknown }>();
  } catch {
    t.fail(`${what}: the body is JSON`);
  }
  t.equal(body.error, error, `${what}: error ${error}`);
  t.type(body.error_description, 'string', `${what}: error_description`);
  t.equal(res.headers['content-type'], 'application/json', `${what}: Content-Type`);
  t.equal(res.headers['cache-control'], 'no-store', `${what}: Cache-Control`);
  t.ok(res.headers.date, `${what}: Date`);
  t.match(res.headers['x-fapi-interaction-id'], /^[0-9a-f-]{36}$/, `${what}: x-fapi-interaction-id`);
  t.equal(as.requests.length, before, `${what}: the AS received nothing`);
}
