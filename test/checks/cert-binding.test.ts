// SPEC §1 row 5 — certificate binding (RFC 8705 §3; FAPI 1 Advanced §8.2: no unbound tokens).
import t from 'tap';
import { testPki } from '../helpers/gateway.js';
import { expectRefusal, startTokenGateway, tokenClaims } from '../helpers/mock-as.js';

const ROUTES = `  - path: /open-banking/accounts/v2
    upstream: {{upstream}}
    auth: { scopes: [accounts] }
  - path: /unbound-ok
    upstream: {{upstream}}
    certBinding: false
    auth: { scopes: [accounts] }
`;
const PATH = '/open-banking/accounts/v2/accounts';
const INVALID_TOKEN = 'Bearer error="invalid_token"';

t.test('SPEC §1 row 5: client 2\'s token over client 1\'s certificate → 401 (conformance switchToClient1AndTryClient2AccessToken)', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES);
  const client2Token = env.as.issue(tokenClaims({ clientId: 'client-2', boundTo: pki.client2.cert, scope: 'accounts' }));
  const res = await env.call(PATH, client2Token, { cert: pki.client1 });
  expectRefusal(
    tt,
    res,
    { status: 401, code: 'UNAUTHORIZED', detail: 'access token is bound to a different client certificate', wwwAuthenticate: INVALID_TOKEN },
    env,
    'token bound to another certificate',
  );
  tt.equal((await env.call(PATH, client2Token, { cert: pki.client2 })).status, 200, 'over its own certificate it passes');
});

t.test('SPEC §1 row 5: a token without cnf (a bearer token) → 401', async (tt) => {
  const env = await startTokenGateway(tt, ROUTES);
  const unbound = env.as.issue(tokenClaims({ boundTo: null, scope: 'accounts' }));
  expectRefusal(
    tt,
    await env.call(PATH, unbound),
    {
      status: 401,
      code: 'UNAUTHORIZED',
      detail: 'access token is not bound to a client certificate (cnf x5t#S256 is required, RFC 8705)',
      wwwAuthenticate: INVALID_TOKEN,
    },
    env,
    'unbound token',
  );
  const emptyCnf = env.as.issue({ ...tokenClaims({ boundTo: null, scope: 'accounts' }), cnf: { 'x5t#S256': '' } });
  expectRefusal(tt, await env.call(PATH, emptyCnf), { status: 401, code: 'UNAUTHORIZED', wwwAuthenticate: INVALID_TOKEN }, env, 'empty x5t#S256');
  tt.equal((await env.call('/unbound-ok/x', unbound)).status, 200, 'certBinding: false accepts it');
});

t.test('ory/oathkeeper#743 regression: binding is checked on a cache hit too', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES);
  const token = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'accounts' }));
  tt.equal((await env.call(PATH, token, { cert: pki.client1 })).status, 200, 'first use, over the bound certificate');
  const res = await env.call(PATH, token, { cert: pki.client2 });
  expectRefusal(
    tt,
    res,
    { status: 401, code: 'UNAUTHORIZED', detail: 'access token is bound to a different client certificate', wwwAuthenticate: INVALID_TOKEN },
    env,
    'same token (now cached) over another certificate',
    1,
  );
  tt.equal(env.as.calls.length, 1, 'the second request was a cache hit, and still refused');
});
