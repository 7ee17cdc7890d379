// SPEC §1 row 8 — the built-in OFB permission → endpoint table (requirements.md §4), pure logic.
import t from 'tap';
import { OFB_PERMISSIONS, ofbPermissionFor } from '../../src/checks/ofb-permissions.js';

t.test('requirements.md §4: endpoint → permission', async (tt) => {
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
    ['/open-banking/accounts/v3/accounts/acc-1/balances', 'ACCOUNTS_BALANCES_READ'],
    // Fail closed: not in the table.
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
  for (const [path, permission] of cases) tt.equal(ofbPermissionFor('GET', path), permission, `GET ${path || '(empty)'}`);
  tt.equal(ofbPermissionFor('HEAD', '/open-banking/accounts/v2/accounts'), 'ACCOUNTS_READ', 'HEAD is GET without a body');
  tt.equal(ofbPermissionFor('POST', '/open-banking/accounts/v2/accounts'), undefined, 'data APIs are read-only: other methods are not in the table');
  tt.equal(ofbPermissionFor('DELETE', '/open-banking/accounts/v2/accounts/acc-1'), undefined);
});

t.test('the table is well formed', async (tt) => {
  const patterns = OFB_PERMISSIONS.map((r) => r.pattern);
  tt.equal(new Set(patterns).size, patterns.length, 'no pattern twice');
  for (const rule of OFB_PERMISSIONS) {
    tt.match(rule.pattern, /^\/open-banking\/[a-z-]+\/v\{n\}(\/[a-z-]+|\/\{[A-Za-z]+\})+$/, rule.pattern);
    tt.match(rule.permission, /^[A-Z_]+_READ$/, rule.permission);
  }
});
