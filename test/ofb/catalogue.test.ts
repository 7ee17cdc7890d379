// The OFB endpoint catalogue (src/ofb/catalogue.ts): the permission of each endpoint (SPEC §1 row 8,
// requirements.md §4 and §9), the OFB minimums (SPEC §10, operations.md, RNF "Referência") and the
// templated names the PCM reports use (SPEC §11). Pure logic. Migrated from test/checks/ofb-permissions.test.ts.
import t from 'tap';
import { OFB_ENDPOINTS, endpointLookup, findEndpoint, type OfbEndpoint } from '../../src/ofb/catalogue.js';

const permissionOf = (method: string, path: string) => findEndpoint(method, path)?.endpoint.permission;

t.test('requirements.md §4: endpoint → permission (the cases of the former permission table)', async (tt) => {
  const cases: [string, string | undefined][] = [
    ['/open-banking/accounts/v2/accounts', 'ACCOUNTS_READ'],
    ['/open-banking/accounts/v2/accounts/acc-1', 'ACCOUNTS_READ'],
    ['/open-banking/accounts/v2/accounts/acc-1/balances', 'ACCOUNTS_BALANCES_READ'],
    ['/open-banking/accounts/v2/accounts/acc-1/transactions', 'ACCOUNTS_TRANSACTIONS_READ'],
    ['/open-banking/accounts/v2/accounts/acc-1/transactions-current', 'ACCOUNTS_TRANSACTIONS_READ'],
    ['/open-banking/accounts/v2/accounts/acc-1/overdraft-limits', 'ACCOUNTS_OVERDRAFT_LIMITS_READ'],
    ['/open-banking/credit-cards-accounts/v2/accounts', 'CREDIT_CARDS_ACCOUNTS_READ'],
    ['/open-banking/credit-cards-accounts/v2/accounts/cc-1', 'CREDIT_CARDS_ACCOUNTS_READ'],
    ['/open-banking/credit-cards-accounts/v2/accounts/cc-1/bills', 'CREDIT_CARDS_ACCOUNTS_BILLS_READ'],
    ['/open-banking/credit-cards-accounts/v2/accounts/cc-1/bills/b-7/transactions', 'CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ'],
    ['/open-banking/credit-cards-accounts/v2/accounts/cc-1/limits', 'CREDIT_CARDS_ACCOUNTS_LIMITS_READ'],
    ['/open-banking/credit-cards-accounts/v2/accounts/cc-1/transactions', 'CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ'],
    ['/open-banking/credit-cards-accounts/v2/accounts/cc-1/transactions-current', 'CREDIT_CARDS_ACCOUNTS_TRANSACTIONS_READ'],
    ['/open-banking/customers/v2/personal/identifications', 'CUSTOMERS_PERSONAL_IDENTIFICATIONS_READ'],
    ['/open-banking/customers/v2/personal/qualifications', 'CUSTOMERS_PERSONAL_ADITTIONALINFO_READ'],
    ['/open-banking/customers/v2/personal/financial-relations', 'CUSTOMERS_PERSONAL_ADITTIONALINFO_READ'],
    ['/open-banking/customers/v2/business/identifications', 'CUSTOMERS_BUSINESS_IDENTIFICATIONS_READ'],
    ['/open-banking/customers/v2/business/qualifications', 'CUSTOMERS_BUSINESS_ADITTIONALINFO_READ'],
    ['/open-banking/customers/v2/business/financial-relations', 'CUSTOMERS_BUSINESS_ADITTIONALINFO_READ'],
    ['/open-banking/loans/v2/contracts', 'LOANS_READ'],
    ['/open-banking/loans/v2/contracts/c-1', 'LOANS_READ'],
    ['/open-banking/loans/v2/contracts/c-1/warranties', 'LOANS_WARRANTIES_READ'],
    ['/open-banking/loans/v2/contracts/c-1/scheduled-instalments', 'LOANS_SCHEDULED_INSTALMENTS_READ'],
    ['/open-banking/loans/v2/contracts/c-1/payments', 'LOANS_PAYMENTS_READ'],
    ['/open-banking/financings/v2/contracts/c-1/payments', 'FINANCINGS_PAYMENTS_READ'],
    ['/open-banking/unarranged-accounts-overdraft/v2/contracts/c-1/warranties', 'UNARRANGED_ACCOUNTS_OVERDRAFT_WARRANTIES_READ'],
    ['/open-banking/invoice-financings/v2/contracts', 'INVOICE_FINANCINGS_READ'],
    ['/open-banking/resources/v3/resources', 'RESOURCES_READ'],
    // The former table matched any `v{n}`; OpenBanking-Brasil/openapi has no accounts v3 (stable
    // majors: 1.0.3 and 2.4.2), so a v3 path is no longer an OFB endpoint: fail closed.
    ['/open-banking/accounts/v3/accounts/acc-1/balances', undefined],
    // Fail closed: not in the catalogue.
    ['/open-banking/accounts/v2/accounts/acc-1/unknown', undefined],
    ['/open-banking/accounts/v2/accounts/', undefined],
    ['/open-banking/accounts/v2/accounts//balances', undefined],
    ['/open-banking/accounts/v2/accounts/acc%2F1/balances', undefined],
    ['/open-banking/accounts/v2/accounts/acc%5c1', undefined],
    ['/open-banking/accounts/2/accounts', undefined],
    ['/open-banking/accounts/v2x/accounts', undefined],
    ['/open-banking/credit-cards-accounts/v2/accounts/cc-1/bills/transactions', undefined],
    ['/open-banking/payments/v4/pix/payments', undefined],
    ['/open-banking/customers/v2/personal', undefined],
    ['/prefix/open-banking/accounts/v2/accounts', undefined],
    ['', undefined],
  ];
  for (const [path, permission] of cases) tt.equal(permissionOf('GET', path), permission, `GET ${path || '(empty)'}`);
  tt.equal(permissionOf('HEAD', '/open-banking/accounts/v2/accounts'), 'ACCOUNTS_READ', 'HEAD is GET without a body');
  tt.equal(findEndpoint('POST', '/open-banking/accounts/v2/accounts'), undefined, 'data APIs are read-only: other methods are not in the catalogue');
  tt.equal(findEndpoint('DELETE', '/open-banking/accounts/v2/accounts/acc-1'), undefined);
});

