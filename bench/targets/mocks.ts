/**
 * Mock authorization server and mock OFB Directory, for targets (d), (e) and nginx + auth_request.
 * `node mocks.js '<MockOptions as JSON>'` prints `READY {"as":PORT,"directory":PORT}`.
 *
 * - POST /introspect (RFC 7662, client_secret_basic): the bench token is active and bound to the load
 *   generator's certificate, with an AUTHORISED consent; so is the payments token (scope `payments`,
 *   target (p)); any other token is inactive.
 * - GET /auth (for nginx `auth_request`, which only looks at the status): 200 for the bench token, else 401.
 * - HTTPS GET /{orgId}/application.jwks: the load generator organisation's PS256 public key.
 */
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

/** Everything the mocks need to know, from the orchestrator. */
export interface MockOptions {
  readonly token: string;
  /** A token with the `payments` scope (target (p)), same client and binding. */
  readonly paymentsToken: string;
  readonly clientId: string;
  /** `introspection.clientId:clientSecret` of the gateway. */
  readonly basicAuth: string;
  /** x5t#S256 of the load generator's client certificate. */
  readonly thumbprint: string;
  readonly orgId: string;
  /** PEM files: the directory's TLS certificate and key, the org's public signing key. */
  readonly serverCert: string;
  readonly serverKey: string;
  readonly signingPublicKey: string;
  readonly kid: string;
}

const options = JSON.parse(process.argv[2] ?? '{}') as MockOptions;
const expectedAuthorization = `Basic ${Buffer.from(options.basicAuth).toString('base64')}`;
const ACTIVE = JSON.stringify({
  active: true,
  scope: 'openid accounts consent:urn:bank:c1',
  client_id: options.clientId,
  // A day: longer than the longest run the flags allow, so the token never lapses mid-run.
  exp: Math.floor(Date.now() / 1000) + 86_400,
  iat: Math.floor(Date.now() / 1000),
  token_type: 'Bearer',
  cnf: { 'x5t#S256': options.thumbprint },
  consent: { status: 'AUTHORISED', permissions: ['ACCOUNTS_READ'], clientId: options.clientId },
});
const PAYMENTS = JSON.stringify({ ...(JSON.parse(ACTIVE) as object), scope: 'openid payments consent:urn:bank:p1' });
const INACTIVE = JSON.stringify({ active: false });

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function authServer(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/introspect') {
      if (req.headers.authorization !== expectedAuthorization) return send(res, 401, '{"error":"invalid_client"}');
      const token = new URLSearchParams(body).get('token');
      return send(res, 200, token === options.token ? ACTIVE : token === options.paymentsToken ? PAYMENTS : INACTIVE);
    }
    if (req.url === '/auth') return send(res, req.headers.authorization === `Bearer ${options.token}` ? 200 : 401, '{}');
    send(res, 404, '{}');
  });
}

const jwk = { ...createPublicKey(readFileSync(options.signingPublicKey)).export({ format: 'jwk' }), kid: options.kid, alg: 'PS256', use: 'sig' };
const JWKS = JSON.stringify({ keys: [jwk] });

function directory(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  send(res, req.url === `/${options.orgId}/application.jwks` ? 200 : 404, req.url === `/${options.orgId}/application.jwks` ? JWKS : '{}');
}

const as = createHttp(authServer);
as.keepAliveTimeout = 120_000;
const dir = createHttps({ cert: readFileSync(options.serverCert), key: readFileSync(options.serverKey) }, directory);
dir.keepAliveTimeout = 120_000;
as.listen(0, '127.0.0.1', () =>
  dir.listen(0, '127.0.0.1', () => {
    const port = (s: typeof as | typeof dir) => (s.address() as AddressInfo).port;
    console.log(`READY ${JSON.stringify({ as: port(as), directory: port(dir) })}`);
  }),
);
process.on('SIGTERM', () => process.exit(0));
