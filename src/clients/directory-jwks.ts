/**
 * The OFB Directory keystore client (SPEC §2): the signing keys an organisation publishes at
 * `directory.jwksUri` (`{orgId}`, `{softwareId}`), the only keys a JWS request body is verified with.
 *
 * - Cached per key-set URL for `cacheTtlSeconds`, in an LRU bounded by {@link MAX_CACHED_KEY_SETS}.
 * - An unknown `kid` is a bad signature only once the set was fetched *successfully* after the kid
 *   could have appeared (SPEC §2): a fetch less than `refetchCooldownSeconds` old, else the refetch
 *   the miss triggers. So while the directory answers, a client sending random kids makes at most
 *   one fetch per cooldown per URL; concurrent misses share one fetch (single flight).
 * - That refetch failing (directory down, timing out, answering 5xx) is an outage, not a bad
 *   signature: 503 (SPEC §5), and it does not start the cooldown — the first unknown kid after the
 *   directory is back refetches and finds a key rotated meanwhile. During an outage every unknown
 *   kid asks again, one attempt in flight per URL at a time.
 * - Directory down: a cached set is served for up to `maxStaleSeconds` past its lifetime (asking
 *   the directory again at most once per cooldown), so the keys already known keep working; with
 *   none the request is refused with 503.
 * - Only RSA keys usable for PS256 signatures are kept: `use` absent or `sig`, `key_ops` absent or
 *   with `verify`, `alg` absent or `PS256`. Only the public members (`n`, `e`) are imported.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { importJWK, type CryptoKey } from 'jose';
import { LRUCache } from 'lru-cache';
import type { DirectoryConfig } from '../config/schema.js';
import { BadSignatureError, ClientCertificateError, ServiceUnavailableError } from '../errors.js';

/** Organisations whose key sets are kept at once (the OFB Directory lists about a thousand). */
export const MAX_CACHED_KEY_SETS = 10_000;

/** Largest key-set document accepted from the directory. */
const MAX_JWKS_BYTES = 1_048_576;

/** The Directory's software-statement keys in production (SEC DCR ID3; ofb/requirements.md §8); `directory.ssaJwksUri` by default. */
export const PRODUCTION_SSA_JWKS_URI = 'https://keystore.directory.openbankingbrasil.org.br/openbanking.jwks';

/** The SSA key-set URL in effect: `directory.ssaJwksUri`, else the production keystore's. */
export function ssaJwksUriOf(config: Pick<DirectoryConfig, 'ssaJwksUri'>): string {
  return config.ssaJwksUri ?? PRODUCTION_SSA_JWKS_URI;
}

/** The organisation that signed a request: from the client certificate (SPEC §3). */
export interface SignerOrganisation {
  readonly orgId: string;
  readonly softwareId?: string | undefined;
}

export interface DirectoryJwks {
  /**
   * The organisation's PS256 verification keys with this `kid` (usually one; FAPI 1 Adv. §8.11
   * allows duplicates). Throws BadSignatureError for a kid the organisation does not publish (per a
   * successful fetch within the cooldown), ServiceUnavailableError when the directory cannot say.
   */
  keysFor(org: SignerOrganisation, kid: string): Promise<readonly CryptoKey[]>;
  /**
   * The Directory's own software-statement keys with this `kid` (SPEC §9 row 3), from
   * {@link ssaJwksUriOf}: the same cache, cooldown, stale bound and errors as {@link keysFor}.
   */
  ssaKeysFor(kid: string): Promise<readonly CryptoKey[]>;
  /** The key-set URL for an organisation. */
  jwksUriFor(org: SignerOrganisation): string;
  /**
   * Key-set fetches made and how many failed (metrics); `lastFailure` is the last failed fetch
   * (URL and error) until the next successful one (readiness: the directory is down meanwhile).
   */
  stats(): { readonly fetches: number; readonly failures: number; readonly lastFailure: { readonly url: string; readonly error: string } | undefined };
  close(): Promise<void>;
}

export interface DirectoryJwksOptions {
  /** Warnings for the logs (directory outage, stale set served). */
  readonly onWarning?: (message: string, err?: unknown) => void;
  /** Clock in ms (tests). */
  readonly now?: () => number;
}

interface KeySet {
  readonly keys: ReadonlyMap<string, readonly CryptoKey[]>;
  /** When the directory last answered for this set: the only time the cooldown is measured from. */
  readonly fetchedAt: number;
  /** Last failed attempt while this set was cached (spaces out the stale set's retries). */
  failedAt: number | undefined;
}