t.test('requirements.md §9: investments, exchanges, credit portability; transactions-current from v2 on', async (tt) => {
  const cases: [string, string, string | undefined][] = [
    ['GET', '/open-banking/bank-fixed-incomes/v1/investments', 'BANK_FIXED_INCOMES_READ'],
    ['GET', '/open-banking/bank-fixed-incomes/v1/investments/i-1/transactions-current', 'BANK_FIXED_INCOMES_READ'],
    ['GET', '/open-banking/credit-fixed-incomes/v1/investments/i-1/balances', 'CREDIT_FIXED_INCOMES_READ'],
    ['GET', '/open-banking/funds/v1/investments/i-1', 'FUNDS_READ'],
    ['GET', '/open-banking/treasure-titles/v1/investments/i-1/transactions', 'TREASURE_TITLES_READ'],
    ['GET', '/open-banking/variable-incomes/v1/investments', 'VARIABLE_INCOMES_READ'],
    ['GET', '/open-banking/variable-incomes/v1/broker-notes/bn-1', 'VARIABLE_INCOMES_READ'],
    ['GET', '/open-banking/funds/v1/broker-notes/bn-1', undefined],
    ['GET', '/open-banking/exchanges/v1/operations', 'EXCHANGES_READ'],
    ['GET', '/open-banking/exchanges/v1/operations/op-1', 'EXCHANGES_READ'],
    ['GET', '/open-banking/exchanges/v1/operations/op-1/events', 'EXCHANGES_READ'],
    ['GET', '/open-banking/credit-portability/v1/credit-operations/ct-1/portability-eligibility', 'LOANS_READ'],
    ['POST', '/open-banking/credit-portability/v1/portabilities', 'LOANS_READ'],
    ['GET', '/open-banking/credit-portability/v1/portabilities/p-1', undefined],
    ['GET', '/open-banking/accounts/v1/accounts/acc-1/balances', 'ACCOUNTS_BALANCES_READ'],
    ['GET', '/open-banking/credit-cards-accounts/v1/accounts/cc-1/limits', 'CREDIT_CARDS_ACCOUNTS_LIMITS_READ'],
    ['GET', '/open-banking/loans/v1/contracts/c-1/payments', 'LOANS_PAYMENTS_READ'],
    ['GET', '/open-banking/resources/v2/resources', 'RESOURCES_READ'],
  ];
  for (const [method, path, permission] of cases) tt.equal(permissionOf(method, path), permission, `${method} ${path}`);
  tt.equal(findEndpoint('GET', '/open-banking/accounts/v1/accounts/acc-1/transactions-current'), undefined, 'accounts v1 has no transactions-current');
  tt.equal(findEndpoint('GET', '/open-banking/credit-cards-accounts/v1/accounts/cc-1/transactions-current'), undefined, 'credit cards v1 has no transactions-current');
  tt.equal(findEndpoint('GET', '/open-banking/accounts/v2/accounts/acc-1/reserved-balances'), undefined, 'reserved-balances is only in a beta OpenAPI version');
});

