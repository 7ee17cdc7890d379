// Property-based tests of the configuration loader (SPEC §6): whatever the file holds, the loader
// either returns a frozen configuration or throws a ConfigError naming the file, the line and the
// key — never anything else, never slowly; what the schema or a cross-check refuses is refused; what
// is written is what is loaded; `${VAR}` substitutes exactly the value.
import t from 'tap';
import { deepStrictEqual } from 'node:assert';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { stringify, parseDocument, LineCounter, isMap, isScalar, type Node, type Document } from 'yaml';
import { loadConfig, type Config } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { testPki } from '../helpers/gateway.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type KeyPath = (string | number)[];

/** Each loader call must answer within this (a hang or an alias bomb fails the property). */
const MAX_MS = 2000;
const RUNS = Number(process.env.GUARITA_PROPERTY_RUNS ?? 100);

const workDir = mkdtempSync(join(tmpdir(), 'guarita-cfg-prop-'));
process.once('exit', () => rmSync(workDir, { recursive: true, force: true }));
const file = join(workDir, 'routes.yaml');

type Outcome = { readonly config: Config; readonly error?: undefined } | { readonly config?: undefined; readonly error: ConfigError };

/** Write `text` to the config file and load it; anything thrown but a ConfigError fails the test. */
function attempt(text: string | Uint8Array, env: NodeJS.ProcessEnv = {}): Outcome {
  writeFileSync(file, text);
  const started = performance.now();
  let outcome: Outcome;
  try {
    outcome = { config: loadConfig(file, env) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (err.file !== file || !err.message.startsWith(`${file}`)) throw new Error(`the error does not name the file: ${err.message}`);
    outcome = { error: err };
  }
  const ms = performance.now() - started;
  if (ms > MAX_MS) throw new Error(`the loader took ${Math.round(ms)} ms`);
  return outcome;
}

function keyPathString(keyPath: readonly (string | number)[]): string {
  return keyPath.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

function clone<T extends Json>(value: T): T {
  return structuredClone(value);
}

function getAt(value: Json | undefined, path: readonly (string | number)[]): Json | undefined {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, Json>)[k];
  }
  return v;
}

function isObject(v: Json | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Every node under `value` with its path (the root excluded). */
function* nodes(value: Json, path: KeyPath = []): Generator<{ path: KeyPath; value: Json }> {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      yield { path: [...path, i], value: value[i]! };
      yield* nodes(value[i]!, [...path, i]);
    }
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      yield { path: [...path, k], value: v };
      yield* nodes(v, [...path, k]);
    }
  }
}

// ---- The schema, walked like the data ---------------------------------------------------------

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  default?: unknown;
}

function schemaAt(path: readonly (string | number)[]): SchemaNode | undefined {
  let s: SchemaNode | undefined = ConfigSchema as unknown as SchemaNode;
  for (const k of path) {
    if (s?.anyOf) s = s.anyOf.find((b) => b.type === (typeof k === 'number' ? 'array' : 'object'));
    s = typeof k === 'number' ? s?.items : s?.properties?.[k];
  }
  return s;
}

/** The object form of a schema node (auth is `none` or an object). */
function objectSchema(s: SchemaNode | undefined): SchemaNode | undefined {
  return s?.anyOf ? s.anyOf.find((b) => b.type === 'object') : s;
}

const ajv = new Ajv({ strict: false, coerceTypes: false });
const compiled = new WeakMap<SchemaNode, ValidateFunction>();
function schemaAccepts(s: SchemaNode, value: unknown): boolean {
  let v = compiled.get(s);
  if (!v) {
    v = ajv.compile(s);
    compiled.set(s, v);
  }
  // Validation applies no defaults here, so a clone is not needed; the value is a scalar anyway.
  return v(value);
}

function allSchemaKeys(s: SchemaNode, into = new Set<string>()): Set<string> {
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    into.add(k);
    allSchemaKeys(p, into);
  }
  if (s.items) allSchemaKeys(s.items, into);
  for (const b of s.anyOf ?? []) allSchemaKeys(b, into);
  return into;
}
const KNOWN_KEYS = allSchemaKeys(ConfigSchema as unknown as SchemaNode);

// ---- Where the loader should point ------------------------------------------------------------

function lineOfNode(doc: Document, lines: LineCounter, path: readonly (string | number)[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)) as Node | null | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) return lines.linePos(node.range[0]).line;
  }
  return 1;
}

/** Line of the key `path[last]` in its map. */
function lineOfKey(doc: Document, lines: LineCounter, path: readonly (string | number)[]): number {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  if (isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[path.length - 1]);
    if (pair && isScalar(pair.key) && pair.key.range) return lines.linePos(pair.key.range[0]).line;
  }
  throw new Error(`no key at ${keyPathString(path)}`);
}

function located(text: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  return { doc: parseDocument(text, { lineCounter: lines }), lines };
}

