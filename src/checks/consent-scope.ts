/**
 * What an access token's scope says about consents — pure functions of the scope list, used by the
 * consent check (SPEC §1 row 7), which alone records the consent id on request.ofb.
 */

/** Dynamic consent scopes (OFB FAPI profile "Dynamic Consent Scope"): `consent:<id>`, `recurring-consent:<id>`. */
const CONSENT_SCOPE_PREFIXES = ['consent:', 'recurring-consent:'] as const;

/** Payment consents become CONSUMED by design (OFB payments 4.0.0): their tokens skip the status check. */
const PAYMENT_SCOPES = ['payments', 'recurring-payments'] as const;

/**
 * Derived once per introspection answer: a cached answer serves every request of its token, so its
 * scope list is the same object request after request.
 */
const consentIdsByScopes = new WeakMap<readonly string[], readonly string[]>();

/** The distinct consent ids named by a token's scopes, in scope order. */
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

/** Whether the consent verification is skipped for this token (its scope holds `payments` or `recurring-payments`). */
export function isPaymentToken(scopes: readonly string[]): boolean {
  return PAYMENT_SCOPES.some((s) => scopes.includes(s));
}
