/**
 * The single place where every `routes.yaml` option is declared, with its default and a
 * description (the descriptions become the published JSON Schema). Unknown keys are errors:
 * a typo must never silently disable a check.
 */
import { HTTP_METHODS } from '../edge/routing.js';
import { Type, type Static, type TInteger, type TString, type TObject, type TProperties } from '@sinclair/typebox';

/** Objects are closed: an unknown key is a configuration error. */
function Closed<T extends TProperties>(properties: T, description: string, extra: Record<string, unknown> = {}): TObject<T> {
  return Type.Object(properties, { additionalProperties: false, description, ...extra });
}

function Text(description: string, extra: Record<string, unknown> = {}): TString {
  return Type.String({ minLength: 1, description, ...extra });
}

const Port = (description: string, def?: number): TInteger =>
  Type.Integer({ minimum: 0, maximum: 65535, description, ...(def === undefined ? {} : { default: def }) });

const HeaderName = (description: string, def: string): TString =>
  Type.String({ pattern: '^[a-z0-9!#$%&\'*+.^_`|~-]+$', description: `${description} (lower case)`, default: def });

export const CertificateSchema = Closed(
  {
    cert: Text('PEM file with the server certificate (and its chain).'),
    key: Text('PEM file with the private key of `cert`.'),
    hostnames: Type.Optional(
      Type.Array(Text('Hostname'), {
        minItems: 1,
        description: 'SNI hostnames this certificate serves; the entry without hostnames is the default.',
      }),
    ),
  },
  'A server certificate.',
);

export const TlsSchema = Closed(
  {
    certificates: Type.Array(CertificateSchema, { minItems: 1, description: 'Server certificates; exactly one without `hostnames` is the default.' }),
    clientCa: Type.Array(Text('PEM file'), {
      default: [],
      description: 'Trust anchors for client certificates (ICP-Brasil v5/v10 chains, the Directory sandbox CA). Required when a route uses mTLS.',
    }),
    crl: Type.Array(Text('PEM file'), { default: [], description: 'CRL files checked for every client certificate.' }),
    crlUrls: Type.Array(Type.String({ pattern: '^https?://', description: 'CRL URL' }), {
      default: [],
      description: 'CRLs fetched over HTTP(S) (DER or PEM) every crlRefreshSeconds, in addition to the `crl` files.',
    }),
    crlRefreshSeconds: Type.Integer({ minimum: 10, default: 3600, description: 'How often the crlUrls are fetched.' }),
    crlMaxAgeSeconds: Type.Integer({ minimum: 60, default: 86400, description: 'A crlUrls CRL not refreshed for this long is reported down on /readyz (and fails it when listed in admin.readinessDependencies).' }),
  },
  'The mTLS listener: TLS 1.2/1.3, FAPI 1.0 Advanced §8.5 suites only on TLS 1.2, no renegotiation, no session resumption.',
);

export const IngressSchema = Closed(
  {
    port: Port('Port of the plain-HTTP listener behind a TLS-terminating ingress.'),
    host: Type.String({ default: '0.0.0.0', description: 'Address the ingress listener binds.' }),
    header: HeaderName('Header carrying the client certificate', 'x-ssl-client-cert'),
    trustedProxies: Type.Array(Text('CIDR'), { minItems: 1, description: 'CIDRs allowed to send the certificate header.' }),
  },
  'Ingress mode: the client certificate arrives in a header from a trusted proxy (a TLS-terminating ingress or Envoy XFCC); the same routes and checks apply.',
);

