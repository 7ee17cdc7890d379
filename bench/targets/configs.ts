/**
 * Configuration files of the measured proxies: Guarita's routes.yaml for targets (c), (d), (e) and
 * nginx.conf for the nginx rows. Generated per run into a temp dir, with the run's PKI and ports.
 */

/** The resource the load generator reads (OFB table: GET /accounts/v2/accounts needs ACCOUNTS_READ). */
export const ACCOUNTS_PATH = '/open-banking/accounts/v2/accounts';
/** The route with signed request bodies, target (e). */
export const SIGNED_PATH = '/open-banking/accounts/v2/signed';
/** The payments route of target (p): JWS request + idempotency + signed response (SPEC §6's example). */
export const PAYMENTS_PATH = '/open-banking/payments/v4/pix/payments';

/**
 * Which token checks the gateway runs: (c) none, (d) the token pipeline, (e) the pipeline plus JWS,
 * (p) a payments route: JWS request, `idempotency: true`, signed responses.
 */
export type GatewayLevel = 'c' | 'd' | 'e' | 'p';

export interface GatewayConfigInput {
  readonly level: GatewayLevel;
  readonly port: number;
  /** Directory holding the dev PKI (server.crt/key, ca.crt). */
  readonly pkiDir: string;
  readonly upstream: string;
  /** Mock authorization server origin (d, e) and mock directory origin (e). */
  readonly authServer: string;
  readonly directory: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** `info` logs one line per request (SPEC §7); the default `warn` measures the proxy path alone. */
  readonly logLevel: string;
  /** A `pcm:` section (SPEC §11) to add, for the PCM row; none when omitted. */
  readonly pcmYaml?: string;
  /** The bank's response-signing key (PKCS#8 PEM), its kid and org id: level (p). */
  readonly signing?: { readonly key: string; readonly kid: string; readonly orgId: string };
  /** `server.workers` (issue 16); omitted = 1, no cluster primary. */
  readonly workers?: number;
  /** Admin port (workers rows: the bench waits on the primary's /readyz, which asks every worker). */
  readonly adminPort?: number;
}

/** routes.yaml for one gateway target (shapes of src/config/schema.ts). */
export function gatewayYaml(input: GatewayConfigInput): string {
  const { level, port, pkiDir } = input;
  const lines = [
    'server:',
    `  port: ${port}`,
    '  host: 127.0.0.1',
    `  publicBaseUrl: https://localhost:${port}`,
    '  tls:',
    `    certificates: [{ cert: ${pkiDir}/server.crt, key: ${pkiDir}/server.key }]`,
    `    clientCa: [${pkiDir}/ca.crt]`,
    ...(input.workers === undefined ? [] : [`  workers: ${input.workers}`]),
    `log: { level: ${input.logLevel} }`,
  ];
  if (input.adminPort !== undefined) lines.push(`admin: { port: ${input.adminPort}, host: 127.0.0.1 }`);
  if (level !== 'c') {
    lines.push(
      'introspection:',
      `  endpoint: ${input.authServer}/introspect`,
      `  clientId: ${input.clientId}`,
      `  clientSecret: ${input.clientSecret}`,
      // As long as the token lives (a day, see mocks.ts): every measured request hits the warm cache.
      '  cacheTtlSeconds: 86400',
    );
  }
  if (level === 'e' || level === 'p') lines.push('directory:', `  jwksUri: ${input.directory}/{orgId}/application.jwks`, `  ca: ${pkiDir}/ca.crt`);
  if (level === 'p') {
    const signing = input.signing;
    if (signing === undefined) throw new Error('level p needs the bank signing key');
    lines.push(`signing: { key: ${signing.key}, kid: ${signing.kid}, orgId: ${signing.orgId} }`);
  }
  if (input.pcmYaml !== undefined) lines.push(input.pcmYaml.trimEnd());
  lines.push('routes:', '  - path: /open-banking/accounts/v2', '    methods: [GET]', `    upstream: ${input.upstream}`, '    mtls: required');
  if (level === 'c') lines.push('    fapi: true');
  else lines.push('    auth: { scopes: [accounts], consent: required, permissions: ofb }');
  if (level === 'e') {
    lines.push(
      `  - path: ${SIGNED_PATH}`,
      '    methods: [POST]',
      `    upstream: ${input.upstream}`,
      '    mtls: required',
      // An explicit permission: the OFB table has no entry for this bench-only endpoint.
      '    auth: { scopes: [accounts], consent: required, permissions: [ACCOUNTS_READ] }',
      '    jws: { request: true }',
    );
  }
  if (level === 'p') {
    // As SPEC §6's payments route: a payments-scope token (the consent check is skipped by design).
    lines.push(
      `  - path: ${PAYMENTS_PATH}`,
      '    methods: [POST]',
      `    upstream: ${input.upstream}`,
      '    mtls: required',
      '    auth: { scopes: [payments], consent: required }',
      '    jws: { request: true, response: true }',
      '    idempotency: true',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** nginx variants: a plain mTLS reverse proxy, `auth_request` on every request, `auth_request` cached. */
export type NginxAuth = 'none' | 'every' | 'cached';

export interface NginxConfigInput {
  readonly auth: NginxAuth;
  readonly port: number;
  readonly pkiDir: string;
  readonly upstreamPort: number;
  readonly authServerPort: number;
  /** Access log file, or undefined for none. */
  readonly accessLog: string | undefined;
  /** `user` of the worker when nginx starts as root (it would otherwise switch to `nobody`, who cannot enter the 0700 temp dir). */
  readonly user: string | undefined;
}

/**
 * nginx.conf for `nginx -p <dir> -c nginx.conf`: every path relative to the prefix dir, so it runs as
 * an ordinary user. One worker (the Node targets are single-threaded); no limit on requests per
 * keep-alive connection (nginx closes after 1000 by default, which would add handshakes to its rows).
 */
export function nginxConf(input: NginxConfigInput): string {
  const { pkiDir } = input;
  const cached = input.auth === 'cached';
  const authRequest = input.auth === 'none' ? '' : '      auth_request /_auth;\n';
  const authLocation =
    input.auth === 'none'
      ? ''
      : `    location = /_auth {
      internal;
      proxy_pass http://authserver/auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
${cached ? '      proxy_cache auth;\n      proxy_cache_key "auth:$http_authorization";\n      proxy_cache_valid 200 300s;\n' : ''}    }
`;
  return `${input.user === undefined ? '' : `user ${input.user};\n`}worker_processes 1;
pid nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log ${input.accessLog ?? 'off'};
  client_body_temp_path tmp/body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
${cached ? '  proxy_cache_path cache keys_zone=auth:1m;\n' : ''}  keepalive_requests 100000000;
  keepalive_timeout 120s;
  upstream app { server 127.0.0.1:${input.upstreamPort}; keepalive 64; keepalive_requests 100000000; }
  upstream authserver { server 127.0.0.1:${input.authServerPort}; keepalive 64; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:${input.port} ssl;
    ssl_certificate ${pkiDir}/server.crt;
    ssl_certificate_key ${pkiDir}/server.key;
    ssl_client_certificate ${pkiDir}/ca.crt;
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets off;
    ssl_session_cache off;
    location / {
${authRequest}      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
${authLocation}  }
}
`;
}