// ---- Valid configurations ---------------------------------------------------------------------

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const segment = fc.stringMatching(/^[a-z0-9][a-z0-9._~-]{0,7}$/).filter((s) => s !== '.' && s !== '..');
const routePath = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => `/${s.join('/')}`);
const origin = fc
  .tuple(
    fc.constantFrom('http', 'https'),
    fc.constantFrom('127.0.0.1', 'localhost', 'bank.internal', '[::1]', '10.1.2.3'),
    fc.integer({ min: 1, max: 65535 }).filter((p) => p !== 80 && p !== 443),
  )
  .map(([scheme, host, port]) => `${scheme}://${host}:${port}`);
const scopeToken = fc.stringMatching(/^[\x21\x23-\x5B\x5D-\x7E]{1,12}$/).filter((s) => !s.includes('${')); // `${` is a placeholder
const headerName = fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,16}$/);
/** Any non-empty text, for keys the schema only asks to be a non-empty string. */
const anyText = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 24 }),
    fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }),
    fc.constantFrom('yes', 'no', 'null', '~', '0x1F', '1e3', '-', '- a', 'a: b', '#x', ' x ', '*a', '&a', '!!int', '{a}', '[a]', '|', '>', '"', "'", '%', '@', '`', '$X', '$'),
  )
  // `${` in a file is a placeholder; written-out values never hold one.
  .filter((s) => !s.includes('${'));
const posInt = (min: number, max = 2 ** 31 - 1) => fc.integer({ min, max });

const routeArb = fc.record(
  {
    path: routePath,
    methods: fc.subarray([...METHODS], { minLength: 1 }),
    upstream: origin,
    timeoutMs: posInt(1),
    mtls: fc.constantFrom('required', 'optional', 'none'),
    fapi: fc.boolean(),
    auth: fc.oneof(
      fc.constant<Json>('none'),
      fc.record(
        {
          scopes: fc.array(scopeToken, { maxLength: 3 }),
          consent: fc.constantFrom('required', 'none'),
          permissions: fc.oneof(fc.constant<Json>('ofb'), fc.array(fc.stringMatching(/^[A-Z_]{1,20}$/), { minLength: 1, maxLength: 3 })),
        },
        { requiredKeys: [] },
      ),
    ),
    certBinding: fc.boolean(),
    jws: fc.record({ request: fc.boolean(), response: fc.boolean(), forward: fc.constantFrom('original', 'json') }, { requiredKeys: [] }),
    idempotency: fc.boolean(),
    forwardClientCert: fc.boolean(),
  },
  { requiredKeys: ['path', 'upstream'] },
);

interface Pki {
  readonly serverCrt: string;
  readonly serverKey: string;
  readonly ca: string;
  readonly signingKey: string;
  readonly clientCrt: string;
  readonly clientKey: string;
}