/** Build the directory client; `close()` it with the gateway. */
export function createDirectoryJwks(config: DirectoryConfig, options: DirectoryJwksOptions = {}): DirectoryJwks {
  const clock = options.now ?? Date.now;
  const warn = options.onWarning ?? (() => undefined);
  const ttlMs = config.cacheTtlSeconds * 1000;
  const staleMs = config.maxStaleSeconds * 1000;
  const cooldownMs = config.refetchCooldownSeconds * 1000;
  const timeoutMs = config.timeoutMs;
  const agent = new Agent({
    connect: { timeout: timeoutMs, ...(config.ca === undefined ? {} : { ca: readFileSync(config.ca) }) },
    keepAliveTimeout: 30_000,
    connections: 16,
  });
  const cache = new LRUCache<string, KeySet>({ max: MAX_CACHED_KEY_SETS });
  const inflight = new Map<string, Promise<KeySet>>();

  function jwksUriFor(org: SignerOrganisation): string {
    const template = config.jwksUri;
    // jws.request routes are refused at load without directory.jwksUri (checks/jws-request.ts).
    if (template === undefined) throw new TypeError('directory.jwksUri is missing although the configuration was validated (a wiring bug)');
    if (template.includes('{softwareId}') && org.softwareId === undefined) {
      throw new ClientCertificateError('the client certificate carries no software_id (UID), needed to find its keys in the directory');
    }
    return template.replaceAll('{orgId}', encodeURIComponent(org.orgId)).replaceAll('{softwareId}', encodeURIComponent(org.softwareId ?? ''));
  }

  let fetches = 0;
  let failures = 0;
  let lastFailure: { url: string; error: string } | undefined;

  /** One fetch per URL at a time: concurrent misses share it. */
  function refresh(url: string): Promise<KeySet> {
    let pending = inflight.get(url);
    if (pending === undefined) {
      fetches++;
      pending = fetchKeySet(agent, url, timeoutMs)
        .catch((err: unknown) => {
          failures++;
          lastFailure = { url, error: err instanceof Error ? err.message : String(err) };
          throw err;
        })
        .then((keys) => {
          lastFailure = undefined;
          const now = clock();
          const set: KeySet = { keys, fetchedAt: now, failedAt: undefined };
          cache.set(url, set);
          return set;
        })
        .finally(() => inflight.delete(url));
      inflight.set(url, pending);
    }
    return pending;
  }

  async function current(url: string): Promise<KeySet> {
    const now = clock();
    const cached = cache.get(url);
    if (cached !== undefined && now - cached.fetchedAt < ttlMs) return cached;
    const usable = (set: KeySet, at: number) => at - set.fetchedAt < ttlMs + staleMs;
    // The directory failed a moment ago: serve the stale set without asking again before the cooldown.
    if (cached !== undefined && cached.failedAt !== undefined && now - cached.failedAt < cooldownMs && usable(cached, now)) return cached;
    try {
      return await refresh(url);
    } catch (err) {
      const stale = cache.get(url);
      const at = clock();
      if (stale !== undefined && usable(stale, at)) {
        stale.failedAt = at;
        warn('directory unreachable: serving a cached key set', err);
        return stale;
      }
      cache.delete(url);
      warn('directory unreachable and no usable cached key set', err);
      // SPEC §5: fail closed.
      throw new ServiceUnavailableError({ cause: err });
    }
  }

  return {
    jwksUriFor,
    stats: () => ({ fetches, failures, lastFailure }),
    keysFor(org, kid) {
      return keysAt(jwksUriFor(org), kid);
    },
    ssaKeysFor(kid) {
      return keysAt(ssaJwksUriOf(config), kid);
    },
    async close() {
      await agent.close();
    },
  };

  /** The PS256 keys with `kid` in the key set at `url` (the SPEC §2 rules for an unknown kid). */
  async function keysAt(url: string, kid: string): Promise<readonly CryptoKey[]> {
    const failuresBefore = failures;
    const set = await current(url);
    const keys = set.keys.get(kid);
    if (keys !== undefined) return keys;
    // SPEC §2: an unknown kid is a bad signature only when the set was fetched successfully after
    // the kid could have appeared — within the cooldown (measured from the last *successful*
    // fetch, so a failed one never delays the next), else by the refetch this miss triggers.
    if (clock() - set.fetchedAt >= cooldownMs) {
      // The directory failed while this request waited (a stale set was served): no second try.
      if (failures !== failuresBefore) throw new ServiceUnavailableError();
      let fresh: KeySet;
      try {
        fresh = await refresh(url);
      } catch (err) {
        set.failedAt = clock();
        warn('directory unreachable on a refetch for an unknown kid', err);
        // SPEC §2, §5: the directory could not say whether the kid exists → 503, not 400. The
        // cached set stays, so the keys it holds keep working.
        throw new ServiceUnavailableError({ cause: err });
      }
      const found = fresh.keys.get(kid);
      if (found !== undefined) return found;
    }
    throw new BadSignatureError('the JWS kid is not among the signing keys the organisation publishes in the directory');
  }
}

async function fetchKeySet(agent: Agent, url: string, timeoutMs: number): Promise<Map<string, CryptoKey[]>> {
  const res = await request(url, {
    dispatcher: agent,
    method: 'GET',
    headers: { accept: 'application/jwk-set+json, application/json' },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  // An organisation without a published key set has no keys (every kid is unknown); any other
  // non-200 is an outage.
  if (res.statusCode === 404) {
    await res.body.dump();
    return new Map();
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`directory answered HTTP ${res.statusCode} for ${url}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_JWKS_BYTES) {
      res.body.destroy();
      throw new Error(`directory key set at ${url} exceeds ${MAX_JWKS_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const document: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const list = typeof document === 'object' && document !== null ? (document as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(list)) throw new Error(`directory key set at ${url} has no "keys" array`);
  return importSigningKeys(list);
}

/** The keys of a JWKS usable to verify PS256 signatures, by kid. Unusable keys are skipped. */
export async function importSigningKeys(list: readonly unknown[]): Promise<Map<string, CryptoKey[]>> {
  const keys = new Map<string, CryptoKey[]>();
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const jwk = item as Record<string, unknown>;
    if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || jwk.kid === '') continue;
    if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.alg !== undefined && jwk.alg !== 'PS256') continue;
    if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) continue;
    // RFC 7518 §3.5: PS256 keys are at least 2048 bits.
    if (modulusBits(jwk.n) < 2048) continue;
    let key: CryptoKey;
    try {
      // Public members only: a JWKS that leaks `d` must not turn into a private key here.
      key = (await importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'PS256')) as CryptoKey;
    } catch {
      continue;
    }
    const same = keys.get(jwk.kid);
    if (same === undefined) keys.set(jwk.kid, [key]);
    else same.push(key);
  }
  return keys;
}

/** Bit length of a base64url big-endian RSA modulus. */
function modulusBits(n: string): number {
  const bytes = Buffer.from(n, 'base64url');
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i] as number));
}
