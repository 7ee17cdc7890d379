// SPEC §1 row 8 — permission: the consent holds what the endpoint needs (built-in OFB table or the route's list).
import t from 'tap';
import { testPki } from '../helpers/gateway.js';
import { expectRefusal, startTokenGateway, tokenClaims } from '../helpers/mock-as.js';

const ROUTES = `  - path: /open-banking/accounts/v2
    upstream: {{upstream}}
    auth: { scopes: [accounts], consent: required, permissions: ofb }
  - path: /open-banking/credit-cards-accounts/v2
    upstream: {{upstream}}
    auth: { scopes: [credit-cards-accounts], consent: required, permissions: ofb }
  - path: /open-banking/payments/v4
    upstream: {{upstream}}
    auth: { scopes: [payments], consent: required, permissions: [PAYMENTS_INITIATE] }
  - path: /bank/statements
    upstream: {{upstream}}
    auth: { scopes: [accounts], consent: required, permissions: [ACCOUNTS_READ, ACCOUNTS_TRANSACTIONS_READ] }
`;

t.test('SPEC §1 row 8: permissions: ofb, matched against the request path', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES);
  const token = (scope: string, permissions: string[]) =>
    env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: `openid consent:urn:bank:1 ${scope}`, consent: { status: 'AUTHORISED', permissions } }));
  const accountsRead = token('accounts', ['ACCOUNTS_READ', 'RESOURCES_READ']);
  let forwarded = 0;
  const allowed = async (path: string, tok: string, what: string) => {
    const res = await env.call(path, tok);
    tt.equal(res.status, 200, what);
    forwarded++;
  };
  const refused = async (path: string, tok: string, detail: string, what: string) =>
    expectRefusal(tt, await env.call(path, tok), { status: 403, code: 'FORBIDDEN', detail, wwwAuthenticate: undefined }, env, what, forwarded);

  await allowed('/open-banking/accounts/v2/accounts', accountsRead, 'ACCOUNTS_READ: the account list');
  await allowed('/open-banking/accounts/v2/accounts/acc-42?x=1', accountsRead, 'ACCOUNTS_READ: one account ({id} is one segment)');
  await refused(
    '/open-banking/accounts/v2/accounts/acc-42/balances',
    accountsRead,
    'the consent does not grant the permission this endpoint requires: ACCOUNTS_BALANCES_READ',
    'balances need ACCOUNTS_BALANCES_READ',
  );
  await refused(
    '/open-banking/accounts/v2/accounts/acc-42/not-an-endpoint',
    accountsRead,
    'this endpoint is not in the OFB permission table, so no consent can grant it',
    'fail closed: a path under the route that is not in the table',
  );

  const balances = token('accounts', ['ACCOUNTS_BALANCES_READ']);
  await allowed('/open-banking/accounts/v2/accounts/acc-42/balances', balances, 'ACCOUNTS_BALANCES_READ: balances');
  await refused('/open-banking/accounts/v2/accounts', balances, 'the consent does not grant the permission this endpoint requires: ACCOUNTS_READ', 'balances only: no list');

  const bills = token('credit-cards-accounts', ['CREDIT_CARDS_ACCOUNTS_BILLS_TRANSACTIONS_READ']);
  await allowed('/open-banking/credit-cards-accounts/v2/accounts/cc-1/bills/bill-9/transactions', bills, 'credit cards bills/{billId}/transactions');
  await refused(
    '/open-banking/credit-cards-accounts/v2/accounts/cc-1/bills',
    bills,
    'the consent does not grant the permission this endpoint requires: CREDIT_CARDS_ACCOUNTS_BILLS_READ',
    'bill transactions do not grant the bill list',
  );

  const noPermissions = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'consent:urn:bank:1 accounts', consent: { status: 'AUTHORISED' } }));
  await refused('/open-banking/accounts/v2/accounts', noPermissions, 'the consent of this access token grants no permissions', 'consent without permissions');
});

t.test('SPEC §1 row 8: an explicit permission list; payments tokens (consent skipped) have no permissions', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES);
  const both = env.as.issue(
    tokenClaims({ boundTo: pki.client1.cert, scope: 'consent:urn:bank:1 accounts', consent: { status: 'AUTHORISED', permissions: ['ACCOUNTS_READ', 'ACCOUNTS_TRANSACTIONS_READ'] } }),
  );
  tt.equal((await env.call('/bank/statements/anything/here', both)).status, 200, 'every listed permission held');
  const one = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'consent:urn:bank:1 accounts', consent: { status: 'AUTHORISED', permissions: ['ACCOUNTS_READ'] } }));
  expectRefusal(
    tt,
    await env.call('/bank/statements/x', one),
    { status: 403, code: 'FORBIDDEN', detail: 'the consent does not grant the permission this endpoint requires: ACCOUNTS_TRANSACTIONS_READ' },
    env,
    'one listed permission missing',
    1,
  );
  const payments = env.as.issue(
    tokenClaims({ boundTo: pki.client1.cert, scope: 'consent:urn:bank:1 payments', consent: { status: 'CONSUMED', permissions: ['PAYMENTS_INITIATE'] } }),
  );
  expectRefusal(
    tt,
    await env.call('/open-banking/payments/v4/pix/payments', payments),
    { status: 403, code: 'FORBIDDEN', detail: 'the consent of this access token grants no permissions' },
    env,
    'fail closed: the consent check was skipped, so no permissions are known',
    1,
  );
});