function configArb(pki: Pki): fc.Arbitrary<JsonObject> {
  const cidr = fc.constantFrom('10.0.0.0/8', '192.168.1.0/24', '127.0.0.1/32', '::1/128', 'fd00::/8');
  const server = fc.record(
    {
      port: posInt(0, 65535),
      host: fc.constantFrom('127.0.0.1', '0.0.0.0', '::', 'localhost'),
      publicBaseUrl: fc.constantFrom('https://matls-api.bank.example', 'https://localhost:8443'),
      tls: fc.record(
        {
          certificates: fc.array(fc.array(fc.domain(), { minLength: 1, maxLength: 2 }), { maxLength: 2 }).map((named) => [
            { cert: pki.serverCrt, key: pki.serverKey } as Json,
            ...named.map((hostnames) => ({ hostnames, cert: pki.serverCrt, key: pki.serverKey })),
          ]),
          clientCa: fc.constant([pki.ca]),
          crl: fc.constant([]),
          crlUrls: fc.array(fc.constantFrom('https://crl.example/ac.crl', 'http://127.0.0.1:1/x.crl'), { maxLength: 2 }),
          crlRefreshSeconds: posInt(10),
          crlMaxAgeSeconds: posInt(60),
        },
        { requiredKeys: ['certificates'] },
      ),
      ingress: fc.record(
        { port: posInt(0, 65535), host: fc.constantFrom('0.0.0.0', '127.0.0.1'), header: headerName, trustedProxies: fc.array(cidr, { minLength: 1, maxLength: 3 }) },
        { requiredKeys: ['port', 'trustedProxies'] },
      ),
      maxHeaderSize: posInt(1024, 65536),
      bodyLimit: posInt(1),
    },
    { requiredKeys: ['tls'] },
  );
  const introspection = fc.record(
    {
      endpoint: origin.map((o) => `${o}/token/introspection`),
      clientId: anyText,
      clientSecret: anyText,
      timeoutMs: posInt(1),
      cacheTtlSeconds: posInt(0),
      negativeCacheTtlSeconds: posInt(0),
      cacheMaxEntries: posInt(1),
      consentStatusClaim: anyText,
      consentPermissionsClaim: anyText,
      consentClientIdClaim: anyText,
      consentLookup: fc.record(
        {
          url: origin.map((o) => `${o}/consents/{consentId}`),
          statusPath: anyText,
          permissionsPath: anyText,
          clientIdPath: anyText,
          cacheTtlSeconds: posInt(0),
          timeoutMs: posInt(1),
        },
        { requiredKeys: ['url'] },
      ),
    },
    { requiredKeys: ['endpoint', 'clientId', 'clientSecret'] },
  );
  const directory = fc.record(
    {
      jwksUri: fc.constantFrom('https://keystore.example/{orgId}/application.jwks', 'http://127.0.0.1:9200/{orgId}/{softwareId}.jwks'),
      ca: fc.constant(pki.ca),
      cacheTtlSeconds: posInt(1),
      maxStaleSeconds: posInt(0),
      refetchCooldownSeconds: posInt(0),
      timeoutMs: posInt(1),
    },
    { requiredKeys: ['jwksUri'] },
  );
  const replay = fc.oneof(
    fc.record({ store: fc.constant('memory'), maxEntries: posInt(1), maxBytes: posInt(1048576), keyPrefix: anyText, timeoutMs: posInt(1) }, { requiredKeys: [] }),
    fc.record({ store: fc.constant('redis'), url: fc.constantFrom('redis://redis:6379', 'rediss://10.0.0.1:6380/2'), keyPrefix: anyText, timeoutMs: posInt(1) }, { requiredKeys: ['store', 'url'] }),
  );
  return fc
    .record(
      {
        server,
        admin: fc.record({ port: posInt(0, 65535), host: fc.constantFrom('127.0.0.1', '0.0.0.0') }, { requiredKeys: [] }),
        log: fc.record({ level: fc.constantFrom('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') }, { requiredKeys: [] }),
        defaults: fc.record({ timeoutMs: posInt(1) }, { requiredKeys: [] }),
        upstreamHeaders: fc.record(
          { interactionId: headerName, clientId: headerName, consentId: headerName, orgId: headerName, softwareId: headerName, certThumbprint: headerName, tokenScope: headerName, clientCert: headerName },
          { requiredKeys: [] },
        ),
        introspection,
        directory,
        replay,
        signing: fc.record({ key: fc.constant(pki.signingKey), kid: anyText, orgId: anyText }),
        routes: fc.array(routeArb, { minLength: 1, maxLength: 4 }),
      },
      { requiredKeys: ['server', 'routes'] },
    )
    .map((c) => repair(clone(c as unknown as JsonObject), pki));
}

/** Bend a generated configuration until the rules (src/config/rules.ts, each check's validate) accept it. */
function repair(config: JsonObject, pki: Pki): JsonObject {
  const routes = config.routes as JsonObject[];
  const server = config.server as JsonObject;
  const tls = server.tls as JsonObject;
  routes.forEach((route, i) => {
    route.path = `/r${i}${route.path as string}`; // distinct paths
    const auth = isObject(route.auth) ? route.auth : undefined;
    const jws = isObject(route.jws) ? route.jws : undefined;
    if (jws?.request === true || jws?.response === true) route.mtls = 'required';
    if (route.idempotency === true && route.mtls !== undefined && route.mtls !== 'required' && auth === undefined) route.mtls = 'required';
    if (auth) {
      if (auth.permissions !== undefined) auth.consent = 'required';
      if (route.fapi === false) delete route.fapi;
      if (route.mtls === 'none') route.certBinding = false;
      config.introspection ??= { endpoint: 'http://127.0.0.1:9100/introspect', clientId: 'guarita', clientSecret: 's' };
    }
    if (jws?.request === true) config.directory ??= { jwksUri: 'https://keystore.example/{orgId}/application.jwks' };
    if (jws?.response === true) config.signing ??= { key: pki.signingKey, kid: 'k', orgId: 'o' };
    if (route.mtls !== 'none' && server.ingress === undefined) tls.clientCa = [pki.ca];
  });
  return config;
}

