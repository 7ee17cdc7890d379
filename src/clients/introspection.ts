/**
 * RFC 7662 token introspection client with the SPEC §5 cache.
 *
 * - Authenticates as `client_secret_basic` (RFC 6749 §2.3.1: id and secret form-urlencoded, then
 *   base64) or, without a secret, `tls_client_auth` (RFC 8705 §2: the gateway's client certificate on
 *   the connection and `client_id` in the body) — OFB authorization servers usually require mTLS.
 * - Cache key: SHA-256 of the token; the raw token is never stored, logged or put in an error.
 *   Active results live min(cacheTtlSeconds, exp − now); inactive ones negativeCacheTtlSeconds;
 *   concurrent misses for one token share one call; the cache is bounded (LRU).
 * - Fail closed: unreachable, past the timeout, non-2xx, not JSON, or no boolean `active` → 503.
 *
 * The cache only saves the network call: the checks re-evaluate expiry, binding, scope, consent
 * and permission on every request, hit or miss (ory/oathkeeper#743 skipped them on a hit).
 */
import { hash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Pool } from 'undici';
import type { IntrospectionConfig } from '../config/schema.js';
import { ServiceUnavailableError } from '../errors.js';
import { callJson, createPool } from './http.js';
import { SingleFlightCache, type CacheStats } from './single-flight-cache.js';