export const ServerSchema = Closed(
  {
    port: Port('Port of the mTLS listener.', 8443),
    host: Type.String({ default: '0.0.0.0', description: 'Address the mTLS listener binds.' }),
    publicBaseUrl: Type.Optional(
      Type.String({ pattern: '^https://[^/]+$', description: 'The URL clients use (scheme and host, no path); JWS `aud` = this + path.' }),
    ),
    tls: TlsSchema,
    ingress: Type.Optional(IngressSchema),
    maxHeaderSize: Type.Integer({ minimum: 1024, maximum: 65536, default: 16384, description: 'Largest request header block in bytes; larger → 431.' }),
    bodyLimit: Type.Integer({ minimum: 1, default: 1048576, description: 'Largest request body the gateway buffers (signed bodies), in bytes; larger → 413.' }),
    handshakeTimeoutMs: Type.Integer({ minimum: 100, default: 10000, description: 'A TLS handshake not finished in this time closes the connection.' }),
    headersTimeoutMs: Type.Integer({
      minimum: 100,
      default: 10000,
      description: 'A request whose headers are not complete this long after its first byte gets a 408 and its connection is closed.',
    }),
    keepAliveTimeoutMs: Type.Integer({
      minimum: 100,
      default: 5000,
      description: 'A connection with no request in progress (before its first request or between two) is closed after this time.',
    }),
    workers: Type.Union([Type.Integer({ minimum: 1, maximum: 64 }), Type.Literal('auto')], {
      default: 1,
      description:
        'Worker processes sharing the listeners (`auto`: one per core). With more than one, the admin port aggregates every worker, and the replay store must be `redis` (workers share no memory).',
    }),
  },
  'The client-facing listener.',
);

export const AdminSchema = Closed(
  {
    port: Port('Port of the admin listener (/healthz, /readyz, /metrics).', 9090),
    host: Type.String({ default: '127.0.0.1', description: 'Address the admin listener binds.' }),
    readinessDependencies: Type.Array(Text('Dependency name'), {
      default: [],
      uniqueItems: true,
      description:
        'Dependencies whose outage makes /readyz fail, named as in its body: `introspection`, `replayStore`, `directory`, a `crlUrls` URL, `pcm`. ' +
        'Default none: a dependency every replica shares would take every replica out of service at once; /readyz still reports its state.',
    }),
  },
  'Plain-HTTP admin listener.',
);

export const LogSchema = Closed(
  {
    level: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info', description: 'pino log level.' },
    ),
  },
  'Logging.', { default: {} },
);

export const UpstreamHeadersSchema = Closed(
  {
    interactionId: HeaderName('Interaction id sent upstream', 'x-fapi-interaction-id'),
    clientId: HeaderName('OAuth client id of the token', 'x-client-id'),
    consentId: HeaderName('Consent id from the token scope', 'x-consent-id'),
    orgId: HeaderName('Org id from the client certificate', 'x-org-id'),
    softwareId: HeaderName('Software statement id from the client certificate', 'x-software-id'),
    certThumbprint: HeaderName('x5t#S256 of the client certificate', 'x-client-cert-thumbprint'),
    tokenScope: HeaderName('Scope of the token', 'x-token-scope'),
    clientCert: HeaderName('Verified client certificate (URL-encoded PEM) on forwardClientCert routes', 'x-ssl-client-cert'),
  },
  'Names of the identity headers the gateway sets for the upstream. Inbound headers with these names are always stripped.', { default: {} },
);

export const DefaultsSchema = Closed(
  {
    timeoutMs: Type.Integer({ minimum: 1, default: 30000, description: 'Default upstream timeout: from sending the request to receiving the response headers.' }),
  },
  'Defaults for every route.', { default: {} },
);

export const AuthSchema = Closed(
  {
    scopes: Type.Optional(Type.Array(Text('Scope'), { default: [], description: 'Every scope the token must hold (check 6: 403 FORBIDDEN otherwise).' })),
    consent: Type.Optional(Type.Union([Type.Literal('required'), Type.Literal('none')], {
      default: 'none',
      description: 'Require an AUTHORISED consent from the token scope (check 7; skipped for payments tokens).',
    })),
    permissions: Type.Optional(
      Type.Union([Type.Literal('ofb'), Type.Array(Text('Permission'), { minItems: 1 })], {
        description: '`ofb` = the built-in OFB permission → endpoint table, or a list every consent must hold (check 8).',
      }),
    ),
  },
  'Access-token checks (checks 3–8: bearer token, introspection, certificate binding, scopes, consent, permissions).',
);

