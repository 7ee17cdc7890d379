/**
 * Where the consent check (SPEC §1 row 7) reads a consent: the introspection JSON (dot-path
 * claims, the default) or the bank's consent service (`introspection.consentLookup`: HTTP GET,
 * cached briefly, fail closed with 503).
 */
import type { Pool } from 'undici';
import type { IntrospectionConfig } from '../config/schema.js';
import { ServiceUnavailableError } from '../errors.js';
import { callJson, createPool, valueAt } from './http.js';
import { SingleFlightCache, type CacheStats } from './single-flight-cache.js';

/** A consent as the checks see it. */
export interface ConsentRecord {
  /** `AUTHORISED`, `AWAITING_AUTHORISATION`, `REJECTED`, `CONSUMED` ... (undefined when absent). */
  readonly status: string | undefined;
  /** OFB permissions (`ACCOUNTS_READ` ...); undefined when absent or not a list of strings. */
  readonly permissions: readonly string[] | undefined;
  /** OAuth client id that owns the consent, when the source says. */
  readonly clientId: string | undefined;
}

/** Dot paths of the consent fields in a JSON document. */
export interface ConsentPaths {
  readonly status: string;
  readonly permissions: string;
  readonly clientId: string;
}

export interface ConsentLookupStats extends CacheStats {
  readonly networkCalls: number;
  readonly failures: number;
}

/** Reads consents from the bank's consent service; built once per gateway (src/app.ts). */
export interface ConsentLookup {
  /** The consent, or undefined when the service does not know it (404); rejects with 503 otherwise. */
  lookup(consentId: string): Promise<ConsentRecord | undefined>;
  stats(): ConsentLookupStats;
  close(): Promise<void>;
}

export interface ConsentLookupOptions {
  /** URL template with `{consentId}`. */
  readonly url: string;
  readonly paths: ConsentPaths;
  readonly cacheTtlSeconds: number;
  readonly cacheMaxEntries: number;
  readonly timeoutMs: number;
  readonly now?: () => number;
}

/** The consent fields of a JSON document (introspection answer or consent service body). */
export function consentFrom(json: unknown, paths: ConsentPaths): ConsentRecord {
  const status = valueAt(json, paths.status);
  const permissions = valueAt(json, paths.permissions);
  const clientId = valueAt(json, paths.clientId);
  return Object.freeze({
    status: typeof status === 'string' ? status : undefined,
    permissions: Array.isArray(permissions) && permissions.every((p) => typeof p === 'string') ? Object.freeze([...permissions]) : undefined,
    clientId: typeof clientId === 'string' && clientId.length > 0 ? clientId : undefined,
  });
}

/** The paths used with the introspection JSON (consentStatusClaim ...). */
export function claimPaths(config: IntrospectionConfig): ConsentPaths {
  return { status: config.consentStatusClaim, permissions: config.consentPermissionsClaim, clientId: config.consentClientIdClaim };
}

/** The consent lookup configured in routes.yaml, or undefined when consents come from the introspection JSON. */
export function consentLookupFromConfig(config: IntrospectionConfig): ConsentLookup | undefined {
  const lookup = config.consentLookup;
  if (lookup === undefined) return undefined;
  return createConsentLookup({
    url: lookup.url,
    paths: { status: lookup.statusPath, permissions: lookup.permissionsPath, clientId: lookup.clientIdPath },
    cacheTtlSeconds: lookup.cacheTtlSeconds,
    cacheMaxEntries: config.cacheMaxEntries,
    timeoutMs: lookup.timeoutMs,
  });
}

const MARKER = '__guarita_consent_id__';

/** A record standing for "the consent service does not know this consent" (cached like any answer). */
const NOT_FOUND: { readonly notFound: true } = Object.freeze({ notFound: true });
type Answer = ConsentRecord | typeof NOT_FOUND;

export function createConsentLookup(options: ConsentLookupOptions): ConsentLookup {
  if (!options.url.includes('{consentId}')) throw new TypeError('consentLookup.url needs a {consentId} placeholder');
  const template = new URL(options.url.replace('{consentId}', MARKER));
  const pathTemplate = template.pathname + template.search;
  if (!pathTemplate.includes(MARKER)) throw new TypeError('consentLookup.url must have {consentId} in its path or query');
  const pool: Pool = createPool(template.origin, { timeoutMs: options.timeoutMs });
  const cache = new SingleFlightCache<Answer>({ max: options.cacheMaxEntries, ...(options.now ? { now: options.now } : {}) });
  const ttlMs = options.cacheTtlSeconds * 1000;
  let networkCalls = 0;
  let failures = 0;

  async function fetchConsent(consentId: string): Promise<Answer> {
    networkCalls++;
    try {
      const path = pathTemplate.replace(MARKER, pathSegment(consentId));
      const answer = await callJson(pool, { method: 'GET', path, timeoutMs: options.timeoutMs, service: 'consent service' });
      if (answer.status === 404) return NOT_FOUND;
      if (answer.json === undefined) throw new ServiceUnavailableError({ cause: new Error(`consent service answered HTTP ${answer.status}`) });
      if (answer.json === null || typeof answer.json !== 'object') {
        throw new ServiceUnavailableError({ cause: new Error('consent service answered JSON that is not an object') });
      }
      return consentFrom(answer.json, options.paths);
    } catch (err) {
      failures++;
      throw err;
    }
  }

  return {
    async lookup(consentId) {
      // A dot segment would be resolved by the consent service as a path step, not an id.
      if (/^\.{1,2}$/.test(consentId)) return undefined;
      const answer = await cache.get(consentId, () => fetchConsent(consentId), () => ttlMs);
      return 'notFound' in answer ? undefined : answer;
    },
    stats() {
      return { ...cache.stats(), networkCalls, failures };
    },
    close() {
      return pool.close();
    },
  };
}

/** A consent id as one path segment: `/`, `?`, `#`, `%` escaped; `:` kept readable (`urn:bank:123`). */
function pathSegment(id: string): string {
  return encodeURIComponent(id).replace(/%3A/gi, ':');
}
