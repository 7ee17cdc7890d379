/**
 * routes.yaml → validated, defaulted, cross-checked, frozen configuration.
 * YAML → `${ENV}` interpolation → JSON Schema (Ajv, defaults applied, unknown keys refused) →
 * named cross-checks → freeze. Every error names the file, the line and the key.
 */
import { readFileSync, accessSync, constants as fsConstants } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { dirname, resolve } from 'node:path';
import { isIP, BlockList } from 'node:net';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument, LineCounter, visit, isAlias, isScalar, isMap, isPair, isSeq, isScalar as isScalarNode, type Alias, type Document, type Node } from 'yaml';
import { AuthSchema, ConfigSchema, type RawConfig, type RouteConfig, type AuthConfig } from './schema.js';
import { ConfigError } from './errors.js';
import { createTrustStore } from '../tls/verify-chain.js';
import { loadSigningKey } from '../proxy/sign-response.js';

/** A route after defaults are resolved. */
/** Token checks of a route, defaults applied. */
export type RouteAuth = AuthConfig & Required<Pick<AuthConfig, 'scopes' | 'consent'>>;

export interface Route extends Omit<RouteConfig, 'auth' | 'fapi' | 'timeoutMs'> {
  /** Index in `routes`, for error messages and logs. */
  readonly index: number;
  readonly auth: RouteAuth | undefined;
  readonly fapi: boolean;
  readonly timeoutMs: number;
}

export interface Config extends Omit<RawConfig, 'routes'> {
  /** Absolute path of the file the configuration came from. */
  readonly file: string;
  readonly routes: readonly Route[];
}

const ajv = new Ajv({ useDefaults: true, allErrors: false, strict: false, coerceTypes: false });
const validate = ajv.compile<RawConfig>(ConfigSchema);
/** Ajv applies no defaults inside anyOf (auth: none | {...}): the object form gets them here. */
const applyAuthDefaults = ajv.compile<AuthConfig>(AuthSchema);

/** Load and validate a routes.yaml file; throws ConfigError. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, undefined, undefined, `cannot read the configuration file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseConfig(text, path, env);
}

/** Validate configuration text; `path` is used in messages and to resolve relative file paths. */
export function parseConfig(text: string, path: string, env: NodeJS.ProcessEnv = process.env): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineOf = (node: Node | null | undefined): number | undefined =>
    node?.range ? lines.linePos(node.range[0]).line : undefined;

  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = lines.linePos(yamlError.pos[0]).line;
    throw new ConfigError(path, line, undefined, `invalid YAML: ${yamlError.message.split('\n')[0]}`);
  }
  refuseAliasKeys(doc, path, lineOf);
  interpolateEnv(doc, env, path, lineOf);

  const raw = toJS(doc, path, lineOf);
  if (!validate(raw)) {
    throw schemaError(primaryError(validate.errors ?? []), doc, path, lineOf);
  }
  const baseDir = dirname(path);
  const located = (keyPath: readonly (string | number)[]) => ({ line: lineOf(nodeAt(doc, keyPath)), key: keyPathString(keyPath) });
  const fail = (keyPath: readonly (string | number)[], message: string): never => {
    const { line, key } = located(keyPath);
    throw new ConfigError(path, line, key, message);
  };

  const config = raw;
  for (const route of config.routes) if (typeof route.auth === 'object') applyAuthDefaults(route.auth);
  resolveFiles(config, baseDir, fail);
  checkTlsMaterial(config, fail);
  crossCheck(config, fail);

  const defaultTimeout = config.defaults.timeoutMs;
  const routes: Route[] = config.routes.map((r, index) => {
    const auth = r.auth === 'none' ? undefined : (r.auth as RouteAuth);
    return Object.freeze({
      ...r,
      index,
      auth,
      // SPEC §1 row 1: fapi defaults to true for any route whose auth is not none.
      fapi: r.fapi ?? auth !== undefined,
      timeoutMs: r.timeoutMs ?? defaultTimeout,
      upstream: new URL(r.upstream).origin,
    });
  });
  return deepFreeze({ ...config, file: path, routes });
}