export const JwsRouteSchema = Closed(
  {
    request: Type.Boolean({ default: false, description: 'Verify the JWS request body: PS256, the sender\'s Directory JWKS, aud/iss/iat/jti (check 9).' }),
    response: Type.Boolean({ default: false, description: 'Sign 200/201/202/422 JSON responses with the `signing` key.' }),
    forward: Type.Union([Type.Literal('original'), Type.Literal('json')], {
      default: 'original',
      description: '`original` forwards the JWS byte for byte; `json` forwards the decoded payload as JSON.',
    }),
  },
  'Signed messages.',
);

const HttpMethod = Type.Union(HTTP_METHODS.map((m) => Type.Literal(m)));

// ---- OFB traffic limits (docs/limits.md) ----
export const RouteLimitsSchema = Closed(
  {
    perMinute: Type.Optional(
      Type.Union([Type.Literal('ofb'), Type.Integer({ minimum: 1 })], {
        description:
          'Requests per UTC minute per endpoint and origin (certificate org id; client IP without mTLS); over it → 429 with Retry-After. ' +
          '`ofb` = the OFB minimum of each endpoint, exempt endpoints unlimited; a number applies to every endpoint of the route.',
      }),
    ),
    perConsentMonth: Type.Optional(
      Type.Union([Type.Literal('ofb'), Type.Integer({ minimum: 1 })], {
        description:
          'Calls per UTC month per endpoint, consent, resource id and client org id, counting 2xx answers only (pagination follow-ups free); ' +
          'at the limit → 423. `ofb` = the OFB minimum of each endpoint, exempt endpoints unlimited.',
      }),
    ),
  },
  'OFB traffic limits of this route, counted in the replay store. A number below the OFB minimum loads with a warning.',
);

export const LimitsSchema = Closed(
  {
    globalPerSecond: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Requests per second over all routes (and all replicas sharing the store); over it → 529.' }),
    ),
    highClassPerMinute: Type.Integer({
      minimum: 1,
      default: 2500,
      description: 'Per-minute minimum of the OFB "high" class, which grows with the bank\'s active-consent stock (2500 up to 1 M consents; see docs/limits.md).',
    }),
    onStoreError: Type.Union([Type.Literal('allow'), Type.Literal('refuse')], {
      default: 'allow',
      description: 'When the store cannot count: `allow` lets the request go on (logged once per change, counted in a metric); `refuse` answers 503.',
    }),
  },
  'OFB traffic limits shared by every route (per-route limits are `routes[].limits`).',
  { default: {} },
);

export const RouteSchema = Closed(
  {
    path: Type.String({ pattern: '^/', description: 'Path prefix, matched on whole segments; the longest match wins.' }),
    methods: Type.Optional(Type.Array(HttpMethod, { minItems: 1, uniqueItems: true, description: 'Methods this route accepts (default: all).' })),
    upstream: Type.String({ pattern: '^https?://', description: 'Origin of the upstream service (scheme, host, port).' }),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, description: 'Upstream timeout for this route (default: defaults.timeoutMs).' })),
    mtls: Type.Union([Type.Literal('required'), Type.Literal('optional'), Type.Literal('none')], {
      default: 'required',
      description: 'Client certificate: required, used when presented, or ignored (check 2).',
    }),
    fapi: Type.Optional(Type.Boolean({ description: 'Require x-fapi-interaction-id (default: true when auth is not none).' })),
    auth: Type.Union([Type.Literal('none'), AuthSchema], { default: 'none', description: 'Access-token checks, or `none`.' }),
    certBinding: Type.Boolean({ default: true, description: 'Require the token to be bound to the client certificate (RFC 8705; FAPI-Adv §8.2).' }),
    jws: Type.Optional(JwsRouteSchema),
    idempotency: Type.Boolean({ default: false, description: 'Require and enforce x-idempotency-key on POST, PUT and PATCH (check 10).' }),
    forwardClientCert: Type.Boolean({ default: false, description: 'Forward the verified client certificate to the upstream (AS endpoints doing tls_client_auth).' }),
    dcr: Type.Boolean({
      default: false,
      description:
        'Front the authorization server\'s registration endpoint (RFC 7591/7592, OFB DCR profile): POST and PUT to the path or below must carry a Directory-signed software statement matching the client certificate, else 400 with an RFC 7591 error; GET and DELETE need only the certificate. Needs `mtls: required` and `directory`; excludes `auth`, `jws` and `idempotency`; methods default to GET, POST, PUT, DELETE.',
    }),
    limits: Type.Optional(RouteLimitsSchema),
  },
  'One route.',
);

