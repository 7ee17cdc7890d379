import { claimPaths, consentFrom, type ConsentRecord } from '../clients/consent-lookup.js';
import { ForbiddenError, InvalidTokenError } from '../errors.js';
import type { CheckDefinition } from './types.js';

/** Dynamic consent scopes (OFB FAPI profile "Dynamic Consent Scope"): `consent:<id>`, `recurring-consent:<id>`. */
const CONSENT_SCOPE_PREFIXES = ['consent:', 'recurring-consent:'] as const;

/** Payment consents become CONSUMED by design (OFB payments 4.0.0): their tokens skip the status check. */
const PAYMENT_SCOPES = ['payments', 'recurring-payments'] as const;

/** OFB consent status that allows data access (consents 3.3.1). */
const AUTHORISED = 'AUTHORISED';

/**
 * Derived once per introspection answer: a cached answer serves every request of its token, so its
 * scope list (and claims, below) are the same objects request after request.
 */
const consentIdsByScopes = new WeakMap<readonly string[], readonly string[]>();

/** The distinct consent ids named by a token's scopes. */
export function consentIdsOf(scopes: readonly string[]): readonly string[] {
  let ids = consentIdsByScopes.get(scopes);
  if (ids === undefined) {
    ids = parseConsentIds(scopes);
    consentIdsByScopes.set(scopes, ids);
  }
  return ids;
}

function parseConsentIds(scopes: readonly string[]): readonly string[] {
  const ids: string[] = [];
  for (const scope of scopes) {
    for (const prefix of CONSENT_SCOPE_PREFIXES) {
      if (scope.startsWith(prefix)) {
        const id = scope.slice(prefix.length);
        if (id.length > 0 && !ids.includes(id)) ids.push(id);
      }
    }
  }
  return ids;
}

/** Whether the consent check is skipped for this token (its scope holds `payments` or `recurring-payments`). */
export function isPaymentToken(scopes: readonly string[]): boolean {
  return PAYMENT_SCOPES.some((s) => scopes.includes(s));
}

/**
 * SPEC §1 row 7 — the consent named by the token scope (`consent:<id>` / `recurring-consent:<id>`)
 * exists, belongs to the token's client and is `AUTHORISED`; read from the introspection JSON
 * (`consentStatusClaim`, `consentPermissionsClaim`, `consentClientIdClaim` dot paths) or, when
 * `consentLookup` is configured, from the bank's consent service (cached briefly; unreachable → 503).
 * No consent scope, consent not found, status missing or not AUTHORISED → 401 `invalid_token` (the
 * OFB functional tests expect 401 once a consent is revoked); another client's consent → 403
 * FORBIDDEN (FT consent-api-test-client-limits). Skipped for payments tokens (SPEC §1 row 7).
 * Runs on every request: a cached introspection answer never skips it.
 */
export const consentCheck: CheckDefinition = {
  name: 'consent',
  phase: 'headers',
  create(route, deps) {
    if (route.auth?.consent !== 'required') return undefined;
    const config = deps.config.introspection;
    if (config === undefined) throw new TypeError(`routes[${route.index}]: the consent check needs the introspection section`);
    const lookup = deps.consents;
    const paths = claimPaths(config);
    const consentByClaims = new WeakMap<object, ConsentRecord>();
    return async function requireAuthorisedConsent(request) {
      const ofb = request.ofb;
      const token = ofb.token;
      if (token === undefined) throw new InvalidTokenError('access token was not introspected');
      if (isPaymentToken(token.scopes)) return;
      const ids = consentIdsOf(token.scopes);
      if (ids.length === 0) throw new InvalidTokenError('access token scope names no consent (consent:<id>)');
      if (ids.length > 1) throw new InvalidTokenError('access token scope names more than one consent');
      const consentId = ids[0] as string;
      let consent: ConsentRecord | undefined;
      if (lookup === undefined) {
        consent = consentByClaims.get(token.claims);
        if (consent === undefined) {
          consent = consentFrom(token.claims, paths);
          consentByClaims.set(token.claims, consent);
        }
        if (consent.status === undefined) throw new InvalidTokenError('the authorization server gave no consent status for the access token');
      } else {
        consent = await lookup.lookup(consentId);
        if (consent === undefined) throw new InvalidTokenError(`consent ${consentId} was not found`);
        if (consent.status === undefined) throw new InvalidTokenError(`consent ${consentId} has no status`);
      }
      // Ownership before status: a client learns nothing about another client's consent.
      if (consent.clientId !== undefined && consent.clientId !== token.clientId) {
        throw new ForbiddenError(`consent ${consentId} belongs to another client`);
      }
      if (consent.status !== AUTHORISED) {
        const status = /^[A-Z_]{1,64}$/.test(consent.status ?? '') ? (consent.status as string) : 'not recognised';
        throw new InvalidTokenError(`consent ${consentId} is not AUTHORISED (status: ${status})`);
      }
      ofb.consentId = consentId;
      ofb.consent = consent;
    };
  },
};
