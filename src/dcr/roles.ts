/**
 * OFB regulatory roles → the scopes a client holding them may register (SPEC §9 row 8;
 * ofb/requirements.md §8: OFB DCR v2.1.0, SEC DCR ID3 item 9). Only roles whose
 * `software_statement_roles` entry has `status: "Active"` count.
 */

/** Scopes per regulatory role. DADOS: data receivers; PAGTO: payment initiators; CONTA/CCORR: account holders and correspondents. */
export const ROLE_SCOPES: Readonly<Record<string, readonly string[]>> = {
  DADOS: [
    'openid',
    'accounts',
    'credit-cards-accounts',
    'consents',
    'customers',
    'invoice-financings',
    'financings',
    'loans',
    'unarranged-accounts-overdraft',
    'resources',
    'credit-fixed-incomes',
    'exchanges',
    'bank-fixed-incomes',
    'variable-incomes',
    'treasure-titles',
    'funds',
    'credit-portability',
  ],
  PAGTO: ['openid', 'payments', 'recurring-payments', 'nrp-consents'],
  CONTA: ['openid'],
  CCORR: ['openid'],
};

/**
 * The scopes the SSA's `software_statement_roles` allow: the union over its `Active` entries.
 * Anything that is not a list of role objects allows nothing (fail closed).
 */
export function scopesAllowedBy(roles: unknown): ReadonlySet<string> {
  const allowed = new Set<string>();
  if (!Array.isArray(roles)) return allowed;
  for (const entry of roles) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { role, status } = entry as { role?: unknown; status?: unknown };
    if (status !== 'Active' || typeof role !== 'string' || !Object.hasOwn(ROLE_SCOPES, role)) continue;
    for (const scope of ROLE_SCOPES[role] ?? []) allowed.add(scope);
  }
  return allowed;
}
