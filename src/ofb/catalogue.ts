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
//
// Paths, methods and major versions: OpenBanking-Brasil/openapi swagger-apis/ (the latest stable file
// of each major; snapshot in test/fixtures/ofb-openapi-paths.json, compared by test/ofb/openapi-snapshot.test.ts).
// Per-minute minimums: RNF "Referência" v24 (lansouzapp/open-finance-doc, "Requisitos não
// Funcionais/Referência.md", column TPM; "NA" → exempt); monthly minimums: the same table's
// "Limite Operacional" column, as in operations.md "Monthly call limits".

interface Row {
  readonly path: string;
  readonly method?: CatalogueMethod;
  readonly permission?: string;
  readonly perMinute: PerMinuteMinimum;
  readonly perConsentMonth: PerMonthMinimum;
  /** The major versions that have this row, when not all of the family's. */
  readonly versions?: readonly number[];
}

interface Family {
  readonly api: string;
  readonly versions: readonly number[];
  readonly openData?: boolean;
  readonly rows: readonly Row[];
}

/** Loans, financings, unarranged overdraft and invoice financings share one layout (requirements.md §4). */
function contracts(api: string, prefix: string, minute: readonly [number, number, number, number, number], month: readonly [number, number, number, number, number]): Family {
  const [list, one, warranties, instalments, payments] = minute;
  const [listM, oneM, warrantiesM, instalmentsM, paymentsM] = month;
  return {
    api,
    versions: [1, 2],
    rows: [
      { path: '/contracts', permission: `${prefix}_READ`, perMinute: list, perConsentMonth: listM },
      { path: '/contracts/{contractId}', permission: `${prefix}_READ`, perMinute: one, perConsentMonth: oneM },
      { path: '/contracts/{contractId}/warranties', permission: `${prefix}_WARRANTIES_READ`, perMinute: warranties, perConsentMonth: warrantiesM },
      { path: '/contracts/{contractId}/scheduled-instalments', permission: `${prefix}_SCHEDULED_INSTALMENTS_READ`, perMinute: instalments, perConsentMonth: instalmentsM },
      { path: '/contracts/{contractId}/payments', permission: `${prefix}_PAYMENTS_READ`, perMinute: payments, perConsentMonth: paymentsM },
    ],
  };
}

/**
 * The investment families (requirements.md §9: every endpoint needs the family's permission;
 * Referência: list medium 1500/30, one low 1000/8, transactions low 1000/8, balances and
 * transactions-current medium-high 2000/120 — medium 1500/30 for variable incomes).
 */
function investments(api: string, permission: string, current: number, currentMonth: number, extra: readonly Row[] = []): Family {
  return {
    api,
    versions: [1],
    rows: [
      { path: '/investments', permission, perMinute: 1500, perConsentMonth: 30 },
      { path: '/investments/{investmentId}', permission, perMinute: 1000, perConsentMonth: 8 },
      { path: '/investments/{investmentId}/balances', permission, perMinute: current, perConsentMonth: currentMonth },
      { path: '/investments/{investmentId}/transactions', permission, perMinute: 1000, perConsentMonth: 8 },
      { path: '/investments/{investmentId}/transactions-current', permission, perMinute: current, perConsentMonth: currentMonth },
      ...extra,
    ],
  };
}

/** Open data (no client certificate): every endpoint 500 TPM, no monthly limit (operations.md; Referência "Dados Abertos"). */
function openData(api: string, versions: readonly number[], paths: readonly string[]): Family {
  return { api, versions, openData: true, rows: paths.map((path) => ({ path, perMinute: 500, perConsentMonth: 'exempt' })) };
}

/** A service API row: no consent permission, neither limit (operations.md: token, DCR, consents, resources, payments, other services). */
function service(method: CatalogueMethod, path: string, versions?: readonly number[]): Row {
  return versions === undefined ? { path, method, perMinute: 'exempt', perConsentMonth: 'exempt' } : { path, method, perMinute: 'exempt', perConsentMonth: 'exempt', versions };
}