/**
 * YAML → plain data. The yaml package refuses an alias to an undefined anchor and, past
 * maxAliasCount (100) expansions, an alias bomb ("billion laughs") with a ReferenceError: both are
 * configuration errors, at the line of the first alias that cannot be resolved (or the first alias).
 */
function toJS(doc: Document, path: string, lineOf: (n: Node) => number | undefined): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    let first: Alias | undefined;
    let unresolved: Alias | undefined;
    visit(doc, {
      Alias(_key, node) {
        first ??= node;
        if (node.resolve(doc) === undefined) {
          unresolved = node;
          return visit.BREAK;
        }
        return undefined;
      },
    });
    const at = unresolved ?? first;
    const message = unresolved
      ? `alias *${unresolved.source} refers to no anchor before it`
      : `too many alias expansions (${(err as Error).message})`;
    throw new ConfigError(path, at ? lineOf(at) : undefined, undefined, `invalid YAML: ${message}`);
  }
}

/**
 * uniqueKeys compares scalar keys only: `&k path: /a` then `*k : /b` would give a route two `path`
 * keys, the last silently winning. An alias is never a useful key in this file: refused.
 */
function refuseAliasKeys(doc: Document, path: string, lineOf: (n: Node) => number | undefined): void {
  visit(doc, {
    Pair(_key, pair) {
      if (isAlias(pair.key)) throw new ConfigError(path, lineOf(pair.key), undefined, `invalid YAML: an alias (*${pair.key.source}) cannot be a key`);
    },
  });
}

/** `${VAR}` or `${VAR:-default}` (the default applies when VAR is unset or empty). The default may
 * itself hold `{placeholders}` (a jwksUri template), one level deep. */
const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-((?:[^{}]|\{[^{}]*\})*))?\}/g;

/**
 * `${VAR}` in any string value is replaced by the environment variable; a missing variable is an
 * error. The value replaces the scalar after parsing, so it is never read as YAML. A `${` that is not
 * a well-formed placeholder (`${MY-SECRET}`, `${A:-${B}}`) is an error: it would otherwise become the
 * value verbatim (a secret of "${MY-SECRET}").
 */
function interpolateEnv(doc: Document, env: NodeJS.ProcessEnv, path: string, lineOf: (n: Node) => number | undefined): void {
  visit(doc, {
    Scalar(key, node, ancestry) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const fail = (message: string): never => {
        throw new ConfigError(path, lineOf(node), keyPathOfNode(ancestry, node), message);
      };
      const text = node.value;
      let out = '';
      let last = 0;
      for (const match of text.matchAll(PLACEHOLDER)) {
        const literal = text.slice(last, match.index);
        if (literal.includes('${')) fail('malformed placeholder: write ${NAME} or ${NAME:-default}, NAME being letters, digits and _');
        const [whole, name, fallback] = match as unknown as [string, string, string | undefined];
        if (fallback?.includes('${')) fail(`the default of \${${name}} cannot hold another \${...} placeholder`);
        const set = env[name];
        const value = set === undefined || set === '' ? fallback : set;
        if (value === undefined) fail(`environment variable ${name} is not set`);
        out += literal + value;
        last = match.index + whole.length;
      }
      const rest = text.slice(last);
      if (rest.includes('${')) fail('malformed placeholder: write ${NAME} or ${NAME:-default}, NAME being letters, digits and _');
      node.value = out + rest;
    },
  });
}

/** `routes[0].upstream` for a node reached through `ancestry` (as visit() reports it). */
function keyPathOfNode(ancestry: readonly unknown[], node: unknown): string {
  const keyPath: (string | number)[] = [];
  ancestry.forEach((a, i) => {
    if (isPair(a) && isScalar(a.key)) keyPath.push(String(a.key.value));
    else if (isSeq(a)) keyPath.push(a.items.indexOf((ancestry[i + 1] ?? node) as never));
  });
  return keyPathString(keyPath);
}

