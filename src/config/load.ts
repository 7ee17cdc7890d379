/**
 * routes.yaml → validated, defaulted, cross-checked, frozen configuration.
 * YAML → `${ENV}` interpolation → JSON Schema (Ajv, defaults applied, unknown keys refused) →
 * file paths resolved → named rules (src/config/rules.ts) → routes resolved → each check's
 * `validate` (src/checks/*.ts, registry order) → freeze. Rules report key paths; this file alone
 * turns them into errors naming the file, the line and the key.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument, LineCounter, visit, isAlias, isScalar, isMap, isPair, isSeq, isScalar as isScalarNode, type Alias, type Document, type Node } from 'yaml';
import { AuthSchema, ConfigSchema, type RawConfig, type RouteConfig, type AuthConfig } from './schema.js';
import { ConfigError } from './errors.js';
import { resolveFiles } from './files.js';
import { CONFIG_RULES, ROUTE_RULES, type RouteRule } from './rules.js';
import { keyPathString, type ConfigProblem, type KeyPath } from './problems.js';
import { CHECKS } from '../checks/registry.js';
import { DCR_METHODS } from '../checks/dcr.js';
import { globalLimitWarnings } from '../limits/config.js';

/** Token checks of a route, defaults applied. */
export type RouteAuth = AuthConfig & Required<Pick<AuthConfig, 'scopes' | 'consent'>>;

/** A route after defaults are resolved. */
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
  /**
   * Things that load but deserve a look, one sentence each, for the caller to log: a
   * `${VAR:-default}` whose variable is unset (the shipped routes.yaml falls back to sandbox
   * secrets), a plain `http://` introspection, consent or directory URL to a non-loopback host.
   */
  readonly warnings: readonly string[];
}

const ajv = new Ajv({ useDefaults: true, allErrors: false, strict: false, coerceTypes: false });
const validate = ajv.compile<RawConfig>(ConfigSchema);
/** Ajv applies no defaults inside anyOf (auth: none | {...}): the object form gets them here. */
const applyAuthDefaults = ajv.compile<AuthConfig>(AuthSchema);

/** What each SPEC §1 check needs of a route (its `validate`, in registry order), then the other route rules. */
const ROUTE_RULE_LIST: readonly RouteRule[] = [...CHECKS, ...ROUTE_RULES];

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
  const warnings: string[] = [];
  interpolateEnv(doc, env, path, lineOf, warnings);

  const raw = toJS(doc, path, lineOf);
  if (!validate(raw)) {
    throw schemaError(primaryError(validate.errors ?? []), doc, path, lineOf);
  }
  const problemError = ({ path: keyPath, message }: ConfigProblem): ConfigError =>
    new ConfigError(path, lineOf(nodeAt(doc, keyPath)), keyPathString(keyPath), message);

  const config = raw;
  for (const route of config.routes) if (typeof route.auth === 'object') applyAuthDefaults(route.auth);
  const unreadable = resolveFiles(config, dirname(path));
  if (unreadable) throw problemError(unreadable);
  for (const rule of CONFIG_RULES) {
    const [problem] = rule.check(config);
    if (problem) throw problemError(problem);
  }
  const routes = config.routes.map((r, index) => resolveRoute(r, index, config.defaults.timeoutMs));
  warnings.push(...plainHttpWarnings(config), ...globalLimitWarnings(config));
  const resolved: Config = { ...config, file: path, routes, warnings };
  for (const route of routes) {
    for (const rule of ROUTE_RULE_LIST) {
      const [problem] = rule.validate?.(route, resolved) ?? [];
      if (problem) throw problemError(problem);
    }
  }
  for (const route of routes) for (const rule of ROUTE_RULE_LIST) warnings.push(...(rule.warnings?.(route, resolved) ?? []));
  return deepFreeze(resolved);
}

/** Defaults that depend on other keys, so the schema cannot declare them. */
function resolveRoute(r: RouteConfig, index: number, defaultTimeoutMs: number): Route {
  const auth = r.auth === 'none' ? undefined : (r.auth as RouteAuth);
  return Object.freeze({
    ...r,
    index,
    auth,
    // SPEC §1 row 1: fapi defaults to true for any route whose auth is not none.
    fapi: r.fapi ?? auth !== undefined,
    timeoutMs: r.timeoutMs ?? defaultTimeoutMs,
    // SPEC §9: a registration endpoint answers RFC 7591 register and RFC 7592 read/update/delete only.
    ...(r.dcr && r.methods === undefined ? { methods: [...DCR_METHODS] } : {}),
    // routeTargets (rules.ts) checked that it parses and is an origin.
    upstream: new URL(r.upstream).origin,
  });
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
function interpolateEnv(doc: Document, env: NodeJS.ProcessEnv, path: string, lineOf: (n: Node) => number | undefined, warnings: string[]): void {
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
        if (value !== undefined && (set === undefined || set === '')) {
          // The default is not repeated: it may be a secret.
          warnings.push(`${keyPathOfNode(ancestry, node)} uses its \${${name}:-...} default: the environment variable is ${set === undefined ? 'unset' : 'empty'}`);
        }
        out += literal + value;
        last = match.index + whole.length;
      }
      const rest = text.slice(last);
      if (rest.includes('${')) fail('malformed placeholder: write ${NAME} or ${NAME:-default}, NAME being letters, digits and _');
      node.value = out + rest;
    },
  });
}

/** URLs the gateway sends credentials or trusts keys from: plain http is fine on loopback only. */
function plainHttpWarnings(config: RawConfig): string[] {
  const urls: [string, string | undefined][] = [
    ['introspection.endpoint', config.introspection?.endpoint],
    ['introspection.consentLookup.url', config.introspection?.consentLookup?.url],
    ['directory.jwksUri', config.directory?.jwksUri],
    ['directory.ssaJwksUri', config.directory?.ssaJwksUri],
  ];
  const warnings: string[] = [];
  for (const [key, url] of urls) {
    if (url === undefined || !/^http:\/\//i.test(url)) continue;
    const host = hostOf(url);
    if (host !== undefined && isLoopbackHost(host)) continue;
    warnings.push(`${key} uses plain http:// to ${host ?? 'a host that does not parse'}: credentials and answers travel unencrypted; use https:// (plain http is for loopback only)`);
  }
  return warnings;
}

function hostOf(url: string): string | undefined {
  try {
    // A template placeholder ({orgId}, {consentId}) never sits in the host of a valid URL.
    return new URL(url.replace(/\{[^{}]*\}/g, 'x')).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return undefined;
  }
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === '::ffff:127.0.0.1' || /^::ffff:7f/.test(host);
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

function nodeAt(doc: Document, keyPath: KeyPath): Node | undefined {
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

/** Freezes every object reachable from `value`, also inside objects already frozen (the routes). */
function deepFreeze<T>(value: T, seen = new WeakSet<object>()): T {
  if (value && typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v, seen);
  }
  return value;
}
