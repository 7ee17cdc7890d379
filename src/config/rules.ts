/**
 * The rules routes.yaml must follow beyond its schema, as a list of named rules checked in order
 * when it loads (node-oidc-provider style). Rules about one check's options are that check's
 * `validate` (src/checks/*.ts); the rules here are about sections and features no check owns.
 */
import { isIP, BlockList } from 'node:net';
import { loadSigningKey } from '../proxy/sign-response.js';
import type { RawConfig } from './schema.js';
import type { Config, Route } from './load.js';
import { clientCas, crls, serverCertificates } from './files.js';
import { routeKey, type ConfigProblem, type KeyPath } from './problems.js';

/** A rule over the whole file, checked once the schema accepted it and its file paths resolved. */
export interface ConfigRule {
  readonly name: string;
  check(config: RawConfig): readonly ConfigProblem[];
}

/** A rule over one route, checked once the routes are resolved (the shape of a check's `validate`). */
export interface RouteRule {
  readonly name: string;
  validate?(route: Route, config: Config): readonly ConfigProblem[];
  /** Settings that load but deserve a look, one sentence each (Config.warnings). */
  warnings?(route: Route, config: Config): readonly string[];
}

/** In order; the loader reports the first problem of the first rule that has one. */
export const CONFIG_RULES: readonly ConfigRule[] = [
  { name: 'server-certificates', check: serverCertificates },
  { name: 'client-cas', check: clientCas },
  { name: 'crls', check: crls },
  { name: 'default-certificate', check: defaultCertificate },
  { name: 'trusted-proxies', check: trustedProxies },
  { name: 'urls', check: urls },
  { name: 'redis-url', check: redisUrl },
  { name: 'workers-shared-state', check: workersSharedState },
  { name: 'directory-jwks-uri', check: directoryJwksUri },
  { name: 'signing-key', check: signingKey },
  { name: 'introspection-client-auth', check: introspectionClientAuth },
  { name: 'route-targets', check: routeTargets },
];

/** Route rules of features that are not SPEC §1 checks; run after every check's `validate`. */
export const ROUTE_RULES: readonly RouteRule[] = [{ name: 'response-signing', validate: responseSigning }];

function defaultCertificate(config: RawConfig): readonly ConfigProblem[] {
  const defaults = config.server.tls.certificates.filter((c) => c.hostnames === undefined);
  return defaults.length === 1 ? [] : [{ path: ['server', 'tls', 'certificates'], message: 'exactly one certificate must have no `hostnames` (the default)' }];
}

function trustedProxies(config: RawConfig): readonly ConfigProblem[] {
  const cidrs = config.server.ingress?.trustedProxies ?? [];
  return cidrs.flatMap((cidr, i) => (isCidr(cidr) ? [] : [{ path: ['server', 'ingress', 'trustedProxies', i], message: `${cidr} is not a CIDR (e.g. 10.0.0.0/8)` }]));
}

const CONSENT_ID_MARKER = '__guarita_consent_id__';

/** The URL `value` stands for, placeholders filled with samples; undefined when it does not parse. */
function sampleUrl(value: string): URL | undefined {
  const sample = value.replaceAll('{orgId}', 'org').replaceAll('{softwareId}', 'software').replaceAll('{consentId}', CONSENT_ID_MARKER);
  return URL.canParse(sample) ? new URL(sample) : undefined;
}

/**
 * The schema checks URLs by their scheme only; one that does not parse would throw a TypeError
 * when the gateway starts (or fail every request), naming neither the file nor the key.
 */
function urls(config: RawConfig): readonly ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const url = (path: KeyPath, value: string | undefined): URL | undefined => {
    if (value === undefined) return undefined;
    const parsed = sampleUrl(value);
    if (parsed === undefined) problems.push({ path, message: `${value} is not a valid URL` });
    return parsed;
  };
  url(['server', 'publicBaseUrl'], config.server.publicBaseUrl);
  config.server.tls.crlUrls.forEach((u, i) => url(['server', 'tls', 'crlUrls', i], u));
  url(['introspection', 'endpoint'], config.introspection?.endpoint);
  const consentUrl = url(['introspection', 'consentLookup', 'url'], config.introspection?.consentLookup?.url);
  if (consentUrl && !(consentUrl.pathname + consentUrl.search).includes(CONSENT_ID_MARKER)) {
    problems.push({ path: ['introspection', 'consentLookup', 'url'], message: 'must have {consentId} in its path or query' });
  }
  url(['directory', 'jwksUri'], config.directory?.jwksUri);
  url(['directory', 'ssaJwksUri'], config.directory?.ssaJwksUri);
  url(['replay', 'url'], config.replay.url);
  return problems;
}

/**
 * `store: redis` names its Redis in exactly one way: `url` (one Redis), `sentinels` + `sentinelName`
 * (Sentinel), or `cluster` (seed nodes). The Sentinel-only keys are refused elsewhere (a URL carries
 * its own credentials and TLS), and the cluster URLs must agree (one set of client options for every node).
 */