export const IntrospectionSchema = Closed(
  {
    endpoint: Type.String({ pattern: '^https?://', description: 'RFC 7662 introspection endpoint.' }),
    clientId: Text('Client id of the gateway at the authorization server.'),
    clientSecret: Type.Optional(Text('client_secret_basic secret; omit to authenticate with mTLS (tls_client_auth).')),
    clientCert: Type.Optional(Text('PEM client certificate for tls_client_auth.')),
    clientKey: Type.Optional(Text('PEM key of clientCert.')),
    ca: Type.Optional(Text('PEM trust anchors for the authorization server.')),
    timeoutMs: Type.Integer({ minimum: 1, default: 2000, description: 'Introspection call timeout.' }),
    cacheTtlSeconds: Type.Integer({ minimum: 0, default: 60, description: 'Longest time an active result is cached (never past exp).' }),
    negativeCacheTtlSeconds: Type.Integer({ minimum: 0, default: 5, description: 'How long an inactive result is cached.' }),
    cacheMaxEntries: Type.Integer({ minimum: 1, default: 10000, description: 'Bound of the introspection cache.' }),
    consentStatusClaim: Type.String({ default: 'consent.status', description: 'Dot path to the consent status in the introspection JSON.' }),
    consentPermissionsClaim: Type.String({ default: 'consent.permissions', description: 'Dot path to the consent permissions.' }),
    consentClientIdClaim: Type.String({ default: 'consent.clientId', description: 'Dot path to the client id that owns the consent.' }),
    consentLookup: Type.Optional(
      Closed(
        {
          url: Type.String({ pattern: '^https?://.*\\{consentId\\}', description: 'Consent service URL with `{consentId}`.' }),
          statusPath: Type.String({ default: 'data.status', description: 'Dot path to the consent status in the consent service answer (must be AUTHORISED).' }),
          permissionsPath: Type.String({ default: 'data.permissions', description: 'Dot path to the consent permissions in the consent service answer.' }),
          clientIdPath: Type.String({ default: 'data.clientId', description: 'Dot path to the client id that owns the consent in the consent service answer (another client → 403).' }),
          cacheTtlSeconds: Type.Integer({ minimum: 0, default: 5, description: 'How long a consent service answer (found or not found) is reused; 0 keeps none (concurrent lookups of one consent still share a call).' }),
          timeoutMs: Type.Integer({ minimum: 1, default: 2000, description: 'Consent service call timeout; past it the request is refused with 503.' }),
        },
        'Read the consent from the bank consent service instead of the introspection response.',
      ),
    ),
  },
  'RFC 7662 token introspection, cached (checks 4–8).',
);