const serializers: Record<string, (v: Json) => string> = {
  block: (v) => stringify(v),
  flow: (v) => stringify(v, { collectionStyle: 'flow' }),
  json: (v) => JSON.stringify(v, null, 2),
  quoted: (v) => stringify(v, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' }),
};
const serializer = fc.constantFrom(...Object.keys(serializers));

function expectLoads(text: string, env: NodeJS.ProcessEnv = {}): Config {
  const outcome = attempt(text, env);
  if (outcome.error) throw new Error(`a valid configuration was refused: ${outcome.error.message}\n${text}`);
  return outcome.config;
}

function expectRefused(text: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  const outcome = attempt(text, env);
  if (!outcome.error) throw new Error(`an invalid configuration was accepted:\n${text}`);
  return outcome.error;
}

/** The effective value of a written key (auth: none is "no token checks", stored as undefined). */
function effective(config: Config, path: KeyPath): unknown {
  let v: unknown = config;
  for (const k of path) v = v === null || typeof v !== 'object' ? undefined : (v as Record<string | number, unknown>)[k];
  return v;
}

function assertRoundTrip(model: JsonObject, config: Config): void {
  for (const { path, value } of nodes(model)) {
    if (value !== null && typeof value === 'object') continue;
    const got = effective(config, path);
    const routeAuthNone = path.length === 3 && path[0] === 'routes' && path[2] === 'auth' && value === 'none';
    const expected = routeAuthNone ? undefined : value;
    if (!Object.is(got, expected)) {
      throw new Error(`${keyPathString(path)}: wrote ${JSON.stringify(value)}, loaded ${JSON.stringify(got)}`);
    }
  }
  // Keys not written get their documented defaults.
  const defaults = model.defaults as JsonObject | undefined;
  (model.routes as JsonObject[]).forEach((r, i) => {
    const route = config.routes[i]!;
    const expect = (name: string, got: unknown, want: unknown) => {
      if (!Object.is(got, want)) throw new Error(`routes[${i}].${name}: default ${JSON.stringify(want)} expected, got ${JSON.stringify(got)}`);
    };
    if (r.mtls === undefined) expect('mtls', route.mtls, 'required');
    if (r.timeoutMs === undefined) expect('timeoutMs', route.timeoutMs, defaults?.timeoutMs ?? 30000);
    if (r.fapi === undefined) expect('fapi', route.fapi, isObject(r.auth));
    if (r.certBinding === undefined) expect('certBinding', route.certBinding, true);
  });
  if (config.routes.length !== (model.routes as Json[]).length) throw new Error('routes lost');
  if (!deepFrozen(config)) throw new Error('the configuration is not frozen');
}

function deepFrozen(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return true;
  return Object.isFrozen(v) && Object.values(v).every(deepFrozen);
}

// ---- Mutations that must be refused -----------------------------------------------------------

interface Mutation {
  readonly name: string;
  /** The key the error must name. */
  readonly key: KeyPath;
  /** Whether the line is that of the key (an unknown key) rather than of the value / enclosing map. */
  readonly lineOfKey: boolean;
  readonly config: JsonObject;
}

const unknownKeyName = fc
  .oneof(fc.stringMatching(/^[A-Za-z_$][A-Za-z0-9_-]{0,12}$/), fc.constantFrom('mtsl', 'Path', 'upstreams', 'timeout', 'auht', 'scope', 'tls ', ' port', '__proto__', 'constructor', 'toString', '<<'))
  .filter((k) => !KNOWN_KEYS.has(k));

/** Values that are not valid for some schema; each mutation keeps the ones the target refuses. */
const WRONG_VALUES: Json[] = [null, true, false, 0, -1, -30000, 1.5, 65536, 1e300, '', 'x', 'sometimes', 'REQUIRED', 'ftp://x', 'Upper-Case', 'none ', ' /x', 'verbose', []];

function mutationArb(pki: Pki): fc.Arbitrary<Mutation> {
  return fc.tuple(configArb(pki), fc.nat(), fc.nat(), unknownKeyName, fc.constantFrom('unknown', 'delete', 'wrong', 'cross')).map(([base, pick, pick2, extra, kind]) => {
    const config = clone(base);
    const all = [...nodes(config)];
    if (kind === 'unknown') {
      const objects: KeyPath[] = [[], ...all.filter((n) => isObject(n.value)).map((n) => n.path)];
      const at = objects[pick % objects.length]!;
      const target = at.length === 0 ? config : (getAt(config, at) as JsonObject);
      // defineProperty: `__proto__` must become an own key, as YAML makes it.
      Object.defineProperty(target, extra, { value: 1, enumerable: true, writable: true, configurable: true });
      return { name: `unknown key ${JSON.stringify(extra)}`, key: [...at, extra], lineOfKey: true, config };
    }
    if (kind === 'delete') {
      const candidates: KeyPath[] = [];
      for (const n of [{ path: [] as KeyPath, value: config as Json }, ...all]) {
        if (!isObject(n.value)) continue;
        const s = objectSchema(n.path.length === 0 ? (ConfigSchema as unknown as SchemaNode) : schemaAt(n.path));
        for (const k of s?.required ?? []) {
          if (k in n.value && s?.properties?.[k]?.default === undefined) candidates.push([...n.path, k]);
        }
      }
      const at = candidates[pick % candidates.length]!;
      delete (getAt(config, at.slice(0, -1)) as JsonObject)[at[at.length - 1] as string];
      return { name: 'required key deleted', key: at, lineOfKey: false, config };
    }
    if (kind === 'wrong') {
      const at = all[pick % all.length]!.path;
      const s = schemaAt(at)!;
      const wrong = WRONG_VALUES.filter((v) => !schemaAccepts(s, v));
      const value = wrong[pick2 % wrong.length]!;
      if (typeof at[at.length - 1] === 'number') (getAt(config, at.slice(0, -1)) as Json[])[at[at.length - 1] as number] = value;
      else (getAt(config, at.slice(0, -1)) as JsonObject)[at[at.length - 1] as string] = value;
      return { name: `wrong value ${JSON.stringify(value)}`, key: at, lineOfKey: false, config };
    }
    return crossMutation(config, pick, pick2, pki);
  });
}

/** Values the schema accepts but a rule (src/config/rules.ts, a check's validate) refuses. */
function crossMutation(config: JsonObject, pick: number, pick2: number, pki: Pki): Mutation {
  const routes = config.routes as JsonObject[];
  const i = pick % routes.length;
  const route = routes[i]!;
  const tls = (config.server as JsonObject).tls as JsonObject;
  const cases: (() => Omit<Mutation, 'config' | 'lineOfKey'>)[] = [
    () => {
      route.upstream = `${route.upstream as string}/base`;
      return { name: 'upstream with a path', key: ['routes', i, 'upstream'] };
    },
    () => {
      route.path = `${route.path as string}/`;
      return { name: 'path ending with /', key: ['routes', i, 'path'] };
    },
    () => {
      route.path = `${route.path as string}//x`;
      return { name: 'path with //', key: ['routes', i, 'path'] };
    },
    () => {
      routes.push(clone(route));
      return { name: 'duplicate route', key: ['routes', routes.length - 1, 'path'] };
    },
    () => {
      config.replay = { store: 'redis' };
      return { name: 'redis without url', key: ['replay'] };
    },
    () => {
      config.directory = { jwksUri: 'https://keystore.example/application.jwks' };
      return { name: 'jwksUri without {orgId}', key: ['directory', 'jwksUri'] };
    },
    () => {
      Object.assign(route, { mtls: 'optional', auth: 'none', idempotency: true });
      delete route.jws;
      tls.clientCa = [pki.ca];
      return { name: 'idempotency without a client', key: ['routes', i, 'idempotency'] };
    },
    () => {
      Object.assign(route, { mtls: 'required', auth: { permissions: 'ofb', consent: 'none' } });
      delete route.fapi;
      tls.clientCa = [pki.ca];
      config.introspection ??= { endpoint: 'http://127.0.0.1:9100/introspect', clientId: 'guarita', clientSecret: 's' };
      return { name: 'permissions without consent', key: ['routes', i, 'auth'] };
    },
    () => {
      Object.assign(route, { mtls: 'optional', jws: { request: true } });
      tls.clientCa = [pki.ca];
      config.directory ??= { jwksUri: 'https://keystore.example/{orgId}/application.jwks' };
      return { name: 'jws.request without mtls: required', key: ['routes', i, 'mtls'] };
    },
    () => {
      Object.assign(route, { upstream: 'http://' });
      return { name: 'upstream that is no URL', key: ['routes', i, 'upstream'] };
    },
  ];
  const made = cases[pick2 % cases.length]!();
  return { ...made, lineOfKey: false, config };
}

// ---- Arbitrary input ---------------------------------------------------------------------------

const yamlToken = fc.constantFrom(
  '- ', ': ', ':', '&a ', '&b ', '*a', '*b', '[', ']', '{', '}', ',', '\n', '\n  ', '\n    ', '  ', '? ', '!!str ', '!!int ', '!!binary ', '!!set ', '!!map ', '!foo ', '|', '>-', '"', "'", '#', ' #c',
  '${X}', '${X:-d}', '${}', '${1}', '${A-B}', '${X:-${Y}}', '%YAML 1.1\n---\n', '%TAG ! tag:x,2000:\n---\n', '---\n', '...\n', '<<: ', '<<: *a', 'path', 'routes', 'server', 'upstream', 'tls',
  'certificates', 'auth', 'mtls', 'none', 'required', '/x', 'http://127.0.0.1:1', 'http://', '1e400', '-.inf', '.nan', '0x7FFFFFFF', '99999999999999999999999', '~', 'null', 'true', '\t', '\r\n', '\u00a0', '\ufeff',
);

/** Billion-laughs style alias structures: `levels` anchored lists, each `width` aliases of the one before. */
function aliasBomb(levels: number, width: number, wrap: boolean): string {
  const lines = ['a0: &a0 [lol, lol]'];
  for (let l = 1; l <= levels; l++) lines.push(`a${l}: &a${l} [${Array.from({ length: width }, () => `*a${l - 1}`).join(', ')}]`);
  if (wrap) lines.push(`routes: [*a${levels}]`, `server: {tls: {certificates: [{cert: a, key: b}]}, host: *a${levels}}`);
  return lines.join('\n') + '\n';
}

function deepJunk(depth: number, open: string, close: string): string {
  return open.repeat(depth) + close.repeat(depth);
}

function jsonish(): fc.Arbitrary<Json> {
  return fc.oneof(
    fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>,
    fc.dictionary(fc.constantFrom('server', 'routes', 'admin', 'log', 'replay', 'x', 'path', 'upstream'), fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>),
    fc.constantFrom<Json>(1e308, -1e308, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, -0, 0.1, 1e-320),
  );
}

// ---- The tests ---------------------------------------------------------------------------------

t.test('configuration loader properties', async (tt) => {
  const { dir } = await testPki();
  const pki: Pki = {
    serverCrt: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    ca: join(dir, 'ca.crt'),
    signingKey: join(dir, 'ca.key'),
    clientCrt: join(dir, 'client1.crt'),
    clientKey: join(dir, 'client1.key'),
  };
  const valid = configArb(pki);

  await tt.test('a valid generated configuration loads, and what was written is what is loaded', async (t2) => {
    fc.assert(
      fc.property(valid, serializer, (model, how) => {
        assertRoundTrip(model, expectLoads(serializers[how]!(model)));
      }),
      { numRuns: RUNS },
    );
    t2.pass(`${RUNS} configurations`);
  });

  await tt.test('what the schema or a cross-check refuses is refused, naming the file, the line and the key', async (t2) => {
    fc.assert(
      fc.property(mutationArb(pki), serializer, (m, how) => {
        const text = serializers[how]!(m.config);
        const err = expectRefused(text);
        const key = keyPathString(m.key);
        const { doc, lines } = located(text);
        const line = m.lineOfKey ? lineOfKey(doc, lines, m.key) : lineOfNode(doc, lines, m.key);
        if (err.key !== key || err.line !== line) {
          throw new Error(`${m.name}: expected ${key} at line ${line}, got ${err.key} at line ${err.line}: ${err.message}\n${text}`);
        }
        if (!err.message.startsWith(`${file}:${line}: ${key}: `)) throw new Error(`message: ${err.message}`);
      }),
      { numRuns: RUNS * 2 },
    );
    t2.pass();
  });

  await tt.test('arbitrary input never throws anything but a ConfigError', async (t2) => {
    const base = fc.tuple(valid, serializer).map(([m, how]) => serializers[how]!(m));
    const inputs: fc.Arbitrary<string | Uint8Array> = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ maxLength: 100, unit: 'binary' }),
      fc.uint8Array({ maxLength: 300 }),
      fc.array(yamlToken, { maxLength: 40 }).map((a) => a.join('')),
      jsonish().map((v) => stringify(v)),
      fc.tuple(valid, fc.nat(), jsonish()).map(([m, pick, junk]) => {
        // A valid configuration with one subtree replaced by junk.
        const all = [...nodes(m)];
        const at = all[pick % all.length]!.path;
        const parent = getAt(m, at.slice(0, -1)) as Record<string | number, Json>;
        parent[at[at.length - 1]!] = junk;
        return stringify(m);
      }),
      fc.tuple(base, fc.nat(), fc.array(yamlToken, { minLength: 1, maxLength: 4 })).map(([text, pick, ins]) => {
        // A valid file with a few YAML tokens spliced in somewhere.
        const at = pick % (text.length + 1);
        return text.slice(0, at) + ins.join('') + text.slice(at);
      }),
      fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.boolean()).map(([l, w, wrap]) => aliasBomb(l, w, wrap)),
      fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom(['[', ']'], ['{a: ', '}'], ['- ', ''], ['[{a: ', '}]'])).map(([d, [o, c]]) => deepJunk(d, o!, c!)),
      fc.tuple(base, fc.stringMatching(/^[^}\n]{0,12}$/)).map(([text, name]) => text.replace(/(upstream|clientSecret|kid|jwksUri): (.*)/, `$1: "\${${name}}"`)),
    );
    fc.assert(
      fc.property(inputs, fc.dictionary(fc.constantFrom('X', 'Y', 'A', 'B'), fc.string({ maxLength: 20 })), (input, env) => {
        attempt(input, env);
      }),
      { numRuns: RUNS * 3 },
    );
    t2.pass();
  });

  await tt.test('a duplicate key is refused (two `path:` keys in one route would be ambiguous)', async (t2) => {
    fc.assert(
      fc.property(valid, fc.nat(), fc.boolean(), (model, pick, viaAlias) => {
        const text = stringify(model, { lineWidth: 0 });
        const lines = text.split('\n');
        // Lines `key: scalar` (possibly the first key of a sequence item).
        const candidates = lines.map((l, i) => ({ i, m: /^( *)(- )?([A-Za-z$][\w$]*): ([^\s|>].*)$/.exec(l) })).filter((c) => c.m !== null);
        const { i, m } = candidates[pick % candidates.length]!;
        const [, indent, dash, key, value] = m!;
        const inner = `${indent}${dash ? '  ' : ''}`;
        if (viaAlias) {
          lines[i] = `${indent}${dash ?? ''}&dupkey ${key}: ${value}`;
          lines.splice(i + 1, 0, `${inner}*dupkey : ${value}`);
        } else {
          lines.splice(i + 1, 0, `${inner}${key}: ${value}`);
        }
        const err = expectRefused(lines.join('\n'));
        if (err.line !== i + 2) throw new Error(`expected line ${i + 2}: ${err.message}\n${lines.join('\n')}`);
      }),
      { numRuns: RUNS },
    );
    t2.pass();
  });

  await tt.test('${VAR} substitutes exactly the value: no YAML injection, no re-expansion', async (t2) => {
    const injected = fc.oneof(
      anyText,
      fc.constantFrom('\n  evil: 1', 'x\nevil: 1', 'a: b', 'x # not a comment', '${OTHER}', '$&', "$'", '$1', "'", '"', '{a: 1}', '[1, 2]', '*alias', '&anchor x', '!!int 5', '---', '...', '  padded  ', '|\n  block', '\\n', '\u2028', 'é ☃ 𝄞'),
      fc.tuple(anyText, fc.constantFrom('\n  evil: 1\n', ': ', ' #', '\n- x', '\r\n')).map(([a, b]) => a + b + a),
    );
    // Keys the schema takes as any non-empty string.
    const targets: KeyPath[] = [
      ['introspection', 'clientSecret'],
      ['introspection', 'clientId'],
      ['introspection', 'consentStatusClaim'],
      ['signing', 'kid'],
      ['signing', 'orgId'],
    ];
    fc.assert(
      fc.property(valid, fc.constantFrom(...targets), injected, fc.constantFrom('plain', 'affixed', 'default-unused', 'default-used'), serializer, (base, target, value, form, how) => {
        const model = clone(base);
        model.introspection ??= { endpoint: 'http://127.0.0.1:9100/introspect', clientId: 'guarita', clientSecret: 's' };
        model.signing ??= { key: pki.signingKey, kid: 'k', orgId: 'o' };
        const holder = getAt(model, target.slice(0, -1)) as JsonObject;
        const name = target[target.length - 1] as string;
        let placeholder: string;
        let expected: string;
        let env: NodeJS.ProcessEnv = { GUARITA_VALUE: value };
        if (form === 'plain') [placeholder, expected] = ['${GUARITA_VALUE}', value];
        else if (form === 'affixed') [placeholder, expected] = ['pre-${GUARITA_VALUE}-post', `pre-${value}-post`];
        else if (form === 'default-unused') [placeholder, expected] = ['${GUARITA_VALUE:-fallback}', value];
        else [placeholder, expected, env] = ['${GUARITA_VALUE:-fallback}', 'fallback', { GUARITA_VALUE: '' }];
        // The same file with a plain value there instead (a value holding `${` cannot be written out).
        holder[name] = 'plain-value';
        const literal = expectLoads(serializers[how]!(model));
        holder[name] = placeholder;
        const interpolated = expectLoads(serializers[how]!(model), env);
        if (effective(interpolated, target) !== expected) throw new Error(`${keyPathString(target)}: got ${JSON.stringify(effective(interpolated, target))}`);
        // Nothing else changed: no new key, no other value (only the warning that a default was used).
        const compared = structuredClone(interpolated) as unknown as JsonObject;
        (getAt(compared, target.slice(0, -1)) as JsonObject)[name] = 'plain-value';
        const warnings = compared.warnings as string[];
        if (form === 'default-used' && !warnings.some((w) => w.startsWith(`${keyPathString(target)} uses its `))) throw new Error(`${keyPathString(target)}: no warning that its default was used`);
        compared.warnings = (literal as unknown as JsonObject).warnings as string[];
        deepStrictEqual(compared, structuredClone(literal), 'the same configuration as with the value written out');
      }),
      { numRuns: RUNS },
    );
    t2.pass();
  });

  // ---- Regressions found by the properties above ----------------------------------------------
  const head = `server: {tls: {certificates: [{cert: ${pki.serverCrt}, key: ${pki.serverKey}}], clientCa: [${pki.ca}]}}\n`;
  const route = '  - path: /a\n    upstream: http://127.0.0.1:1\n';
  const intro = 'introspection: {endpoint: "http://127.0.0.1:1/i", clientId: g, clientSecret: s}\n';

  await tt.test('regression: an upstream that is not a URL (http://) threw a TypeError', async (t2) => {
    const err = expectRefused(`${head}routes:\n  - path: /a\n    upstream: "http://"\n`);
    t2.equal(err.key, 'routes[0].upstream');
    t2.equal(err.line, 4);
    t2.match(err.message, 'is not a valid URL');
  });

  await tt.test('regression: URLs that do not parse were accepted, to fail when the gateway starts', async (t2) => {
    const cases: [string, string][] = [
      ['introspection: {endpoint: "http://", clientId: g, clientSecret: s}\n', 'introspection.endpoint'],
      ['introspection: {endpoint: "http://127.0.0.1:1/i", clientId: g, clientSecret: s, consentLookup: {url: "https://{consentId}.bank/c"}}\n', 'introspection.consentLookup.url'],
      ['directory: {jwksUri: "https://[/{orgId}.jwks"}\n', 'directory.jwksUri'],
      ['replay: {store: redis, url: "redis://[x"}\n', 'replay.url'],
    ];
    for (const [section, key] of cases) t2.equal(expectRefused(`${head}${section}routes:\n${route}`).key, key, key);
    t2.ok(expectLoads(`${head}${intro.replace('}', ', consentLookup: {url: "https://c.bank/consents/{consentId}"}}')}routes:\n${route}`));
  });

  await tt.test('regression: a typo inside an auth object named routes[0].auth, "must be string"', async (t2) => {
    const bogus = expectRefused(`${head}${intro}routes:\n${route}    auth: {scopes: [a], bogus: 1}\n`);
    t2.equal(bogus.key, 'routes[0].auth.bogus');
    t2.match(bogus.message, 'unknown key');
    t2.equal(expectRefused(`${head}${intro}routes:\n${route}    auth: {scopes: [a, 5]}\n`).key, 'routes[0].auth.scopes[1]');
    t2.equal(expectRefused(`${head}${intro}routes:\n${route}    auth: {permissions: []}\n`).key, 'routes[0].auth.permissions');
    t2.match(expectRefused(`${head}${intro}routes:\n${route}    auth: {permissions: x}\n`).message, 'routes[0].auth.permissions: must be "ofb" or an array');
    t2.match(expectRefused(`${head}routes:\n${route}    auth: 5\n`).message, 'routes[0].auth: must be "none" or an object');
    t2.match(expectRefused(`${head}routes:\n${route}    mtls: sometimes\n`).message, 'routes[0].mtls: must be one of "required", "optional", "none"');
  });

  await tt.test('regression: a malformed placeholder became the value verbatim', async (t2) => {
    for (const value of ['${MY-SECRET}', '${A:-${B}}', 'x${', '${ A }', '${}', '${1A}', '${A:=x}', '$${B']) {
      const err = expectRefused(`${head}introspection: {endpoint: "http://127.0.0.1:1/i", clientId: g, clientSecret: "${value}"}\nroutes:\n${route}`, { A: 'a', B: 'b' });
      t2.equal(err.key, 'introspection.clientSecret', value);
      t2.equal(err.line, 2);
    }
    const ok = expectLoads(`${head}introspection: {endpoint: "http://127.0.0.1:1/i", clientId: g, clientSecret: "$$\${B}\${A}{}$"}\nroutes:\n${route}`, { A: '${B}', B: 'b' });
    t2.equal(ok.introspection?.clientSecret, '$$b${B}{}$', 'a value is never expanded again');
  });

  await tt.test('regression: the routes were frozen shallowly (auth, jws, methods mutable)', async (t2) => {
    const config = expectLoads(`${head}${intro}routes:\n${route}    methods: [GET]\n    auth: {scopes: [a]}\n    jws: {}\n`);
    const r = config.routes[0]!;
    t2.ok(Object.isFrozen(r.auth) && Object.isFrozen(r.auth?.scopes) && Object.isFrozen(r.jws) && Object.isFrozen(r.methods));
    t2.ok(deepFrozen(config));
  });

  await tt.test('regression: a missing variable inside a route named routes.upstream, without the index', async (t2) => {
    const err = expectRefused(`${head}routes:\n${route}  - path: /b\n    upstream: \${NOPE}\n`);
    t2.equal(err.key, 'routes[1].upstream');
    t2.equal(err.line, 6);
  });

  await tt.test('regression: an alias bomb (billion laughs) is refused quickly, as a ConfigError', async (t2) => {
    const before = process.memoryUsage().heapUsed;
    const started = performance.now();
    const err = expectRefused(aliasBomb(9, 10, true));
    t2.match(err.message, /alias/i);
    t2.ok(performance.now() - started < 1000, 'quickly');
    t2.ok(process.memoryUsage().heapUsed - before < 100 * 2 ** 20, 'without blowing memory');
  });

  await tt.test('regression: an alias to an undefined anchor is a ConfigError naming its line', async (t2) => {
    const err = expectRefused(`server: {tls: {certificates: [{cert: ${pki.serverCrt}, key: ${pki.serverKey}}]}}\nroutes:\n  - *nope\n`);
    t2.equal(err.line, 3);
    t2.match(err.message, /nope/);
  });

  await tt.test('regression: an alias as a key cannot repeat a key (`*k : /b` after `&k path: /a`)', async (t2) => {
    const err = expectRefused(
      `server: {tls: {certificates: [{cert: ${pki.serverCrt}, key: ${pki.serverKey}}], clientCa: [${pki.ca}]}}\nroutes:\n  - &k path: /a\n    upstream: http://127.0.0.1:1\n    *k : /b\n`,
    );
    t2.equal(err.line, 5);
  });
});