function redisUrl(config: RawConfig): readonly ConfigProblem[] {
  const replay = config.replay;
  const modes = (['url', 'sentinels', 'cluster'] as const).filter((k) => replay[k] !== undefined);
  const sentinelOnly = (['sentinelName', 'sentinelUsername', 'sentinelPassword', 'username', 'password', 'tls'] as const).filter((k) => replay[k] !== undefined);
  if (replay.store !== 'redis') return [];
  if (modes.length === 0) return [{ path: ['replay'], message: 'store: redis needs exactly one of `url`, `sentinels` (with `sentinelName`) or `cluster`' }];
  if (modes.length > 1) {
    return [{ path: ['replay', modes[1] as string], message: `\`${modes.join('` and `')}\` are exclusive: store: redis takes exactly one of \`url\`, \`sentinels\`, \`cluster\`` }];
  }
  const problems: ConfigProblem[] = [];
  if (replay.sentinels !== undefined) {
    if (replay.sentinelName === undefined) problems.push({ path: ['replay', 'sentinelName'], message: '`sentinels` needs `sentinelName` (the master group name the sentinels monitor)' });
  } else {
    for (const key of sentinelOnly) {
      problems.push({ path: ['replay', key], message: `only used with \`sentinels\` (a \`${modes[0]}\` URL carries its own credentials and TLS scheme)` });
    }
  }
  if (replay.cluster !== undefined) {
    const parsed = replay.cluster.map((u) => (URL.canParse(u) ? new URL(u) : undefined));
    parsed.forEach((u, i) => {
      if (u === undefined) problems.push({ path: ['replay', 'cluster', i], message: `${replay.cluster?.[i] ?? ''} is not a URL` });
      else if (u.hostname === '') problems.push({ path: ['replay', 'cluster', i], message: 'names no host' });
    });
    const first = parsed[0];
    parsed.forEach((u, i) => {
      if (i === 0 || u === undefined || first === undefined) return;
      if (u.protocol !== first.protocol || u.username !== first.username || u.password !== first.password) {
        problems.push({ path: ['replay', 'cluster', i], message: 'every cluster URL must have the same scheme and credentials as the first (one set of client options for every node)' });
      }
    });
  }
  return problems;
}

/**
 * Workers share no memory: a jti or idempotency key one worker recorded in its memory store would
 * be accepted again by another (SPEC §2 replay, §1 row 10), so more than one worker needs Redis.
 */
function workersSharedState(config: RawConfig): readonly ConfigProblem[] {
  if (config.server.workers === 1 || config.replay.store !== 'memory') return [];
  const shared = config.routes.findIndex((r) => r.jws?.request === true || r.idempotency === true);
  if (shared === -1) return [];
  return [
    {
      path: ['server', 'workers'],
      message:
        `workers share no memory, and routes[${shared}] records jtis or idempotency keys that every worker must see: ` +
        'set `replay: { store: redis, url: ... }`, or `workers: 1`',
    },
  ];
}

/** SPEC §2: the key set is the signing organisation's own; a URL without {orgId} would serve one set to all. */
function directoryJwksUri(config: RawConfig): readonly ConfigProblem[] {
  if (config.directory?.jwksUri === undefined || config.directory.jwksUri.includes('{orgId}')) return [];
  return [{ path: ['directory', 'jwksUri'], message: 'must contain the {orgId} placeholder' }];
}

function signingKey(config: RawConfig): readonly ConfigProblem[] {
  if (config.signing === undefined) return [];
  try {
    loadSigningKey(config.signing.key);
    return [];
  } catch (err) {
    return [{ path: ['signing', 'key'], message: `not a usable PS256 signing key (RSA private key, PEM PKCS#8 or JWK): ${(err as Error).message}` }];
  }
}

function introspectionClientAuth(config: RawConfig): readonly ConfigProblem[] {
  const intro = config.introspection;
  if (intro === undefined || intro.clientSecret !== undefined || (intro.clientCert !== undefined && intro.clientKey !== undefined)) return [];
  return [{ path: ['introspection'], message: 'set clientSecret (client_secret_basic) or clientCert and clientKey (tls_client_auth)' }];
}

/** Each route: an upstream origin, a normalised path, and no other route for the same path and methods. */
function routeTargets(config: RawConfig): readonly ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, { index: number; methods: readonly string[] | undefined }>();
  config.routes.forEach((route, index) => {
    const at = (key: string): KeyPath => routeKey({ index }, key);
    const upstream = sampleUrl(route.upstream);
    if (upstream === undefined) problems.push({ path: at('upstream'), message: `${route.upstream} is not a valid URL` });
    else if (upstream.pathname !== '/' || upstream.search !== '' || upstream.hash !== '') {
      problems.push({ path: at('upstream'), message: 'must be an origin (scheme, host and port) without a path' });
    }
    if (route.path.length > 1 && route.path.endsWith('/')) problems.push({ path: at('path'), message: 'must not end with "/"' });
    if (route.path.includes('/./') || route.path.includes('/../') || route.path.includes('//')) problems.push({ path: at('path'), message: 'must be a normalised path' });
    const earlier = seen.get(route.path);
    if (earlier && methodsOverlap(earlier.methods, route.methods)) {
      problems.push({ path: at('path'), message: `duplicates routes[${earlier.index}] for the same methods` });
    }
    seen.set(route.path, { index, methods: route.methods });
  });
  return problems;
}

/** SPEC §2: signed responses need the bank's key, and `aud` is the client certificate's org id. */
function responseSigning(route: Route, config: Config): readonly ConfigProblem[] {
  if (route.jws?.response !== true) return [];
  const problems: ConfigProblem[] = [];
  if (config.signing === undefined) problems.push({ path: routeKey(route, 'jws'), message: 'jws.response needs a `signing` section' });
  if (route.mtls !== 'required') problems.push({ path: routeKey(route, 'mtls'), message: "jws.response needs `mtls: required` (aud is the client's org id)" });
  return problems;
}

function methodsOverlap(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  return a.some((m) => b.includes(m));
}

function isCidr(cidr: string): boolean {
  const [address, bits, ...rest] = cidr.split('/');
  if (rest.length > 0 || address === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const family = isIP(address);
  if (family === 0 || Number(bits) > (family === 4 ? 32 : 128)) return false;
  try {
    new BlockList().addSubnet(address, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    return true;
  } catch {
    return false;
  }
}
