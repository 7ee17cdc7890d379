// SPEC §1 row 6 — scope (FAPI 1 Part 1 §6.2.1-5; RFC 6750 §3.1 insufficient_scope).
import t from 'tap';
import { testPki } from '../helpers/gateway.js';
import { expectRefusal, startTokenGateway, tokenClaims } from '../helpers/mock-as.js';

const ROUTES = `  - path: /open-banking/accounts/v2
    upstream: {{upstream}}
    auth: { scopes: [accounts] }
  - path: /open-banking/customers/v2
    upstream: {{upstream}}
    auth: { scopes: [openid, customers] }
`;

t.test('SPEC §1 row 6: a missing scope → 403 FORBIDDEN with Bearer error="insufficient_scope", scope="..."', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES);
  const accountsOnly = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'openid accounts-extra customers' }));
  expectRefusal(
    tt,
    await env.call('/open-banking/accounts/v2/accounts', accountsOnly),
    {
      status: 403,
      code: 'FORBIDDEN',
      detail: 'access token lacks the scope this endpoint requires: accounts',
      wwwAuthenticate: 'Bearer error="insufficient_scope", scope="accounts"',
    },
    env,
    'scope values are exact tokens (accounts-extra is not accounts)',
  );
  const customersWithoutOpenid = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'customers' }));
  expectRefusal(
    tt,
    await env.call('/open-banking/customers/v2/personal/identifications', customersWithoutOpenid),
    { status: 403, code: 'FORBIDDEN', wwwAuthenticate: 'Bearer error="insufficient_scope", scope="openid customers"' },
    env,
    'every required scope must be held',
  );
  tt.equal((await env.call('/open-banking/customers/v2/personal/identifications', accountsOnly)).status, 200, 'all scopes held → forwarded');
});

t.test('SPEC §1 row 6: scope is checked per route on a cache hit (ory/oathkeeper#743)', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES);
  const token = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'accounts' }));
  tt.equal((await env.call('/open-banking/accounts/v2/accounts', token)).status, 200);
  const res = await env.call('/open-banking/customers/v2/personal/identifications', token);
  expectRefusal(tt, res, { status: 403, code: 'FORBIDDEN', wwwAuthenticate: 'Bearer error="insufficient_scope", scope="openid customers"' }, env, 'cached token, other route', 1);
  tt.equal(env.as.calls.length, 1);
});