/** What the gateway keeps of one introspection answer (frozen; shared by every request with the token). */
export interface TokenInfo {
  readonly active: boolean;
  /** `exp` in seconds since the epoch, when the answer had a numeric one. */
  readonly exp: number | undefined;
  /** The space-separated `scope`, as granted. */
  readonly scope: string | undefined;
  /** `scope` split on spaces. */
  readonly scopes: readonly string[];
  readonly clientId: string | undefined;
  /** `cnf["x5t#S256"]` (RFC 8705 §3.1), when the token is certificate-bound. */
  readonly thumbprint: string | undefined;
  /** The whole introspection JSON of an active token (consent claims are read from it); empty when inactive. */
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface IntrospectionStats extends CacheStats {
  /** Calls made to the introspection endpoint (a warm cache hit makes none). */
  readonly networkCalls: number;
  /** Calls that ended in a 503 (unreachable, timeout, bad answer). */
  readonly failures: number;
}

/** Introspects access tokens; built once per gateway (src/app.ts) and shared by the checks. */
export interface Introspector {
  /** The (possibly cached) introspection of `token`; rejects with ServiceUnavailableError (503). */
  introspect(token: string): Promise<TokenInfo>;
  stats(): IntrospectionStats;
  /** Readiness probe: one uncached call with a throw-away token; rejects when the endpoint does not answer RFC 7662. */
  ping(): Promise<void>;
  /** Close the connection pool. */
  close(): Promise<void>;
}

export interface IntrospectorOptions {
  readonly endpoint: string;
  readonly clientId: string;
  /** client_secret_basic; without it the client authenticates with `clientCert` (tls_client_auth). */
  readonly clientSecret?: string | undefined;
  /** PEM certificate and key for tls_client_auth. */
  readonly clientCert?: string | Buffer | undefined;
  readonly clientKey?: string | Buffer | undefined;
  /** PEM trust anchors for the authorization server. */
  readonly ca?: string | Buffer | undefined;
  readonly timeoutMs: number;
  readonly cacheTtlSeconds: number;
  readonly negativeCacheTtlSeconds: number;
  readonly cacheMaxEntries: number;
  /** Clock in milliseconds (tests). */
  readonly now?: () => number;
}

/** The introspector for the `introspection` section of routes.yaml (reads its PEM files now). */
export function introspectorFromConfig(config: IntrospectionConfig): Introspector {
  const read = (file: string | undefined) => (file === undefined ? undefined : readFileSync(file));
  return createIntrospector({
    endpoint: config.endpoint,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    clientCert: read(config.clientCert),
    clientKey: read(config.clientKey),
    ca: read(config.ca),
    timeoutMs: config.timeoutMs,
    cacheTtlSeconds: config.cacheTtlSeconds,
    negativeCacheTtlSeconds: config.negativeCacheTtlSeconds,
    cacheMaxEntries: config.cacheMaxEntries,
  });
}

/** Build an introspector; throws TypeError on unusable options. */
export function createIntrospector(options: IntrospectorOptions): Introspector {
  const url = new URL(options.endpoint);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('introspection endpoint must be an http(s) URL');
  if (options.clientSecret === undefined && (options.clientCert === undefined || options.clientKey === undefined)) {
    throw new TypeError('introspection needs clientSecret (client_secret_basic) or clientCert and clientKey (tls_client_auth)');
  }
  const now = options.now ?? Date.now;
  const pool: Pool = createPool(url.origin, { ca: options.ca, cert: options.clientCert, key: options.clientKey, timeoutMs: options.timeoutMs });
  const path = url.pathname + url.search;
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (options.clientSecret !== undefined) headers.authorization = basicAuthorization(options.clientId, options.clientSecret);
  // RFC 8705 §2.1: with tls_client_auth the client identifies itself with client_id in the body.
  const bodySuffix = options.clientSecret === undefined ? `&client_id=${formEncode(options.clientId)}` : '';
  const cache = new SingleFlightCache<TokenInfo>({ max: options.cacheMaxEntries, now });
  const positiveTtlMs = options.cacheTtlSeconds * 1000;
  const negativeTtlMs = options.negativeCacheTtlSeconds * 1000;
  let networkCalls = 0;
  let failures = 0;

  // SPEC §5: never past exp; an answer the checks will refuse is kept only for the negative TTL.
  const ttlOf = (info: TokenInfo, nowMs: number): number => {
    if (info.active && info.exp !== undefined) {
      const untilExpiry = info.exp * 1000 - nowMs;
      if (untilExpiry > 0) return Math.min(positiveTtlMs, untilExpiry);
    }
    return negativeTtlMs;
  };

  /** `counted`: readiness pings stay out of the stats, so dashboards see only real token traffic. */
  async function call(token: string, counted = true): Promise<TokenInfo> {
    if (counted) networkCalls++;
    try {
      const answer = await callJson(pool, {
        method: 'POST',
        path,
        headers,
        body: `token=${formEncode(token)}&token_type_hint=access_token${bodySuffix}`,
        timeoutMs: options.timeoutMs,
        service: 'introspection endpoint',
      });
      if (answer.json === undefined) {
        throw new ServiceUnavailableError({ cause: new Error(`introspection endpoint answered HTTP ${answer.status}`) });
      }
      return tokenInfo(answer.json);
    } catch (err) {
      if (counted) failures++;
      throw err;
    }
  }

  return {
    introspect(token) {
      return cache.get(tokenKey(token), () => call(token), ttlOf);
    },
    stats() {
      return { ...cache.stats(), networkCalls, failures };
    },
    async ping() {
      await call(`guarita-readiness-probe-${randomUUID()}`, false);
    },
    close() {
      return pool.close();
    },
  };
}

/** Cache key of a token: SHA-256, base64url. The token itself is never kept. */
export function tokenKey(token: string): string {
  return hash('sha256', token, 'base64url');
}

const INACTIVE: TokenInfo = Object.freeze({
  active: false,
  exp: undefined,
  scope: undefined,
  scopes: Object.freeze([]),
  clientId: undefined,
  thumbprint: undefined,
  claims: Object.freeze({}),
});

/** RFC 7662 §2.2 answer → TokenInfo; anything without a boolean `active` is not an answer (503). */
export function tokenInfo(json: unknown): TokenInfo {
  if (json === null || typeof json !== 'object' || Array.isArray(json) || typeof (json as { active?: unknown }).active !== 'boolean') {
    throw new ServiceUnavailableError({ cause: new Error('introspection endpoint answered JSON without a boolean "active"') });
  }
  const claims = json as Record<string, unknown>;
  if (claims.active !== true) return INACTIVE;
  const scope = scopeString(claims.scope);
  const cnf = claims.cnf;
  const x5t = cnf !== null && typeof cnf === 'object' ? (cnf as Record<string, unknown>)['x5t#S256'] : undefined;
  return Object.freeze({
    active: true,
    exp: typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp : undefined,
    scope,
    scopes: Object.freeze(scope === undefined ? [] : scope.split(' ').filter((s) => s.length > 0)),
    clientId: typeof claims.client_id === 'string' ? claims.client_id : undefined,
    thumbprint: typeof x5t === 'string' && x5t.length > 0 ? x5t : undefined,
    claims: Object.freeze(claims),
  });
}

/** RFC 7662 `scope` is a space-separated string; a JSON array of strings is accepted too. */
function scopeString(scope: unknown): string | undefined {
  if (typeof scope === 'string') return scope.trim().replace(/ +/g, ' ');
  if (Array.isArray(scope) && scope.every((s) => typeof s === 'string')) return scope.join(' ');
  return undefined;
}

/** application/x-www-form-urlencoded encoding of one value (RFC 6749 Appendix B). */
export function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/** RFC 6749 §2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
}