t.test('service and open-data APIs: their real methods, no permission, exempt from both limits (open data: 500 TPM)', async (tt) => {
  const services: [string, string, string][] = [
    ['POST', '/open-banking/consents/v3/consents', '/open-banking/consents/v3/consents'],
    ['GET', '/open-banking/consents/v3/consents/urn:bank:c1', '/open-banking/consents/v3/consents/{consentId}'],
    ['DELETE', '/open-banking/consents/v3/consents/urn:bank:c1', '/open-banking/consents/v3/consents/{consentId}'],
    ['POST', '/open-banking/consents/v3/consents/urn:bank:c1/extends', '/open-banking/consents/v3/consents/{consentId}/extends'],
    ['GET', '/open-banking/consents/v3/consents/urn:bank:c1/extensions', '/open-banking/consents/v3/consents/{consentId}/extensions'],
    ['POST', '/open-banking/payments/v4/consents', '/open-banking/payments/v4/consents'],
    ['GET', '/open-banking/payments/v4/consents/urn:bank:c1', '/open-banking/payments/v4/consents/{consentId}'],
    ['POST', '/open-banking/payments/v4/pix/payments', '/open-banking/payments/v4/pix/payments'],
    ['GET', '/open-banking/payments/v4/pix/payments/p-1', '/open-banking/payments/v4/pix/payments/{paymentId}'],
    ['PATCH', '/open-banking/payments/v4/pix/payments/p-1', '/open-banking/payments/v4/pix/payments/{paymentId}'],
    ['PATCH', '/open-banking/payments/v4/pix/payments/consents/urn:bank:c1', '/open-banking/payments/v4/pix/payments/consents/{consentId}'],
    ['POST', '/open-banking/automatic-payments/v2/recurring-consents', '/open-banking/automatic-payments/v2/recurring-consents'],
    ['PATCH', '/open-banking/automatic-payments/v2/recurring-consents/rc-1', '/open-banking/automatic-payments/v2/recurring-consents/{recurringConsentId}'],
    ['GET', '/open-banking/automatic-payments/v2/pix/recurring-payments', '/open-banking/automatic-payments/v2/pix/recurring-payments'],
    ['POST', '/open-banking/enrollments/v2/enrollments/e-1/fido-sign-options', '/open-banking/enrollments/v2/enrollments/{enrollmentId}/fido-sign-options'],
    ['POST', '/open-banking/enrollments/v2/consents/urn:bank:c1/authorise', '/open-banking/enrollments/v2/consents/{consentId}/authorise'],
    ['PATCH', '/open-banking/credit-portability/v1/portabilities/p-1/cancel', '/open-banking/credit-portability/v1/portabilities/{portabilityId}/cancel'],
    ['POST', '/open-banking/webhook/v1/payments/v4/pix/payments/p-1', '/open-banking/webhook/v1/payments/{versionApi}/pix/payments/{paymentId}'],
  ];
  for (const [method, path, template] of services) {
    const found = findEndpoint(method, path)?.endpoint;
    tt.equal(found?.template, template, `${method} ${path}`);
    tt.same([found?.permission, found?.perMinute, found?.perConsentMonth, found?.openData], [undefined, 'exempt', 'exempt', false], `${method} ${template}: service`);
  }
  tt.equal(findEndpoint('PATCH', '/open-banking/payments/v1/pix/payments/p-1'), undefined, 'payments v1 has no PATCH');
  tt.equal(findEndpoint('PATCH', '/open-banking/payments/v3/pix/payments/consents/c-1'), undefined, 'PATCH of a consent’s payments is v4 only');
  tt.equal(findEndpoint('PUT', '/open-banking/payments/v4/pix/payments/p-1'), undefined);

  for (const path of ['/open-banking/products-services/v1/personal-accounts', '/open-banking/channels/v2/branches', '/open-banking/opendata-investments/v1/funds', '/open-banking/opendata-exchange/v1/online-rates']) {
    const found = findEndpoint('GET', path)?.endpoint;
    tt.same([found?.template, found?.permission, found?.perMinute, found?.perConsentMonth, found?.openData], [path, undefined, 500, 'exempt', true], path);
  }
  const metrics = findEndpoint('GET', '/open-banking/admin/v2/metrics')?.endpoint;
  tt.same([metrics?.openData, metrics?.perMinute], [true, 'exempt'], 'admin: public, Referência TPM NA');
});

