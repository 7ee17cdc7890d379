/**
 * The OFB permission → endpoint table (shared/ofb/requirements.md §4, from each API's
 * "Permissions necessárias"; all data endpoints are GET). Used by the permission check
 * (SPEC §1 row 8) for routes with `permissions: ofb`.
 *
 * Patterns: `v{n}` matches a major-version segment (`v2`, `v3` ...: the permission names have been
 * stable across OFB major versions); `{name}` matches exactly one non-empty path segment that
 * holds no encoded slash or backslash (an upstream that decodes `%2F` would otherwise see a
 * different endpoint than the one checked). Anything else matches literally.
 */

export interface PermissionRule {
  readonly pattern: string;
  readonly permission: string;
}

function api(base: string, endpoints: Record<string, string>): PermissionRule[] {
  return Object.entries(endpoints).map(([path, permission]) => ({ pattern: `/open-banking/${base}/v{n}${path}`, permission }));
}

/** Loans, financings, unarranged overdraft and invoice financings share one layout. */
function contracts(base: string, prefix: string): PermissionRule[] {
  return api(base, {
    '/contracts': `${prefix}_READ`,
    '/contracts/{contractId}': `${prefix}_READ`,
    '/contracts/{contractId}/warranties': `${prefix}_WARRANTIES_READ`,
    '/contracts/{contractId}/scheduled-instalments': `${prefix}_SCHEDULED_INSTALMENTS_READ`,
    '/contracts/{contractId}/payments': `${prefix}_PAYMENTS_READ`,
  });
}

export const OFB_PERMISSIONS: readonly PermissionRule[] = Object.freeze([
  ...api('accounts', {
    '/accounts': 'ACCOUNTS_READ',
    '/accounts/{accountId}': 'ACCOUNTS_READ',
    '/accounts/{accountId}/balances': 'ACCOUNTS_BALANCES_READ',
    '/accounts/{accountId}/transactions': 'ACCOUNTS_TRANSACTIONS_READ',
    '/accounts/{accountId}/transactions-current': 'ACCOUNTS_TRANSACTIONS_READ',
    '/accounts/{accountId}/overdraft-limits': 'ACCOUNTS_OVERDRAFT_LIMITS_READ',
  }),
  ...api('credit-cards-accounts', {
    '/accounts': 'CREDIT_CARDS_ACCOUNTS_READ',
    '/accounts/{creditCardAccountId}': 'CREDIT_CARDS_ACCOUNTS_READ',
    '/accounts/{creditCardAccountId}/bills': 'CREDIT_CARDS_ACCOUNTS_BILLS_READ',
    '/accounts/{creditCardAccountId}/bills/{billId}/transactions': 'CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ',
    '/accounts/{creditCardAccountId}/limits': 'CREDIT_CARDS_ACCOUNTS_LIMITS_READ',
    '/accounts/{creditCardAccountId}/transactions': 'CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ',
    '/accounts/{creditCardAccountId}/transactions-current': 'CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ',
  }),
  ...api('customers', {
    '/personal/identifications': 'CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ',
    // "ADITTIONALINFO" (sic) is the spelling of the OFB consents API.
    '/personal/qualifications': 'CUSTOMERS_PERSONAL_ADITTIONALINFO_READ',
    '/personal/financial-relations': 'CUSTOMERS_PERSONAL_ADITTIONALINFO_READ',
    '/business/identifications': 'CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ',
    '/business/qualifications': 'CUSTOMERS_BUSINESS_ADITTIONALINFO_READ',
    '/business/financial-relations': 'CUSTOMERS_BUSINESS_ADITTIONALINFO_READ',
  }),
  ...contracts('loans', 'LOANS'),
  ...contracts('financings', 'FINANCINGS'),
  ...contracts('unarranged-accounts-overdraft', 'UNARRANGED_ACCOUNTS_OVERDRAFT'),
  ...contracts('invoice-financings', 'INVOICE_FINANCINGS'),
  ...api('resources', { '/resources': 'RESOURCES_READ' }),
]);

type Segment = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'version' } | { readonly kind: 'param' };

interface CompiledRule {
  readonly segments: readonly Segment[];
  readonly permission: string;
}

const VERSION = /^v\d+$/;
const ENCODED_SLASH = /%2f|%5c/i;

function compile(rule: PermissionRule): CompiledRule {
  const segments = rule.pattern
    .split('/')
    .slice(1)
    .map((s): Segment => (s === 'v{n}' ? { kind: 'version' } : /^\{[A-Za-z]+\}$/.test(s) ? { kind: 'param' } : { kind: 'literal', text: s }));
  return { segments, permission: rule.permission };
}

const COMPILED: readonly CompiledRule[] = OFB_PERMISSIONS.map(compile);

/**
 * The OFB permission a data request needs, or undefined when the method and path are not in the
 * table (the permission check then refuses: fail closed). `path` is the request path without query.
 */
export function ofbPermissionFor(method: string, path: string): string | undefined {
  // OFB data APIs are read-only (GET); HEAD is GET without a body.
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (!path.startsWith('/')) return undefined;
  const parts = path.split('/').slice(1);
  for (const rule of COMPILED) {
    if (matches(rule.segments, parts)) return rule.permission;
  }
  return undefined;
}

function matches(segments: readonly Segment[], parts: readonly string[]): boolean {
  if (segments.length !== parts.length) return false;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as Segment;
    const part = parts[i] as string;
    switch (segment.kind) {
      case 'literal':
        if (part !== segment.text) return false;
        break;
      case 'version':
        if (!VERSION.test(part)) return false;
        break;
      case 'param':
        if (part.length === 0 || ENCODED_SLASH.test(part)) return false;
        break;
    }
  }
  return true;
}