function keyPathString(keyPath: readonly (string | number)[]): string {
  return keyPath.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

function nodeAt(doc: Document, keyPath: readonly (string | number)[]): Node | undefined {
  for (let n = keyPath.length; n >= 0; n--) {
    const node = keyPath.length === 0 ? doc.contents : doc.getIn(keyPath.slice(0, n), true);
    if (node && typeof node === 'object' && 'range' in node) return node as Node;
  }
  return doc.contents ?? undefined;
}

/**
 * The error to report. With allErrors off, Ajv stops at the first failing keyword; when that is an
 * anyOf (`auth: none | {...}`, the enums), the errors before it are those of every branch, and the
 * first is usually "must be string" of the `none` branch — naming `routes[0].auth` for a typo inside
 * the auth object. The branch that had the right shape and failed further in is the one to report;
 * when no branch had the right shape, the alternatives are listed.
 */
function primaryError(errors: readonly ErrorObject[]): ErrorObject | undefined {
  const last = errors[errors.length - 1];
  if (last?.keyword !== 'anyOf') return last;
  const prefix = `${last.schemaPath}/`;
  const branchOf = (e: ErrorObject): string => e.schemaPath.slice(prefix.length).split('/')[0]!;
  const branches = errors.slice(0, -1).filter((e) => e.schemaPath.startsWith(prefix));
  const wrongShape = (e: ErrorObject): boolean => e.instancePath === last.instancePath && (e.keyword === 'type' || e.keyword === 'const');
  const deeper = branches.find((e) => !wrongShape(e));
  if (deeper) return primaryError(branches.filter((e) => branchOf(e) === branchOf(deeper)));
  const alternatives: string[] = [];
  for (const id of new Set(branches.map(branchOf))) {
    const own = branches.filter((e) => branchOf(e) === id);
    const constant = own.find((e) => e.keyword === 'const');
    const type = own.find((e) => e.keyword === 'type');
    if (constant) alternatives.push(JSON.stringify((constant.params as { allowedValue: unknown }).allowedValue));
    else if (type) alternatives.push(`${/^[aeiou]/.test(String(type.params.type)) ? 'an' : 'a'} ${String(type.params.type)}`);
  }
  const message = alternatives.length > 2 ? `must be one of ${alternatives.join(', ')}` : `must be ${alternatives.join(' or ')}`;
  return alternatives.length === 0 ? last : { ...last, message };
}

function schemaError(error: ErrorObject | undefined, doc: Document, path: string, lineOf: (n: Node | undefined) => number | undefined): ConfigError {
  if (!error) return new ConfigError(path, undefined, undefined, 'invalid configuration');
  const keyPath = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  if (error.keyword === 'additionalProperties') {
    const extra = String((error.params as { additionalProperty: string }).additionalProperty);
    const map = nodeAt(doc, keyPath);
    let line = lineOf(map);
    if (isMap(map)) {
      const pair = map.items.find((p) => isScalarNode(p.key) && p.key.value === extra);
      if (pair && isScalarNode(pair.key)) line = lineOf(pair.key);
    }
    return new ConfigError(path, line, keyPathString([...keyPath, extra]), 'unknown key (check the spelling: unknown keys are refused so a typo cannot disable a check)');
  }
  if (error.keyword === 'required') {
    const missing = String((error.params as { missingProperty: string }).missingProperty);
    return new ConfigError(path, lineOf(nodeAt(doc, keyPath)), keyPathString([...keyPath, missing]), 'is required');
  }
  const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues;
  const message = allowed ? `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` : (error.message ?? 'is invalid');
  return new ConfigError(path, lineOf(nodeAt(doc, keyPath)), keyPathString(keyPath) || '(root)', message);
}

const CONSENT_ID_MARKER = '__guarita_consent_id__';

/** RFC 6749 §3.3 / RFC 6750 §3 scope-token: %x21 / %x23-5B / %x5D-7E. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

type Fail = (keyPath: readonly (string | number)[], message: string) => never;

/** Relative file paths are relative to the configuration file; each must be readable now. */
function resolveFiles(config: RawConfig, baseDir: string, fail: Fail): void {
  const check = (keyPath: (string | number)[], file: string): string => {
    const abs = resolve(baseDir, file);
    try {
      accessSync(abs, fsConstants.R_OK);
    } catch {
      fail(keyPath, `file ${file} does not exist or is not readable`);
    }
    return abs;
  };
  const tls = config.server.tls;
  tls.certificates.forEach((c, i) => {
    c.cert = check(['server', 'tls', 'certificates', i, 'cert'], c.cert);
    c.key = check(['server', 'tls', 'certificates', i, 'key'], c.key);
  });
  tls.clientCa = tls.clientCa.map((f, i) => check(['server', 'tls', 'clientCa', i], f));
  tls.crl = tls.crl.map((f, i) => check(['server', 'tls', 'crl', i], f));
  const intro = config.introspection;
  if (intro) {
    for (const k of ['clientCert', 'clientKey', 'ca'] as const) {
      const v = intro[k];
      if (v !== undefined) intro[k] = check(['introspection', k], v);
    }
  }
  if (config.directory?.ca !== undefined) config.directory.ca = check(['directory', 'ca'], config.directory.ca);
  if (config.signing) config.signing.key = check(['signing', 'key'], config.signing.key);
}

/** Server certificates, keys, trust anchors and CRLs must load now, not at the first handshake. */
function checkTlsMaterial(config: RawConfig, fail: Fail): void {
  const tls = config.server.tls;
  tls.certificates.forEach((c, i) => {
    const at = ['server', 'tls', 'certificates', i];
    try {
      createSecureContext({ cert: readFileSync(c.cert), key: readFileSync(c.key) });
    } catch (err) {
      fail(at, `certificate or key cannot be used: ${(err as Error).message}`);
    }
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(readFileSync(c.cert));
    } catch (err) {
      return fail([...at, 'cert'], `not a PEM certificate: ${(err as Error).message}`);
    }
    if (Date.parse(leaf.validTo) < Date.now()) fail([...at, 'cert'], `server certificate expired on ${leaf.validTo}`);
  });
  tls.clientCa.forEach((f, i) => {
    try {
      createSecureContext({ ca: readFileSync(f) });
      new X509Certificate(readFileSync(f));
    } catch (err) {
      fail(['server', 'tls', 'clientCa', i], `not a PEM certificate: ${(err as Error).message}`);
    }
  });
  tls.crl.forEach((f, i) => {
    try {
      createSecureContext({ crl: readFileSync(f) });
      createTrustStore(tls.clientCa.map((ca) => readFileSync(ca)), [readFileSync(f)]);
    } catch (err) {
      fail(['server', 'tls', 'crl', i], `not a usable PEM CRL: ${(err as Error).message}`);
    }
  });
}

