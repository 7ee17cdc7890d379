/**
 * The OFB endpoint catalogue, as data: one row per endpoint template of the OFB APIs. Three rules
 * read it and nothing else: SPEC §1 row 8 (the permission an endpoint needs, requirements.md §4
 * and §9), SPEC §10 (the regulator's per-minute and monthly minimums, operations.md) and SPEC §11
 * (the templated `endpoint` a PCM report names).
 *
 * Templates: `{name}` matches exactly one non-empty path segment holding no encoded slash or
 * backslash (an upstream that decodes `%2F` would otherwise see a different endpoint than the one
 * checked); everything else matches literally, the major version included, because the PCM names
 * endpoints per major version.
 */

export type CatalogueMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * The OFB minimum a bank must allow per endpoint and origin each minute (operations.md "Per-minute
 * limits by origin"): a number, the `high` class (which depends on the bank's consent stock, so
 * the operator sets it as `limits.highClassPerMinute`), or `exempt` (token, DCR, consents,
 * resources, payments and the other service APIs are not limited).
 */
export type PerMinuteMinimum = number | 'high' | 'exempt';

/** The OFB minimum calls per month per consent and resource (operations.md "Monthly call limits"), or `exempt`. */
export type PerMonthMinimum = number | 'exempt';

export interface OfbEndpoint {
  /** API family as in the base path: `accounts`, `credit-cards-accounts`, `products-services` … */
  readonly api: string;
  /** Major version of the API, as in the base path (`v2` → 2). */
  readonly version: number;
  readonly method: CatalogueMethod;
  /** The templated path, e.g. `/open-banking/accounts/v2/accounts/{accountId}/balances` (the PCM `endpoint`). */
  readonly template: string;
  /** The consent permission the endpoint needs (SPEC §1 row 8), or undefined when none is defined. */
  readonly permission: string | undefined;
  readonly perMinute: PerMinuteMinimum;
  readonly perConsentMonth: PerMonthMinimum;
  /** Open data: no client certificate, origin is the client IP, PCM open-data report. */
  readonly openData: boolean;
}

export interface EndpointMatch {
  readonly endpoint: OfbEndpoint;
  /** The value of the template's last `{param}` — the most specific resource id (SPEC §10); '' when none. */
  readonly resourceId: string;
}

// ---- the data -------------------------------------------------------------------------------

interface Row {
  readonly path: string;
  readonly method?: CatalogueMethod;
  readonly permission?: string;
  readonly perMinute: PerMinuteMinimum;
  readonly perConsentMonth: PerMonthMinimum;
}

interface Family {
  readonly api: string;
  readonly versions: readonly number[];
  readonly openData?: boolean;
  readonly rows: readonly Row[];
}

/** Loans, financings, unarranged overdraft and invoice financings share one layout (requirements.md §4). */
function contracts(api: string, prefix: string, idMonthly: number, paymentsMonthly: number): Family {
  return {
    api,
    versions: [2],
    rows: [
      { path: '/contracts', permission: `${prefix}_READ`, perMinute: 'high', perConsentMonth: 30 },
      { path: '/contracts/{contractId}', permission: `${prefix}_READ`, perMinute: 'high', perConsentMonth: idMonthly },
      { path: '/contracts/{contractId}/warranties', permission: `${prefix}_WARRANTIES_READ`, perMinute: 'high', perConsentMonth: 8 },
      { path: '/contracts/{contractId}/scheduled-instalments', permission: `${prefix}_SCHEDULED_INSTALMENTS_READ`, perMinute: 'high', perConsentMonth: 30 },
      { path: '/contracts/{contractId}/payments', permission: `${prefix}_PAYMENTS_READ`, perMinute: 'high', perConsentMonth: paymentsMonthly },
    ],
  };
}

