/**
 * A small mock authorization server for development, tests and the demo — never for production.
 *
 * - `POST /introspect`: RFC 7662 introspection over a token table the caller controls
 *   (`tokens`: token → the claims of an active token; unknown tokens are inactive). It checks the
 *   caller's client authentication: `client_secret_basic` when `clientSecret` is set, else, over
 *   HTTPS with `tls.ca`, a verified client certificate and `client_id` in the body (tls_client_auth).
 * - `GET /consents/{consentId}`: a consent service over `consents` (→ `{"data": {...}}` or 404),
 *   for the gateway's `consentLookup`.
 * - `/register` (POST → 201) and `/register/{clientId}` (GET, PUT → 200, DELETE → 204): a
 *   registration endpoint that accepts everything and records it (`registrations`), so a DCR guard's
 *   work shows.
 * - `mode` simulates outages: `error` (500), `html` (200 text/html), `no-active` (JSON without
 *   `active`), `hang` (never answers), `reset` (drops the connection).
 */
import { randomBytes, type X509Certificate } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { basicAuthorization } from '../clients/introspection.js';
import { thumbprintOf } from '../tls/identity.js';

export type MockAsMode = 'ok' | 'error' | 'html' | 'no-active' | 'hang' | 'reset';

export interface MockAsOptions {
  readonly host?: string;
  readonly port?: number;
  /** The client id the gateway authenticates as (default `guarita`). */
  readonly clientId?: string;
  /** Require client_secret_basic with this secret; omit for tls_client_auth (HTTPS with `tls.ca`) or no client authentication. */
  readonly clientSecret?: string;
  /** Serve HTTPS; with `ca`, ask for a client certificate (tls_client_auth). */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca?: string };
}

/** One registration request (RFC 7591/7592) as the mock saw it. */
export interface RecordedRegistration {
  readonly method: string;
  readonly path: string;
  /** Whether it carried `x-dcr-verified: true` (a DCR guard checked it). */
  readonly verified: boolean;
  readonly body: string;
}

/** One introspection request as the mock saw it. */
export interface IntrospectionCall {
  readonly authorization: string | undefined;
  readonly params: Readonly<Record<string, string>>;
  /** x5t#S256 of the client certificate on the connection (HTTPS with a client certificate). */
  readonly clientCertThumbprint: string | undefined;
}

export interface MockAuthorizationServer {
  /** Origin, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** `<url>/introspect` */
  readonly introspectionEndpoint: string;
  /** `<url>/consents/{consentId}` (the gateway's consentLookup.url). */
  readonly consentUrl: string;
  /** token → claims of an active token (`active: true` is added unless the claims set it). */
  readonly tokens: Map<string, Record<string, unknown>>;
  /** consent id → the consent resource (`status`, `permissions`, `clientId` ...). */
  readonly consents: Map<string, Record<string, unknown>>;
  mode: MockAsMode;
  /** Every introspection request received, in order (its length is the call counter). */
  readonly calls: IntrospectionCall[];
  /** Consent ids requested from the consent service, in order. */
  readonly consentCalls: string[];
  /** Every request to `/register` (and below) received, in order. */
  readonly registrations: RecordedRegistration[];
  /** Register `claims` under a fresh random token and return the token. */
  issue(claims: Record<string, unknown>): string;
  close(): Promise<void>;
}

/** Start the mock on `host:port` (default 127.0.0.1, a free port). */
export async function startMockAuthorizationServer(options: MockAsOptions = {}): Promise<MockAuthorizationServer> {
  const clientId = options.clientId ?? 'guarita';
  const expectedBasic = options.clientSecret === undefined ? undefined : basicAuthorization(clientId, options.clientSecret);
  const requireClientCert = options.clientSecret === undefined && options.tls?.ca !== undefined;
  const tokens = new Map<string, Record<string, unknown>>();
  const consents = new Map<string, Record<string, unknown>>();
  const calls: IntrospectionCall[] = [];
  const consentCalls: string[] = [];
  const registrations: RecordedRegistration[] = [];

  const state = { mode: 'ok' as MockAsMode };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const url = new URL(req.url ?? '/', 'http://mock');
    if (req.method === 'POST' && url.pathname === '/introspect') {
      const params = Object.fromEntries(new URLSearchParams(body));
      const cert = peerCertificate(req);
      calls.push({ authorization: req.headers.authorization, params, clientCertThumbprint: cert });
      if (failByMode(state.mode, req, res)) return;
      if (expectedBasic !== undefined && req.headers.authorization !== expectedBasic) return json(res, 401, { error: 'invalid_client' });
      if (requireClientCert && (cert === undefined || params.client_id !== clientId)) return json(res, 401, { error: 'invalid_client' });
      const claims = params.token === undefined ? undefined : tokens.get(params.token);
      return json(res, 200, claims === undefined ? { active: false } : { active: true, ...claims });
    }
    const consent = /^\/consents\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && consent !== null) {
      const id = decodeURIComponent(consent[1] as string);
      consentCalls.push(id);
      if (failByMode(state.mode, req, res)) return;
      const record = consents.get(id);
      if (record === undefined) return json(res, 404, { errors: [{ code: 'NAO_ENCONTRADO', title: 'Not found', detail: 'no such consent' }] });
      return json(res, 200, { data: { consentId: id, ...record } });
    }
    // RFC 7591 register and RFC 7592 manage, recorded: what a DCR guard let through.
    if (url.pathname === '/register' || url.pathname.startsWith('/register/')) {
      registrations.push({ method: req.method ?? '', path: url.pathname, verified: req.headers['x-dcr-verified'] === 'true', body });
      if (req.method === 'DELETE') {
        res.writeHead(204).end();
        return;
      }
      const clientId = url.pathname.split('/')[2] ?? `client-${registrations.length}`;
      return json(res, req.method === 'POST' ? 201 : 200, { client_id: clientId, registration_client_uri: `${url.origin}/register/${clientId}` });
    }
    json(res, 404, { error: 'not_found' });
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  };
  const server: Server = options.tls
    ? createHttpsServer(
        { cert: options.tls.cert, key: options.tls.key, ...(options.tls.ca ? { ca: options.tls.ca, requestCert: true, rejectUnauthorized: false } : {}) },
        onRequest,
      )
    : createHttpServer(onRequest);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  const url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    port,
    introspectionEndpoint: `${url}/introspect`,
    consentUrl: `${url}/consents/{consentId}`,
    tokens,
    consents,
    get mode() {
      return state.mode;
    },
    set mode(mode: MockAsMode) {
      state.mode = mode;
    },
    calls,
    consentCalls,
    registrations,
    issue(claims) {
      const token = randomBytes(24).toString('base64url');
      tokens.set(token, claims);
      return token;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answer as the outage mode says; true when the request was handled (or deliberately left hanging). */
function failByMode(mode: MockAsMode, req: IncomingMessage, res: ServerResponse): boolean {
  switch (mode) {
    case 'ok':
      return false;
    case 'error':
      json(res, 500, { error: 'server_error' });
      return true;
    case 'html':
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Service temporarily unavailable</body></html>');
      return true;
    case 'no-active':
      json(res, 200, { scope: 'accounts' });
      return true;
    case 'hang':
      return true;
    case 'reset':
      req.socket.destroy();
      return true;
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function peerCertificate(req: IncomingMessage): string | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerX509Certificate !== 'function' || socket.authorized !== true) return undefined;
  const peer: X509Certificate | undefined = socket.getPeerX509Certificate();
  return peer === undefined ? undefined : thumbprintOf(peer.raw);
}
