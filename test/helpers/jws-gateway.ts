/**
 * A gateway with signed-message routes (SPEC §2) in front of a recording upstream, a real HTTPS
 * mock directory and the bank signing key; plus a client that sends JWS bodies over mTLS.
 */
import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { serverBlock, startTestGateway, testPki, type TestGateway } from './gateway.js';
import { directoryBlock, startTestDirectory, type TestDirectory } from './directory.js';
import { BASE_URL, testBankKey, type BankKey } from './jws.js';
import { send, type ClientResponse } from './client.js';

/** Signed payments route: JWS request and response, idempotency (SPEC §6 example). */
export const PAYMENTS = '/open-banking/payments/v4/pix/payments';
/** Signed request only, no idempotency: the JWS bad-input tests. */
export const CONSENTS = '/open-banking/payments/v4/consents';
/** Signed request forwarded as JSON (`jws.forward: json`). */
export const JSON_FORWARD = '/open-banking/automatic-payments/v2/recurring-consents';
/** Unsigned JSON route with idempotency. */
export const UNSIGNED_IDEMPOTENT = '/open-banking/enrollments/v2/enrollments';

export interface JwsGatewayOptions {
  /** Extra `directory:` keys (cacheTtlSeconds ...). */
  readonly directory?: Record<string, number>;
  /** `replay:` section body (indented two spaces), default memory. */
  readonly replay?: string;
  /** Leave server.publicBaseUrl out (aud from the Host header). */
  readonly noPublicBaseUrl?: boolean;
  /** Sign with the PEM (default) or the JWK file. */
  readonly signingKey?: 'pem' | 'jwk';
  /** Extra `server:` keys, indented two spaces (bodyLimit ...). */
  readonly server?: string;
  /** Upstream timeout of every route. */
  readonly timeoutMs?: number;
  /** Use this directory instead of starting one. */
  readonly testDirectory?: TestDirectory;
}

export interface JwsGateway extends TestDirectory {
  readonly gw: TestGateway;
  readonly bank: BankKey;
  /** POST `body` to `path` with client1's certificate (unless `cert` says otherwise). */
  post(path: string, body: string | Buffer | undefined, options?: PostOptions): Promise<ClientResponse>;
}

export interface PostOptions {
  readonly contentType?: string | null;
  readonly headers?: OutgoingHttpHeaders;
  readonly cert?: { cert: string; key: string };
  readonly method?: string;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The routes.yaml of a signed-messages gateway. */
export async function jwsGatewayYaml(upstreamUrl: string, directory: TestDirectory, options: JwsGatewayOptions = {}): Promise<string> {
  const { dir } = await testPki();
  const bank = await testBankKey();
  const serverExtra = `${options.noPublicBaseUrl ? '' : `  publicBaseUrl: ${BASE_URL}\n`}${options.server ?? ''}`;
  const timeout = options.timeoutMs === undefined ? '' : `    timeoutMs: ${options.timeoutMs}\n`;
  const route = (path: string, extra: string) =>
    `  - path: ${path}\n    methods: [POST]\n    upstream: ${upstreamUrl}\n    mtls: required\n    fapi: true\n${timeout}${extra}`;
  return `${serverBlock(dir, serverExtra)}${directoryBlock(directory.directory, options.directory)}replay:
${options.replay ?? '  store: memory\n'}signing:
  key: ${options.signingKey === 'jwk' ? bank.jwkFile : bank.pemFile}
  kid: ${bank.kid}
  orgId: ${bank.orgId}
routes:
${route(PAYMENTS, '    jws: { request: true, response: true }\n    idempotency: true\n')}${route(CONSENTS, '    jws: { request: true }\n')}${route(
    JSON_FORWARD,
    '    jws: { request: true, forward: json }\n',
  )}${route(UNSIGNED_IDEMPOTENT, '    idempotency: true\n')}`;
}

/** Start directory + gateway for `upstreamUrl`. */
export async function startJwsGateway(t: Teardown, upstreamUrl: string, options: JwsGatewayOptions = {}): Promise<JwsGateway> {
  const directory = options.testDirectory ?? (await startTestDirectory(t));
  const gw = await startTestGateway(t, await jwsGatewayYaml(upstreamUrl, directory, options));
  const bank = await testBankKey();
  return {
    ...directory,
    gw,
    bank,
    post: (path, body, o = {}) => postTo(gw.port, gw.pki.ca.cert, o.cert ?? gw.pki.client1, path, body, o),
  };
}

/** POST a body over mTLS to a gateway port. */
export function postTo(
  port: number,
  ca: string,
  cert: { cert: string; key: string },
  path: string,
  body: string | Buffer | undefined,
  options: PostOptions = {},
): Promise<ClientResponse> {
  const contentType = options.contentType === undefined ? 'application/jwt' : options.contentType;
  return send(port, {
    method: options.method ?? 'POST',
    path,
    headers: {
      'x-fapi-interaction-id': randomUUID(),
      ...(contentType === null ? {} : { 'content-type': contentType }),
      ...options.headers,
    },
    ...(body === undefined ? {} : { body }),
    cert,
    ca,
  });
}