const FAMILIES: readonly Family[] = [
  {
    api: 'accounts',
    versions: [2],
    rows: [
      { path: '/accounts', permission: 'ACCOUNTS_READ', perMinute: 1000, perConsentMonth: 8 },
      { path: '/accounts/{accountId}', permission: 'ACCOUNTS_READ', perMinute: 1000, perConsentMonth: 8 },
      { path: '/accounts/{accountId}/balances', permission: 'ACCOUNTS_BALANCES_READ', perMinute: 'high', perConsentMonth: 420 },
      { path: '/accounts/{accountId}/transactions', permission: 'ACCOUNTS_TRANSACTIONS_READ', perMinute: 1000, perConsentMonth: 8 },
      { path: '/accounts/{accountId}/transactions-current', permission: 'ACCOUNTS_TRANSACTIONS_READ', perMinute: 'high', perConsentMonth: 240 },
      { path: '/accounts/{accountId}/overdraft-limits', permission: 'ACCOUNTS_OVERDRAFT_LIMITS_READ', perMinute: 'high', perConsentMonth: 420 },
    ],
  },
  {
    api: 'credit-cards-accounts',
    versions: [2],
    rows: [
      { path: '/accounts', permission: 'CREDIT_CARDS_ACCOUNTS_READ', perMinute: 1000, perConsentMonth: 8 },
      { path: '/accounts/{creditCardAccountId}', permission: 'CREDIT_CARDS_ACCOUNTS_READ', perMinute: 2000, perConsentMonth: 120 },
      { path: '/accounts/{creditCardAccountId}/bills', permission: 'CREDIT_CARDS_ACCOUNTS_BILLS_READ', perMinute: 1500, perConsentMonth: 30 },
      {
        path: '/accounts/{creditCardAccountId}/bills/{billId}/transactions',
        permission: 'CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ',
        perMinute: 1500,
        perConsentMonth: 30,
      },
      { path: '/accounts/{creditCardAccountId}/limits', permission: 'CREDIT_CARDS_ACCOUNTS_LIMITS_READ', perMinute: 'high', perConsentMonth: 240 },
      { path: '/accounts/{creditCardAccountId}/transactions', permission: 'CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ', perMinute: 1000, perConsentMonth: 8 },
      {
        path: '/accounts/{creditCardAccountId}/transactions-current',
        permission: 'CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ',
        perMinute: 'high',
        perConsentMonth: 240,
      },
    ],
  },
  {
    api: 'customers',
    versions: [2],
    rows: [
      { path: '/personal/identifications', permission: 'CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ', perMinute: 1000, perConsentMonth: 8 },
      // "ADITTIONALINFO" (sic) is the spelling of the OFB consents API.
      { path: '/personal/qualifications', permission: 'CUSTOMERS_PERSONAL_ADITTIONALINFO_READ', perMinute: 1000, perConsentMonth: 8 },
      { path: '/personal/financial-relations', permission: 'CUSTOMERS_PERSONAL_ADITTIONALINFO_READ', perMinute: 1000, perConsentMonth: 8 },
      { path: '/business/identifications', permission: 'CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ', perMinute: 1000, perConsentMonth: 8 },
      { path: '/business/qualifications', permission: 'CUSTOMERS_BUSINESS_ADITTIONALINFO_READ', perMinute: 1000, perConsentMonth: 8 },
      { path: '/business/financial-relations', permission: 'CUSTOMERS_BUSINESS_ADITTIONALINFO_READ', perMinute: 1000, perConsentMonth: 8 },
    ],
  },
  contracts('loans', 'LOANS', 30, 120),
  contracts('financings', 'FINANCINGS', 8, 30),
  contracts('unarranged-accounts-overdraft', 'UNARRANGED_ACCOUNTS_OVERDRAFT', 8, 30),
  contracts('invoice-financings', 'INVOICE_FINANCINGS', 8, 30),
  // Consents and resources are neither per-minute nor monthly limited (operations.md).
  { api: 'resources', versions: [2, 3], rows: [{ path: '/resources', permission: 'RESOURCES_READ', perMinute: 'exempt', perConsentMonth: 'exempt' }] },
];

// ---- the matcher ----------------------------------------------------------------------------

type Segment = { readonly param: false; readonly text: string } | { readonly param: true };

interface Compiled {
  readonly endpoint: OfbEndpoint;
  /** Segments after `/open-banking/<api>/v<n>`. */
  readonly rest: readonly Segment[];
  /** Index in the path's segments of the last `{param}`, or -1. */
  readonly resourceIndex: number;
}

const PARAM = /^\{[A-Za-z]+\}$/;
const ENCODED_SLASH = /%2f|%5c/i;

function expand(family: Family): OfbEndpoint[] {
  return family.versions.flatMap((version) =>
    family.rows.map(
      (row): OfbEndpoint =>
        Object.freeze({
          api: family.api,
          version,
          method: row.method ?? 'GET',
          template: `/open-banking/${family.api}/v${version}${row.path}`,
          permission: row.permission,
          perMinute: row.perMinute,
          perConsentMonth: row.perConsentMonth,
          openData: family.openData === true,
        }),
    ),
  );
}

/** Every endpoint of the catalogue (tests, docs, the OpenAPI snapshot comparison). */
export const OFB_ENDPOINTS: readonly OfbEndpoint[] = Object.freeze(FAMILIES.flatMap(expand));

/** Rows indexed by base path (`/open-banking/<api>/v<n>`) so a lookup scans one family. */
const BY_BASE: ReadonlyMap<string, readonly Compiled[]> = (() => {
  const index = new Map<string, Compiled[]>();
  for (const endpoint of OFB_ENDPOINTS) {
    const parts = endpoint.template.split('/');
    const base = parts.slice(0, 4).join('/');
    const rest = parts.slice(4).map((s): Segment => (PARAM.test(s) ? { param: true } : { param: false, text: s }));
    let resourceIndex = -1;
    rest.forEach((s, i) => {
      if (s.param) resourceIndex = i;
    });
    const rows = index.get(base) ?? [];
    rows.push({ endpoint, rest, resourceIndex });
    index.set(base, rows);
  }
  return index;
})();

/**
 * The catalogue endpoint a request addresses, or undefined when the method and path are in no row.
 * `path` is the canonical request path without the query (SPEC §4); HEAD is looked up as GET.
 */
export function findEndpoint(method: string, path: string): EndpointMatch | undefined {
  const wanted = method === 'HEAD' ? 'GET' : method;
  // '/open-banking/<api>/v<n>' is the first four '/'-separated fields.
  let cut = -1;
  for (let i = 0; i < 4; i++) {
    cut = path.indexOf('/', cut + 1);
    if (cut === -1) return undefined;
  }
  const rows = BY_BASE.get(path.slice(0, cut));
  if (rows === undefined) return undefined;
  const rest = path.slice(cut + 1).split('/');
  for (const row of rows) {
    if (row.endpoint.method !== wanted || !matches(row.rest, rest)) continue;
    return { endpoint: row.endpoint, resourceId: row.resourceIndex === -1 ? '' : (rest[row.resourceIndex] as string) };
  }
  return undefined;
}

function matches(segments: readonly Segment[], parts: readonly string[]): boolean {
  if (segments.length !== parts.length) return false;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as Segment;
    const part = parts[i] as string;
    if (segment.param ? part.length === 0 || ENCODED_SLASH.test(part) : part !== segment.text) return false;
  }
  return true;
}
