// SPEC §1 row 4 — token active (RFC 7662 active:true, exp in the future); SPEC §4 identity headers; SPEC §5 cache via the gateway.
import t from 'tap';
import { testPki } from '../helpers/gateway.js';
import { expectRefusal, startMockAs, startTokenGateway, thumbprintOfPem, tokenClaims } from '../helpers/mock-as.js';

const ROUTES = `  - path: /open-banking/accounts/v2
    upstream: {{upstream}}
    auth: { scopes: [accounts] }
`;
const PATH = '/open-banking/accounts/v2/accounts';
const INVALID_TOKEN = 'Bearer error="invalid_token"';

t.test('SPEC §1 row 4: inactive, expired and exp-less tokens → 401 invalid_token, nothing forwarded', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES);
  const cases: [string, string, string][] = [
    ['unknown (inactive) token', 'not-a-token-the-as-knows', 'access token is not active (expired, revoked or unknown to the authorization server)'],
    ['revoked token (active: false)', env.as.issue({ active: false, scope: 'accounts' }), 'access token is not active (expired, revoked or unknown to the authorization server)'],
    ['"active" answer whose exp is past', env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'accounts', expiresIn: -5 })), 'access token has expired'],
    ['"active" answer without exp', env.as.issue({ ...tokenClaims({ boundTo: pki.client1.cert, scope: 'accounts' }), exp: undefined }), 'the authorization server gave no expiry (exp) for the access token'],
  ];
  for (const [what, token, detail] of cases) {
    const res = await env.call(PATH, token);
    expectRefusal(tt, res, { status: 401, code: 'UNAUTHORIZED', detail, wwwAuthenticate: INVALID_TOKEN }, env, what);
    tt.notOk(res.body.includes(token), `${what}: the token is not echoed`);
  }
  tt.equal(env.as.calls.length, 4, 'one introspection per token');
  tt.equal(env.as.calls[0]?.params.token_type_hint, 'access_token', 'RFC 7662 §2.1 token_type_hint');
});

t.test('SPEC §4: an accepted token gives the upstream x-client-id, x-consent-id and x-token-scope; spoofed ones are replaced', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES);
  const scope = 'openid consent:urn:bancoex:C1DD33123 accounts';
  const token = env.as.issue(tokenClaims({ clientId: 'tpp-client-1', boundTo: pki.client1.cert, scope }));
  const res = await env.call(`${PATH}?page=1`, token, {
    headers: { 'x-client-id': 'spoofed', 'x-consent-id': 'urn:spoofed', 'x-token-scope': 'payments' },
  });
  tt.equal(res.status, 200);
  const seen = env.upstream.requests[0]!;
  tt.equal(seen.headers['x-client-id'], 'tpp-client-1');
  tt.equal(seen.headers['x-consent-id'], 'urn:bancoex:C1DD33123');
  tt.equal(seen.headers['x-token-scope'], scope);
  tt.equal(seen.headers.authorization, `Bearer ${token}`, 'the Authorization header itself reaches the upstream unchanged');
  tt.equal(seen.url, `${PATH}?page=1`);
});

t.test('SPEC §5 via the gateway: a warm cache hit makes no introspection call; concurrent misses share one', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES);
  const token = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'accounts' }));
  tt.equal((await env.call(PATH, token)).status, 200);
  tt.equal(env.as.calls.length, 1, 'cold: one call');
  for (let i = 0; i < 3; i++) tt.equal((await env.call(PATH, token)).status, 200);
  tt.equal(env.as.calls.length, 1, 'warm: still one call after three more requests');

  const fresh = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'accounts' }));
  const results = await Promise.all(Array.from({ length: 8 }, () => env.call(PATH, fresh)));
  tt.same(results.map((r) => r.status), Array(8).fill(200), 'eight parallel requests with a new token all pass');
  tt.equal(env.as.calls.filter((c) => c.params.token === fresh).length, 1, 'and shared one introspection call');

  const inactive = 'unknown-token';
  for (let i = 0; i < 3; i++) tt.equal((await env.call(PATH, inactive)).status, 401);
  tt.equal(env.as.calls.filter((c) => c.params.token === inactive).length, 1, 'inactive answers are cached too (negative TTL)');
  tt.equal(env.upstream.requests.length, 12);
});

t.test('SPEC §1 row 4, §5: a token whose exp passes is refused — its answer is cached no longer than exp', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES, { introspectionExtra: '  cacheTtlSeconds: 60\n' });
  // exp 600 ms ahead (RFC 7519 NumericDate may be fractional): cached for at most that long, refused once it passes.
  const token = env.as.issue({ ...tokenClaims({ boundTo: pki.client1.cert, scope: 'accounts' }), exp: (Date.now() + 600) / 1000 });
  tt.equal((await env.call(PATH, token)).status, 200);
  await new Promise((r) => setTimeout(r, 700));
  const res = await env.call(PATH, token);
  expectRefusal(tt, res, { status: 401, code: 'UNAUTHORIZED', detail: 'access token has expired', wwwAuthenticate: INVALID_TOKEN }, env, 'expired since cached', 1);
  tt.equal(env.as.calls.length, 2, 'the cache entry ended at exp (cacheTtlSeconds 60 notwithstanding): asked again');
});

t.test('routes.yaml tls_client_auth: the gateway introspects over mTLS with its own certificate (RFC 8705 §2)', async (tt) => {
  const { pki } = await testPki();
  const as = await startMockAs(tt, { tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert } });
  const env = await startTokenGateway(tt, ROUTES, {
    as,
    introspection: `introspection:
  endpoint: ${as.introspectionEndpoint}
  clientId: guarita
  clientCert: {{pki}}/client2.crt
  clientKey: {{pki}}/client2.key
  ca: {{pki}}/ca.crt
`,
  });
  const token = as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'accounts' }));
  tt.equal((await env.call(PATH, token)).status, 200);
  tt.equal(as.calls[0]?.clientCertThumbprint, thumbprintOfPem(pki.client2.cert), 'the AS saw the configured client certificate');
  tt.equal(as.calls[0]?.params.client_id, 'guarita');
});