const FAMILIES: readonly Family[] = [
  // Accounts v1 and v2 (OAPI accounts/1.0.3, 2.4.2); transactions-current only from v2 (requirements.md §9).
  // /reserved-balances is only in accounts/2.5.0-beta.2 (no stable version yet): not in the catalogue.
  {
    api: 'accounts',
    versions: [1, 2],
    rows: [
      { path: '/accounts', permission: 'ACCOUNTS_READ', perMinute: 1000, perConsentMonth: 8 },
      { path: '/accounts/{accountId}', permission: 'ACCOUNTS_READ', perMinute: 1000, perConsentMonth: 8 },
      { path: '/accounts/{accountId}/balances', permission: 'ACCOUNTS_BALANCES_READ', perMinute: 'high', perConsentMonth: 420 },
      { path: '/accounts/{accountId}/transactions', permission: 'ACCOUNTS_TRANSACTIONS_READ', perMinute: 1000, perConsentMonth: 8 },
      { path: '/accounts/{accountId}/transactions-current', permission: 'ACCOUNTS_TRANSACTIONS_READ', perMinute: 'high', perConsentMonth: 240, versions: [2] },
      { path: '/accounts/{accountId}/overdraft-limits', permission: 'ACCOUNTS_OVERDRAFT_LIMITS_READ', perMinute: 'high', perConsentMonth: 420 },
    ],
  },
  // Credit cards v1 and v2 (OAPI credit-cards/1.0.4, 2.3.1; base path credit-cards-accounts).
  {
    api: 'credit-cards-accounts',
    versions: [1, 2],
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
        versions: [2],
      },
    ],
  },
  // Customers v1 and v2 (OAPI customers/1.0.3, 2.2.1): every endpoint 1000 TPM, 8 a month.
  {
    api: 'customers',
    versions: [1, 2],
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
  // Credit operations v1 and v2 (OAPI loans/2.5.0, financings/2.4.0, …). Referência TPM per endpoint:
  // loans medium, medium, low, medium, medium-high; the other three medium, low, low, medium, medium.
  contracts('loans', 'LOANS', [1500, 1500, 1000, 1500, 2000], [30, 30, 8, 30, 120]),
  contracts('financings', 'FINANCINGS', [1500, 1000, 1000, 1500, 1500], [30, 8, 8, 30, 30]),
  contracts('unarranged-accounts-overdraft', 'UNARRANGED_ACCOUNTS_OVERDRAFT', [1500, 1000, 1000, 1500, 1500], [30, 8, 8, 30, 30]),
  contracts('invoice-financings', 'INVOICE_FINANCINGS', [1500, 1000, 1000, 1500, 1500], [30, 8, 8, 30, 30]),
  investments('bank-fixed-incomes', 'BANK_FIXED_INCOMES_READ', 2000, 120),
  investments('credit-fixed-incomes', 'CREDIT_FIXED_INCOMES_READ', 2000, 120),
  investments('funds', 'FUNDS_READ', 2000, 120),
  investments('treasure-titles', 'TREASURE_TITLES_READ', 2000, 120),
  investments('variable-incomes', 'VARIABLE_INCOMES_READ', 1500, 30, [
    { path: '/broker-notes/{brokerNoteId}', permission: 'VARIABLE_INCOMES_READ', perMinute: 1500, perConsentMonth: 30 },
  ]),
  // Exchanges v1 (OAPI exchanges/1.0.0; requirements.md §9): Referência medium, low, medium.
  {
    api: 'exchanges',
    versions: [1],
    rows: [
      { path: '/operations', permission: 'EXCHANGES_READ', perMinute: 1500, perConsentMonth: 30 },
      { path: '/operations/{operationId}', permission: 'EXCHANGES_READ', perMinute: 1000, perConsentMonth: 8 },
      { path: '/operations/{operationId}/events', permission: 'EXCHANGES_READ', perMinute: 1500, perConsentMonth: 30 },
    ],
  },
  // Resources v1–v3 (requirements.md §4): RESOURCES_READ; consents and resources are neither
  // per-minute nor monthly limited (operations.md; Referência TPM "NA").
  { api: 'resources', versions: [1, 2, 3], rows: [{ path: '/resources', permission: 'RESOURCES_READ', perMinute: 'exempt', perConsentMonth: 'exempt' }] },

  // ---- service APIs: no consent permission (requirements.md §4), not limited (Referência TPM "NA")
  // Consents v1–v3 (OAPI consents/1.0.3, 2.2.0, 3.3.1): /extends from v2 (GET and POST in v2, POST in v3), /extensions in v3.
  {
    api: 'consents',
    versions: [1, 2, 3],
    rows: [
      service('POST', '/consents'),
      service('GET', '/consents/{consentId}'),
      service('DELETE', '/consents/{consentId}'),
      service('POST', '/consents/{consentId}/extends', [2, 3]),
      service('GET', '/consents/{consentId}/extends', [2]),
      service('GET', '/consents/{consentId}/extensions', [3]),
    ],
  },
  // Payments v1–v4 (OAPI payments/1.2.0, 2.1.0, 3.1.0, 4.0.0): PATCH of a payment from v2, of a consent's payments in v4.
  {
    api: 'payments',
    versions: [1, 2, 3, 4],
    rows: [
      service('POST', '/consents'),
      service('GET', '/consents/{consentId}'),
      service('POST', '/pix/payments'),
      service('GET', '/pix/payments/{paymentId}'),
      service('PATCH', '/pix/payments/{paymentId}', [2, 3, 4]),
      service('PATCH', '/pix/payments/consents/{consentId}', [4]),
    ],
  },
  // Automatic payments v1 and v2 (OAPI automatic-payments/1.0.0, 2.0.0).
  {
    api: 'automatic-payments',
    versions: [1, 2],
    rows: [
      service('POST', '/recurring-consents'),
      service('GET', '/recurring-consents/{recurringConsentId}'),
      service('PATCH', '/recurring-consents/{recurringConsentId}'),
      service('POST', '/pix/recurring-payments'),
      service('GET', '/pix/recurring-payments'),
      service('GET', '/pix/recurring-payments/{recurringPaymentId}'),
      service('PATCH', '/pix/recurring-payments/{recurringPaymentId}'),
    ],
  },
  // Payments without redirection v1 and v2 (OAPI enrollments/1.3.1, 2.1.0).
  {
    api: 'enrollments',
    versions: [1, 2],
    rows: [
      service('POST', '/enrollments'),
      service('GET', '/enrollments/{enrollmentId}'),
      service('PATCH', '/enrollments/{enrollmentId}'),
      service('POST', '/enrollments/{enrollmentId}/fido-registration-options'),
      service('POST', '/enrollments/{enrollmentId}/fido-registration'),
      service('POST', '/enrollments/{enrollmentId}/fido-sign-options'),
      service('POST', '/enrollments/{enrollmentId}/risk-signals'),
      service('POST', '/consents/{consentId}/authorise'),
    ],
  },
  // Credit portability v1 (OAPI credit-portability/1.0.0; Referência TPM and monthly "NA"): the
  // eligibility query and the request use the customer's token and LOANS_READ (requirements.md §9);
  // the others use client credentials.
  {
    api: 'credit-portability',
    versions: [1],
    rows: [
      { path: '/credit-operations/{contractId}/portability-eligibility', permission: 'LOANS_READ', perMinute: 'exempt', perConsentMonth: 'exempt' },
      { path: '/portabilities', method: 'POST', permission: 'LOANS_READ', perMinute: 'exempt', perConsentMonth: 'exempt' },
      service('GET', '/portabilities/{portabilityId}'),
      service('GET', '/portabilities/{portabilityId}/account-data'),
      service('PATCH', '/portabilities/{portabilityId}/cancel'),
      service('POST', '/portabilities/{portabilityId}/payment'),
    ],
  },
  // Webhooks v1 (OAPI webhook/1.2.0; Referência "Webhook", TPM "NA"): `{versionApi}` is the notifying API's major version.
  {
    api: 'webhook',
    versions: [1],
    rows: [
      service('POST', '/payments/{versionApi}/consents/{consentId}'),
      service('POST', '/payments/{versionApi}/pix/payments/{paymentId}'),
      service('POST', '/automatic-payments/{versionApi}/recurring-consents/{recurringConsentId}'),
      service('POST', '/automatic-payments/{versionApi}/pix/recurring-payments/{recurringPaymentId}'),
      service('POST', '/enrollments/{versionApi}/enrollments/{enrollmentId}'),
    ],
  },

  // ---- open data (no client certificate)
  // Admin and Discovery (OAPI admin, common): public, but Referência "Relatórios e Métricas" sets no TPM ("NA").
  { api: 'admin', versions: [1, 2], openData: true, rows: [{ path: '/metrics', perMinute: 'exempt', perConsentMonth: 'exempt' }] },
  {
    api: 'discovery',
    versions: [1, 2],
    openData: true,
    rows: [
      { path: '/status', perMinute: 'exempt', perConsentMonth: 'exempt' },
      { path: '/outages', perMinute: 'exempt', perConsentMonth: 'exempt' },
    ],
  },
  // Products and services v1, v2 (OAPI products-services/1.0.2, 2.0.0; 3.0.0 still declares the v2 base path).
  openData(
    'products-services',
    [1, 2],
    ['accounts', 'loans', 'credit-cards', 'financings', 'invoice-financings', 'unarranged-account-overdraft'].flatMap((p) => [`/personal-${p}`, `/business-${p}`]),
  ),
  // Channels v1, v2 (OAPI channels/1.0.2, 2.0.1; 3.0.0 declares the v1 base path).
  openData('channels', [1, 2], ['/banking-agents', '/branches', '/electronic-channels', '/phone-channels', '/shared-automated-teller-machines']),
  openData('opendata-accounts', [1], ['/personal-accounts', '/business-accounts']),
  openData('opendata-creditcards', [1], ['/personal-credit-cards', '/business-credit-cards']),
  openData('opendata-financings', [1], ['/personal-financings', '/business-financings']),
  openData('opendata-invoicefinancings', [1], ['/personal-invoice-financings', '/business-invoice-financings']),
  openData('opendata-loans', [1], ['/personal-loans', '/business-loans']),
  openData('opendata-unarranged', [1], ['/personal-unarranged-account-overdraft', '/business-unarranged-account-overdraft']),
  openData('opendata-investments', [1], ['/bank-fixed-incomes', '/credit-fixed-incomes', '/funds', '/treasure-titles', '/variable-incomes']),
  openData('opendata-exchange', [1], ['/online-rates', '/vet-values']),
  openData('opendata-acquiring-services', [1], ['/personals', '/businesses']),
  openData('opendata-capitalization', [1, 2], ['/bonds']),
  openData('opendata-pension', [1, 2], ['/risk-coverages', '/survival-coverages']),
  openData('opendata-insurance', [1, 2], ['/personals']),
];

