/**
 * The mock authorization server (src/dev/mock-as.ts) for tests: started on 127.0.0.1:0, closed by
 * t.teardown; plus token claims bound to the test PKI's client certificates and a gateway with
 * token routes in front of a recording upstream.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { createServer } from 'node:net';
import type { OutgoingHttpHeaders } from 'node:http';
import { startMockAuthorizationServer, type MockAsOptions, type MockAuthorizationServer } from '../../src/dev/mock-as.js';
import { thumbprintOf } from '../../src/tls/identity.js';
import { startTestGateway, serverBlock, testPki, type TestGateway } from './gateway.js';
import { startUpstream, type TestUpstream } from './upstream.js';
import { send, type ClientResponse } from './client.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startMockAs(t: Teardown, options: MockAsOptions = {}): Promise<MockAuthorizationServer> {
  const as = await startMockAuthorizationServer(options);
  t.teardown(() => as.close());
  return as;
}

/** RFC 8705 §3.1 `x5t#S256` of a PEM certificate. */
export function thumbprintOfPem(pem: string): string {
  return thumbprintOf(new X509Certificate(pem).raw);
}

/** An origin on 127.0.0.1 where nothing listens (a port that was free a moment ago). */
export function closedPortUrl(): Promise<string> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(`http://127.0.0.1:${p}`));
    });
  });
}

export interface ClaimsOptions {
  /** OAuth client id of the token (default `client-1`). */
  readonly clientId?: string;
  /** PEM certificate the token is bound to; null for an unbound token (no cnf). */
  readonly boundTo: string | null;
  readonly scope: string;
  /** Seconds until exp (default 300; negative for an expired token). */
  readonly expiresIn?: number;
  /** Consent claims (`consent.status` ... by default). */
  readonly consent?: { status?: string; permissions?: string[]; clientId?: string };
  readonly extra?: Record<string, unknown>;
}

/** Claims of an active token as an OFB authorization server introspects it (RFC 7662 §2.2). */
export function tokenClaims(o: ClaimsOptions): Record<string, unknown> {
  return {
    scope: o.scope,
    client_id: o.clientId ?? 'client-1',
    sub: 'user-1',
    token_type: 'Bearer',
    exp: Math.floor(Date.now() / 1000) + (o.expiresIn ?? 300),
    ...(o.boundTo === null ? {} : { cnf: { 'x5t#S256': thumbprintOfPem(o.boundTo) } }),
    ...(o.consent === undefined ? {} : { consent: o.consent }),
    ...o.extra,
  };
}

/** The `introspection:` section for a mock AS (client_secret_basic, secret `s3cret`). */
export function introspectionBlock(as: MockAuthorizationServer, extra = ''): string {
  return `introspection:
  endpoint: ${as.introspectionEndpoint}
  clientId: guarita
  clientSecret: s3cret
${extra}`;
}

export interface TokenGateway {
  readonly gw: TestGateway;
  readonly as: MockAuthorizationServer;
  readonly upstream: TestUpstream;
  /** GET `path` over client1's certificate (unless `cert` says otherwise) with `Authorization: Bearer <token>`. */
  call(path: string, token: string | undefined, options?: CallOptions): Promise<ClientResponse>;
}

export interface CallOptions {
  readonly method?: string;
  readonly cert?: { cert: string; key: string } | null;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string;
  /** Authorization scheme (default `Bearer`). */
  readonly scheme?: string;
}

/**
 * A mock AS (secret `s3cret`), a recording upstream and a gateway whose `routes` YAML (a list
 * under `routes:`; `{{upstream}}` is replaced) sits behind `introspection` (+ `introspectionExtra`).
 */
export async function startTokenGateway(
  t: Teardown,
  routes: string,
  options: { introspectionExtra?: string; as?: MockAuthorizationServer; introspection?: string } = {},
): Promise<TokenGateway> {
  const as = options.as ?? (await startMockAs(t, { clientSecret: 's3cret' }));
  const upstream = await startUpstream(t);
  const { dir, pki } = await testPki();
  const introspection = options.introspection ?? introspectionBlock(as, options.introspectionExtra);
  const gw = await startTestGateway(t, `${serverBlock(dir)}${introspection}routes:\n${routes.replaceAll('{{upstream}}', upstream.url)}`);
  return {
    gw,
    as,
    upstream,
    call(path, token, o = {}) {
      const cert = o.cert === null ? undefined : (o.cert ?? pki.client1);
      return send(gw.port, {
        method: o.method ?? 'GET',
        path,
        headers: {
          'x-fapi-interaction-id': randomUUID(),
          ...(token === undefined ? {} : { authorization: `${o.scheme ?? 'Bearer'} ${token}` }),
          ...o.headers,
        },
        ...(o.body === undefined ? {} : { body: o.body }),
        cert,
        ca: pki.ca.cert,
      });
    },
  };
}

/** The assertions the refusal helper uses (structurally a tap Test). */
export interface Assert {
  equal(found: unknown, wanted: unknown, message: string): boolean;
}

export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly detail?: string;
  /** Expected WWW-Authenticate; undefined asserts there is none. */
  readonly wwwAuthenticate?: string | undefined;
}

/** Assert a refusal: status, errors[0].code, detail, WWW-Authenticate, and that the upstream received nothing new. */
export function expectRefusal(tt: Assert, res: ClientResponse, want: Refusal, env: { upstream: TestUpstream }, what: string, forwardedBefore = 0): void {
  tt.equal(res.status, want.status, `${what} → ${want.status}`);
  tt.equal(res.json().errors[0]?.code, want.code, `${what}: code ${want.code}`);
  if (want.detail !== undefined) tt.equal(res.json().errors[0]?.detail, want.detail, `${what}: detail`);
  tt.equal(res.headers['www-authenticate'], want.wwwAuthenticate, `${what}: WWW-Authenticate`);
  tt.equal(res.headers['content-type'], 'application/json; charset=utf-8', `${what}: OFB error body`);
  tt.equal(env.upstream.requests.length, forwardedBefore, `${what}: nothing forwarded`);
}
