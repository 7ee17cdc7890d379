// SPEC §1 row 3 — access token present: Authorization header only (FAPI 1 Part 1 §6.2.1-2/-3, RFC 6750 §2).
import t from 'tap';
import { testPki } from '../helpers/gateway.js';
import { expectRefusal, startTokenGateway, tokenClaims, type Assert, type TokenGateway } from '../helpers/mock-as.js';
import type { ClientResponse } from '../helpers/client.js';

const ROUTES = `  - path: /open-banking/accounts/v2
    upstream: {{upstream}}
    auth: { scopes: [accounts] }
`;

function refusedAsInvalidRequest(tt: Assert, res: ClientResponse, detail: string, env: TokenGateway, what: string): void {
  expectRefusal(tt, res, { status: 401, code: 'UNAUTHORIZED', detail, wwwAuthenticate: 'Bearer error="invalid_request"' }, env, what);
  tt.equal(env.as.calls.length, 0, `${what}: refused before any introspection call`);
}

t.test('SPEC §1 row 3: a request without a usable bearer token is refused before any network call', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES);
  const token = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'openid accounts' }));
  const path = '/open-banking/accounts/v2/accounts';

  refusedAsInvalidRequest(tt, await env.call(path, undefined), 'an access token is required: send it as Authorization: Bearer <token>', env, 'no token');

  refusedAsInvalidRequest(
    tt,
    await env.call(path, undefined, { headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] as unknown as string } }),
    'exactly one Authorization header is allowed',
    env,
    'two Authorization headers',
  );

  refusedAsInvalidRequest(
    tt,
    await env.call(`${path}?access_token=${token}`, undefined),
    'access tokens are accepted only in the Authorization header, never in the query string (access_token)',
    env,
    'RFC 6750 §2.3 / FAPI 1 Part 1 §6.2.1-3: token in the query (conformance DisallowAccessTokenInQuery)',
  );
  refusedAsInvalidRequest(
    tt,
    await env.call(`${path}?page=1&access%5Ftoken=${token}`, token),
    'access tokens are accepted only in the Authorization header, never in the query string (access_token)',
    env,
    'token in the query (percent-encoded name) even beside a valid header',
  );

  refusedAsInvalidRequest(
    tt,
    await env.call(path, undefined, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
      body: `access_token=${token}`,
    }),
    'access tokens are accepted only in the Authorization header; form-encoded request bodies are refused on this route',
    env,
    'RFC 6750 §2.2: token in a form body',
  );

  const malformed: [string, string | undefined, string][] = [
    ['Basic scheme', 'Basic', 'the Authorization header must use the Bearer scheme: Authorization: Bearer <token>'],
    ['Bearer with no token', 'Bearer', ''],
    ['two tokens', 'Bearer', `${token} ${token}`],
    ['token with a quote', 'Bearer', `"${token}"`],
  ];
  for (const [what, scheme, value] of malformed) {
    const res = await env.call(path, undefined, { headers: { authorization: `${scheme} ${value}`.trim() } });
    tt.equal(res.status, 401, `${what} → 401`);
    tt.equal(res.headers['www-authenticate'], 'Bearer error="invalid_request"', what);
  }
  tt.equal(env.upstream.requests.length, 0, 'nothing forwarded');
  tt.equal(env.as.calls.length, 0, 'no introspection call for any of them');

  const res = await env.call(path, token);
  tt.equal(res.status, 200, 'the same token in the Authorization header is accepted');
  tt.notOk(res.body.includes(token));
});

t.test('SPEC §1 row 3: the Bearer scheme is case-insensitive (RFC 9110 §11.1; conformance SetAccessTokenTypeToInvertedCase)', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES);
  const token = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'openid accounts' }));
  for (const scheme of ['bEARER', 'bearer', 'BEARER']) {
    const res = await env.call('/open-banking/accounts/v2/accounts', token, { scheme });
    tt.equal(res.status, 200, `${scheme} accepted`);
  }
  tt.equal(env.upstream.requests.length, 3);
});

t.test('SPEC §1 row 3: routes with auth: none take no token and call no AS', async (tt) => {
  const env = await startTokenGateway(tt, `  - path: /open-banking/products-services/v1
    upstream: {{upstream}}
    mtls: none
    auth: none
`);
  const res = await env.call('/open-banking/products-services/v1/x', undefined, { cert: null });
  tt.equal(res.status, 200);
  tt.equal(env.as.calls.length, 0);
});