/** Rules that span several keys, checked once at start-up. */
function crossCheck(config: RawConfig, fail: Fail): void {
  const defaults = config.server.tls.certificates.filter((c) => c.hostnames === undefined);
  if (defaults.length !== 1) fail(['server', 'tls', 'certificates'], 'exactly one certificate must have no `hostnames` (the default)');

  if (config.server.ingress) {
    config.server.ingress.trustedProxies.forEach((cidr, i) => {
      if (!isCidr(cidr)) fail(['server', 'ingress', 'trustedProxies', i], `${cidr} is not a CIDR (e.g. 10.0.0.0/8)`);
    });
  }
  // The schema checks URLs by their scheme only; one that does not parse would throw a TypeError
  // when the gateway starts (or fail every request), naming neither the file nor the key.
  const url = (keyPath: (string | number)[], value: string | undefined): URL | undefined => {
    if (value === undefined) return undefined;
    const sample = value.replaceAll('{orgId}', 'org').replaceAll('{softwareId}', 'software').replaceAll('{consentId}', CONSENT_ID_MARKER);
    return URL.canParse(sample) ? new URL(sample) : fail(keyPath, `${value} is not a valid URL`);
  };
  url(['server', 'publicBaseUrl'], config.server.publicBaseUrl);
  config.server.tls.crlUrls.forEach((u, i) => url(['server', 'tls', 'crlUrls', i], u));
  url(['introspection', 'endpoint'], config.introspection?.endpoint);
  const consentUrl = url(['introspection', 'consentLookup', 'url'], config.introspection?.consentLookup?.url);
  if (consentUrl && !(consentUrl.pathname + consentUrl.search).includes(CONSENT_ID_MARKER)) {
    fail(['introspection', 'consentLookup', 'url'], 'must have {consentId} in its path or query');
  }
  url(['directory', 'jwksUri'], config.directory?.jwksUri);
  url(['replay', 'url'], config.replay.url);

  if (config.replay.store === 'redis' && config.replay.url === undefined) fail(['replay'], 'store: redis needs `url`');
  // SPEC §2: the key set is the signing organisation's own; a URL without {orgId} would serve one set to all.
  if (config.directory && !config.directory.jwksUri.includes('{orgId}')) fail(['directory', 'jwksUri'], 'must contain the {orgId} placeholder');
  if (config.signing) {
    try {
      loadSigningKey(config.signing.key);
    } catch (err) {
      fail(['signing', 'key'], `not a usable PS256 signing key (RSA private key, PEM PKCS#8 or JWK): ${(err as Error).message}`);
    }
  }
  const intro = config.introspection;
  if (intro && intro.clientSecret === undefined && (intro.clientCert === undefined || intro.clientKey === undefined)) {
    fail(['introspection'], 'set clientSecret (client_secret_basic) or clientCert and clientKey (tls_client_auth)');
  }

  const seen = new Map<string, { index: number; methods: readonly string[] | undefined }>();
  config.routes.forEach((route, i) => {
    const at = (k?: string): (string | number)[] => (k === undefined ? ['routes', i] : ['routes', i, k]);
    const upstream = url(at('upstream'), route.upstream)!;
    if (upstream.pathname !== '/' || upstream.search !== '' || upstream.hash !== '') fail(at('upstream'), 'must be an origin (scheme, host and port) without a path');
    if (route.path.length > 1 && route.path.endsWith('/')) fail(at('path'), 'must not end with "/"');
    if (route.path.includes('/./') || route.path.includes('/../') || route.path.includes('//')) fail(at('path'), 'must be a normalised path');

    const earlier = seen.get(route.path);
    if (earlier && methodsOverlap(earlier.methods, route.methods)) {
      fail(at('path'), `duplicates routes[${earlier.index}] for the same methods`);
    }
    seen.set(route.path, { index: i, methods: route.methods });

    if (route.mtls !== 'none' && config.server.tls.clientCa.length === 0 && !config.server.ingress) {
      fail(at('mtls'), 'needs server.tls.clientCa (the trust anchors for client certificates)');
    }
    const auth = route.auth === 'none' ? undefined : route.auth;
    if (auth) {
      if (!intro) fail(at('auth'), 'needs an `introspection` section');
      // FAPI 1 Advanced §8.2: a bound token can only be checked against a certificate.
      if (route.certBinding && route.mtls === 'none') fail(at('certBinding'), 'certificate binding needs `mtls: required` (or optional)');
      if (auth.permissions !== undefined && auth.consent !== 'required') fail(at('auth'), '`permissions` needs `consent: required`');
      // RFC 6750 §3 scope-token syntax: the scopes go verbatim into WWW-Authenticate scope="...".
      auth.scopes?.forEach((scope, j) => {
        if (!SCOPE_TOKEN.test(scope)) fail(['routes', i, 'auth', 'scopes', j], 'a scope is printable ASCII without spaces, quotes or backslashes (RFC 6750 §3)');
      });
    }
    if (route.fapi === false && auth) fail(at('fapi'), 'a route with token checks is a FAPI route (x-fapi-interaction-id is mandatory)');
    if (route.jws?.request) {
      if (!config.directory) fail(at('jws'), 'jws.request needs a `directory` section (the senders\' JWKS)');
      // SPEC §2: the signing organisation is the org_id of the client certificate.
      if (route.mtls !== 'required') fail(at('mtls'), 'jws.request needs `mtls: required` (the signer is the certificate\'s organisation)');
    }
    // SPEC §1 row 10: keys are scoped per client, so the route must know the client.
    if (route.idempotency && route.mtls !== 'required' && route.auth === 'none') {
      fail(at('idempotency'), 'idempotency keys are scoped per client: the route needs `mtls: required` or `auth`');
    }
    if (route.jws?.response && !config.signing) fail(at('jws'), 'jws.response needs a `signing` section');
    if (route.jws?.response && route.mtls !== 'required') fail(at('mtls'), 'jws.response needs `mtls: required` (aud is the client\'s org id)');
  });
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

/** Freezes every object reachable from `value`, also inside objects already frozen (the routes). */
function deepFreeze<T>(value: T, seen = new WeakSet<object>()): T {
  if (value && typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v, seen);
  }
  return value;
}
