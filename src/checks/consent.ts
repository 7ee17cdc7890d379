import type { FastifyRequest } from 'fastify';
import { claimPaths, consentFrom, type ConsentRecord } from '../clients/consent-lookup.js';
import { ForbiddenError, InvalidTokenError } from '../errors.js';
import { consentIdsOf, isPaymentToken } from './consent-scope.js';
import { ensured, type CheckDefinition } from './types.js';

/** OFB consent status that allows data access (consents 3.3.1). */
const AUTHORISED = 'AUTHORISED';

/** Records the consent id when the scope names exactly one (x-consent-id upstream, SPEC §4); returns every id it names. */
function recordConsentIds(ofb: FastifyRequest['ofb'], scopes: readonly string[]): readonly string[] {
  const ids = consentIdsOf(scopes);
  if (ids.length === 1) ofb.consentId = ids[0];
  return ids;
}

/** Routes without `consent: required`: the consent id the scope names goes upstream, unverified. */
function recordConsentId(request: FastifyRequest): void {
  const token = request.ofb.token;
  // The token-active check always runs first; without its answer there is no scope to read.
  if (token !== undefined) recordConsentIds(request.ofb, token.scopes);
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
 *
 * The consent id is this check's fact: on every token route — also without `consent: required`,
 * and for payments tokens — it records the one consent the scope names on request.ofb, for the
 * upstream's x-consent-id (SPEC §4). Without `consent: required` it only records, never refuses.
 */
export const consentCheck: CheckDefinition = {
  name: 'consent',
  phase: 'headers',
  create(route, deps) {
    if (route.auth === undefined) return undefined;
    if (route.auth.consent !== 'required') return recordConsentId;
    // A token route needs the introspection section: token-active's rule.
    const config = ensured(deps.config.introspection, 'config.introspection');
    const lookup = deps.consents;
    const paths = claimPaths(config);
    const consentByClaims = new WeakMap<object, ConsentRecord>();
    return async function requireAuthorisedConsent(request) {
      const ofb = request.ofb;
      const token = ofb.token;
      if (token === undefined) throw new InvalidTokenError('access token was not introspected');
      const ids = recordConsentIds(ofb, token.scopes);
      if (isPaymentToken(token.scopes)) return;
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
      ofb.consent = consent;
    };
  },
};