t.test('the literal segment wins over a {param}, and resourceId is the last param', async (tt) => {
  const consent = findEndpoint('PATCH', '/open-banking/payments/v4/pix/payments/consents/c-9');
  tt.same([consent?.endpoint.template, consent?.resourceId], ['/open-banking/payments/v4/pix/payments/consents/{consentId}', 'c-9']);
  const payment = findEndpoint('PATCH', '/open-banking/payments/v4/pix/payments/consents');
  tt.same([payment?.endpoint.template, payment?.resourceId], ['/open-banking/payments/v4/pix/payments/{paymentId}', 'consents'], 'a payment whose id is "consents"');
  const bill = findEndpoint('GET', '/open-banking/credit-cards-accounts/v2/accounts/cc-1/bills/b-7/transactions');
  tt.equal(bill?.resourceId, 'b-7', 'the most specific id');
  tt.equal(findEndpoint('GET', '/open-banking/accounts/v2/accounts')?.resourceId, '', 'no param');

  // Same shape, both could match: the literal is chosen whatever the order of the rows.
  const row = (template: string): OfbEndpoint => ({ api: 'x', version: 1, method: 'GET', template, permission: template, perMinute: 'exempt', perConsentMonth: 'exempt', openData: false });
  const rows = [row('/open-banking/x/v1/a/{id}/c'), row('/open-banking/x/v1/a/b/{id}'), row('/open-banking/x/v1/{id}/b/c'), row('/open-banking/x/v1/a/b/c')];
  for (const order of [rows, [...rows].reverse()]) {
    const lookup = endpointLookup(order);
    tt.equal(lookup('GET', '/open-banking/x/v1/a/b/c')?.endpoint.template, '/open-banking/x/v1/a/b/c');
    tt.equal(lookup('GET', '/open-banking/x/v1/a/b/z')?.endpoint.template, '/open-banking/x/v1/a/b/{id}');
    tt.equal(lookup('GET', '/open-banking/x/v1/a/z/c')?.endpoint.template, '/open-banking/x/v1/a/{id}/c');
    tt.equal(lookup('GET', '/open-banking/x/v1/z/b/c')?.endpoint.template, '/open-banking/x/v1/{id}/b/c');
  }
  tt.throws(() => endpointLookup([row('/open-banking/x/v1/a'), row('/open-banking/x/v1/a')]), TypeError, 'a row twice');
  tt.throws(() => endpointLookup([row('/open-banking/y/v1/a')]), TypeError, 'api not in the template');
  tt.throws(() => endpointLookup([row('/open-banking/x/v1/a/')]), TypeError, 'trailing slash');
});