export const DirectorySchema = Closed(
  {
    jwksUri: Type.Optional(Type.String({ pattern: '^https?://', description: 'JWKS URL template with `{orgId}` and optionally `{softwareId}` (required by `jws.request` routes).' })),
    ssaJwksUri: Type.Optional(
      Type.String({
        pattern: '^https?://',
        description:
          'The Directory\'s software-statement signing keys (`dcr` routes). Default https://keystore.directory.openbankingbrasil.org.br/openbanking.jwks (production); sandbox: https://keystore.sandbox.directory.openbankingbrasil.org.br/openbanking.jwks.',
      }),
    ),
    ca: Type.Optional(Text('PEM trust anchors for the directory (default: the system store).')),
    cacheTtlSeconds: Type.Integer({ minimum: 1, default: 300, description: 'How long a fetched key set is used before refetching.' }),
    maxStaleSeconds: Type.Integer({ minimum: 0, default: 3600, description: 'How long a cached key set may be served while the directory is down.' }),
    refetchCooldownSeconds: Type.Integer({ minimum: 0, default: 60, description: 'Least time between refetches caused by an unknown kid.' }),
    timeoutMs: Type.Integer({
      minimum: 1,
      default: 3000,
      description: 'Directory JWKS fetch timeout; past it a cached key set is served within maxStaleSeconds, else the request is refused with 503.',
    }),
  },
  'The OFB Directory keystore: the senders\' JWKS for signed request bodies, and the Directory\'s own software-statement keys for `dcr` routes.',
);

export const ReplaySchema = Closed(
  {
    store: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
      default: 'memory',
      description: '`memory` for one replica; `redis` once there is more than one (a jti replayed to another replica must still be refused).',
    }),
    maxEntries: Type.Integer({ minimum: 1, default: 1000000, description: 'Bound of the in-memory store.' }),
    maxBytes: Type.Integer({ minimum: 1048576, default: 536870912, description: 'Bound of the in-memory store in bytes (jtis and stored idempotent responses).' }),
    url: Type.Optional(
      Type.String({ pattern: '^rediss?://', description: 'Redis URL of a single Redis (store: redis); `rediss://` for TLS. Exactly one of `url`, `sentinels`, `cluster`.' }),
    ),
    sentinels: Type.Optional(
      Type.Array(
        Closed(
          { host: Text('Sentinel host.'), port: Type.Integer({ minimum: 1, maximum: 65535, description: 'Sentinel port (usually 26379).' }) },
          'One Redis Sentinel.',
        ),
        { minItems: 1, description: 'Redis Sentinels that name the current master (store: redis, with `sentinelName`); the client follows a failover.' },
      ),
    ),
    sentinelName: Type.Optional(Text('Master group name the sentinels monitor (`sentinel monitor <name> ...`); with `sentinels`.')),
    sentinelUsername: Type.Optional(Text('ACL user on the sentinels themselves (else their `default` user); with `sentinels`.')),
    sentinelPassword: Type.Optional(Text('Password on the sentinels themselves (their `requirepass`, or the password of `sentinelUsername`); with `sentinels`.')),
    username: Type.Optional(Text('ACL user on the Redis master; with `sentinels` (a `url` or `cluster` URL carries its own).')),
    password: Type.Optional(Text('Password on the Redis master; with `sentinels` (a `url` or `cluster` URL carries its own).')),
    tls: Type.Optional(Type.Boolean({ description: 'TLS to the sentinels and the master; with `sentinels` (a `url` or `cluster` URL says it with `rediss://`).' })),
    cluster: Type.Optional(
      Type.Array(Type.String({ pattern: '^rediss?://' }), {
        minItems: 1,
        description:
          'Seed nodes of a Redis Cluster (store: redis), e.g. `redis://user:pass@redis-0:6379`; the client discovers the others. Every URL has the same scheme and credentials; `rediss://` for TLS.',
      }),
    ),
    keyPrefix: Type.String({ default: 'guarita:', description: 'Prefix of every Redis key.' }),
    timeoutMs: Type.Integer({ minimum: 1, default: 1000, description: 'Redis command timeout; past it the request is refused with 503.' }),
  },
  'Replay (jti) and idempotency store.',
  { default: {} },
);

export const SigningSchema = Closed(
  {
    key: Text('PEM (PKCS#8) or JWK file with the bank signing key.'),
    kid: Text('kid published in the bank JWKS.'),
    orgId: Text('The bank org id (`iss` of signed responses).'),
  },
  'Response signing key (JWS responses of `jws.response` routes).',
);