// ---- the matcher ----------------------------------------------------------------------------

type Segment = { readonly param: false; readonly text: string } | { readonly param: true };

interface Compiled {
  readonly endpoint: OfbEndpoint;
  /** Segments after `/open-banking/<api>/v<n>`. */
  readonly rest: readonly Segment[];
  /** Index in `rest` of the last `{param}`, or -1. */
  readonly resourceIndex: number;
  /** The match of a template without params (no allocation per request). */
  readonly fixed: EndpointMatch | undefined;
}

const PARAM = /^\{[A-Za-z]+\}$/;
const TEMPLATE = /^\/open-banking\/[a-z-]+\/v[1-9]\d*(\/[a-z-]+|\/\{[A-Za-z]+\})+$/;

function expand(family: Family): OfbEndpoint[] {
  return family.versions.flatMap((version) =>
    family.rows
      .filter((row) => row.versions === undefined || row.versions.includes(version))
      .map(
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

/**
 * Literal before `{param}` at the first segment where two templates differ in kind: of two
 * templates that match one path, the more literal one is tried first, so a literal segment always
 * wins over a parameter (e.g. `/x/consents/{id}` over `/x/{paymentId}/{id}`).
 */
function literalFirst(a: Compiled, b: Compiled): number {
  const n = Math.min(a.rest.length, b.rest.length);
  for (let i = 0; i < n; i++) {
    const pa = (a.rest[i] as Segment).param;
    const pb = (b.rest[i] as Segment).param;
    if (pa !== pb) return pa ? 1 : -1;
  }
  return a.rest.length - b.rest.length;
}

/** A lookup over the given endpoints: `findEndpoint` is this over {@link OFB_ENDPOINTS}; tests build others. */
export type EndpointLookup = (method: string, path: string) => EndpointMatch | undefined;

/**
 * Compiles endpoints into a lookup indexed api → `v<n>` → method, each list literal-first, so a
 * request touches only its own family, version and method. Throws TypeError on a malformed
 * template or a row twice.
 */
export function endpointLookup(endpoints: readonly OfbEndpoint[]): EndpointLookup {
  const index = new Map<string, Map<string, Map<string, Compiled[]>>>();
  for (const endpoint of endpoints) {
    if (!TEMPLATE.test(endpoint.template) || !endpoint.template.startsWith(`/open-banking/${endpoint.api}/v${endpoint.version}/`)) {
      throw new TypeError(`malformed OFB catalogue template ${endpoint.template}`);
    }
    const rest = endpoint.template
      .split('/')
      .slice(4)
      .map((s): Segment => (PARAM.test(s) ? { param: true } : { param: false, text: s }));
    const resourceIndex = rest.findLastIndex((s) => s.param);
    const byVersion = index.get(endpoint.api) ?? new Map<string, Map<string, Compiled[]>>();
    const byMethod = byVersion.get(`v${endpoint.version}`) ?? new Map<string, Compiled[]>();
    const rows = byMethod.get(endpoint.method) ?? [];
    if (rows.some((r) => r.endpoint.template === endpoint.template)) throw new TypeError(`OFB catalogue row twice: ${endpoint.method} ${endpoint.template}`);
    rows.push({ endpoint, rest, resourceIndex, fixed: resourceIndex === -1 ? Object.freeze({ endpoint, resourceId: '' }) : undefined });
    byMethod.set(endpoint.method, rows);
    byVersion.set(`v${endpoint.version}`, byMethod);
    index.set(endpoint.api, byVersion);
  }
  for (const byVersion of index.values()) for (const byMethod of byVersion.values()) for (const rows of byMethod.values()) rows.sort(literalFirst);

  return function lookup(method, path) {
    // '/open-banking/<api>/v<n>/…' → ['', 'open-banking', api, 'v<n>', …]: one split, no other allocation.
    const parts = path.split('/');
    if (parts.length < 5 || parts[0] !== '' || parts[1] !== 'open-banking') return undefined;
    const rows = index
      .get(parts[2] as string)
      ?.get(parts[3] as string)
      ?.get(method === 'HEAD' ? 'GET' : method);
    if (rows === undefined) return undefined;
    for (const row of rows) {
      if (!matches(row.rest, parts)) continue;
      return row.fixed ?? { endpoint: row.endpoint, resourceId: parts[4 + row.resourceIndex] as string };
    }
    return undefined;
  };
}

const LOOKUP = endpointLookup(OFB_ENDPOINTS);

/**
 * The catalogue endpoint a request addresses, or undefined when the method and path are in no row.
 * `path` is the canonical request path without the query (SPEC §4); HEAD is looked up as GET.
 * Where a literal segment and a `{param}` could both match, the literal wins.
 */
export function findEndpoint(method: string, path: string): EndpointMatch | undefined {
  return LOOKUP(method, path);
}

/** `parts` from index 4 against the template's segments. */
function matches(segments: readonly Segment[], parts: readonly string[]): boolean {
  if (segments.length !== parts.length - 4) return false;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as Segment;
    const part = parts[i + 4] as string;
    if (segment.param ? !isParamValue(part) : part !== segment.text) return false;
  }
  return true;
}

/**
 * A `{param}` is one non-empty segment with no encoded slash or backslash (`%2F`, `%5C`, any case):
 * an upstream that decodes them would route to another endpoint than the one checked.
 */
function isParamValue(part: string): boolean {
  if (part.length === 0) return false;
  for (let i = part.indexOf('%'); i !== -1; i = part.indexOf('%', i + 1)) {
    const hi = part.charCodeAt(i + 1);
    const lo = part.charCodeAt(i + 2) | 0x20; // lower case
    if ((hi === 0x32 && lo === 0x66) || (hi === 0x35 && lo === 0x63)) return false; // 2f, 5c
  }
  return true;
}