t.test('the minimums of operations.md and the Referência table', async (tt) => {
  const minimum = (path: string) => {
    const e = findEndpoint('GET', path)?.endpoint;
    return [e?.perMinute, e?.perConsentMonth];
  };
  const cases: [string, [number | string, number | string]][] = [
    ['/open-banking/accounts/v2/accounts', [1000, 8]],
    ['/open-banking/accounts/v2/accounts/a/balances', ['high', 420]],
    ['/open-banking/accounts/v2/accounts/a/transactions-current', ['high', 240]],
    ['/open-banking/credit-cards-accounts/v2/accounts/c', [2000, 120]],
    ['/open-banking/credit-cards-accounts/v2/accounts/c/bills/b/transactions', [1500, 30]],
    ['/open-banking/customers/v1/business/qualifications', [1000, 8]],
    ['/open-banking/loans/v2/contracts', [1500, 30]],
    ['/open-banking/loans/v2/contracts/c', [1500, 30]],
    ['/open-banking/loans/v2/contracts/c/warranties', [1000, 8]],
    ['/open-banking/loans/v2/contracts/c/scheduled-instalments', [1500, 30]],
    ['/open-banking/loans/v2/contracts/c/payments', [2000, 120]],
    ['/open-banking/financings/v2/contracts/c', [1000, 8]],
    ['/open-banking/invoice-financings/v2/contracts/c/payments', [1500, 30]],
    ['/open-banking/unarranged-accounts-overdraft/v1/contracts', [1500, 30]],
    ['/open-banking/bank-fixed-incomes/v1/investments', [1500, 30]],
    ['/open-banking/funds/v1/investments/i', [1000, 8]],
    ['/open-banking/treasure-titles/v1/investments/i/balances', [2000, 120]],
    ['/open-banking/credit-fixed-incomes/v1/investments/i/transactions-current', [2000, 120]],
    ['/open-banking/variable-incomes/v1/investments/i/balances', [1500, 30]],
    ['/open-banking/variable-incomes/v1/investments/i/transactions-current', [1500, 30]],
    ['/open-banking/variable-incomes/v1/broker-notes/n', [1500, 30]],
    ['/open-banking/exchanges/v1/operations', [1500, 30]],
    ['/open-banking/exchanges/v1/operations/o', [1000, 8]],
    ['/open-banking/exchanges/v1/operations/o/events', [1500, 30]],
    ['/open-banking/resources/v3/resources', ['exempt', 'exempt']],
    ['/open-banking/credit-portability/v1/credit-operations/c/portability-eligibility', ['exempt', 'exempt']],
  ];
  for (const [path, expected] of cases) tt.same(minimum(path), expected, path);
});

t.test('the catalogue is well formed', async (tt) => {
  const keys = OFB_ENDPOINTS.map((e) => `${e.method} ${e.template}`);
  tt.equal(new Set(keys).size, keys.length, 'no method and template twice');
  const CLASSES = new Set<unknown>(['high', 'exempt', 500, 1000, 1500, 2000]);
  for (const e of OFB_ENDPOINTS) {
    tt.ok(e.template.startsWith(`/open-banking/${e.api}/v${e.version}/`), `${e.template}: api and version in the base path`);
    if (e.permission !== undefined) tt.match(e.permission, /^[A-Z_]+_READ$/, e.permission);
    tt.ok(CLASSES.has(e.perMinute), `${e.template}: per-minute minimum is a Referência value`);
    tt.ok(e.perConsentMonth === 'exempt' || (Number.isInteger(e.perConsentMonth) && e.perConsentMonth > 0), `${e.template}: monthly minimum`);
    if (e.openData) tt.same([e.permission, e.perConsentMonth], [undefined, 'exempt'], `${e.template}: open data has no consent`);
    if (e.permission === undefined) tt.equal(e.perConsentMonth, 'exempt', `${e.template}: no consent, no monthly limit`);
    if (e.method !== 'GET') tt.equal(e.perMinute, 'exempt', `${e.template}: only GET data endpoints are per-minute limited`);
    tt.equal(findEndpoint(e.method, e.template.replace(/\{[A-Za-z]+\}/g, 'id-1'))?.endpoint, e, `${e.method} ${e.template} finds itself`);
    tt.ok(Object.isFrozen(e), 'frozen');
  }
  tt.ok(Object.isFrozen(OFB_ENDPOINTS), 'frozen');
});