/** PCM reports (OFB metrics platform): every answered catalogue call, spooled to disk, sent in batches. */
export const PcmSchema = Closed(
  {
    reportUrl: Type.String({
      pattern: '^https?://',
      default: 'https://api.pcm.openfinancebrasil.org.br/report-api/v1/private/report/',
      description: 'PCM private report endpoint (server reports); trailing slash kept.',
    }),
    openDataReportUrl: Type.String({
      pattern: '^https?://',
      default: 'https://api.pcm.openfinancebrasil.org.br/report-api/v1/opendata/report',
      description: 'PCM open-data report endpoint (calls to open-data endpoints, which carry no client certificate).',
    }),
    tokenUrl: Type.String({
      pattern: '^https?://',
      default: 'https://auth.pcm.openfinancebrasil.org.br/token/',
      description: 'PCM token endpoint: client_credentials with tls_client_auth over mTLS (trailing slash kept).',
    }),
    clientId: Text('Client id of the bank at the PCM token endpoint (the client_id of its software statement in the OFB Directory).'),
    clientCert: Text('PEM client certificate presented to the PCM (token and report endpoints).'),
    clientKey: Text('PEM private key of clientCert.'),
    ca: Type.Optional(Text('PEM trust anchors for the PCM endpoints (default: the system store).')),
    serverOrgId: Type.Optional(Text('The bank org id reported as serverOrgId (default: signing.orgId).')),
    spoolDir: Text('Directory of the durable report queue; one per replica (a per-pod persistent volume in Kubernetes).'),
    flushSeconds: Type.Integer({ minimum: 1, default: 60, description: 'Longest time between two sends of the spooled reports.' }),
    syncIntervalMs: Type.Integer({
      minimum: 10,
      maximum: 5000,
      default: 200,
      description: 'How often the spool is fsynced (recorded reports are written to it at once, so a process crash loses none); a machine crash loses at most this window.',
    }),
    maxQueueBytes: Type.Integer({
      minimum: 65536,
      default: 16777216,
      description: 'Memory bound of the reports waiting to be written to the spool; past it new reports are dropped and counted.',
    }),
    timeoutMs: Type.Integer({ minimum: 1, default: 30000, description: 'Timeout of one call to the PCM token or report endpoint.' }),
    maxBackoffSeconds: Type.Integer({ minimum: 1, default: 300, description: 'Longest wait between two send attempts after failures (exponential backoff from 1 s).' }),
  },
  'PCM reports: every response to a call of an OFB catalogue endpoint is reported to the OFB metrics platform.',
);

export const ConfigSchema = Closed(
  {
    $schema: Type.Optional(Type.String({ description: 'JSON Schema reference for editors.' })),
    server: ServerSchema,
    admin: Type.Optional(AdminSchema),
    log: LogSchema,
    defaults: DefaultsSchema,
    upstreamHeaders: UpstreamHeadersSchema,
    introspection: Type.Optional(IntrospectionSchema),
    directory: Type.Optional(DirectorySchema),
    replay: ReplaySchema,
    signing: Type.Optional(SigningSchema),
    limits: LimitsSchema,
    pcm: Type.Optional(PcmSchema),
    routes: Type.Array(RouteSchema, { minItems: 1, description: 'Routes; the longest matching path prefix wins.' }),
  },
  'Guarita configuration (routes.yaml).',
);

export type RawConfig = Static<typeof ConfigSchema>;
export type RouteConfig = Static<typeof RouteSchema>;
export type AuthConfig = Static<typeof AuthSchema>;
export type IntrospectionConfig = Static<typeof IntrospectionSchema>;
export type DirectoryConfig = Static<typeof DirectorySchema>;
export type ReplayConfig = Static<typeof ReplaySchema>;
export type SigningConfig = Static<typeof SigningSchema>;
export type PcmConfig = Static<typeof PcmSchema>;
export type UpstreamHeaders = Static<typeof UpstreamHeadersSchema>;
export type LimitsConfig = Static<typeof LimitsSchema>;
export type RouteLimitsConfig = Static<typeof RouteLimitsSchema>;
