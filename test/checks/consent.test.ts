// SPEC §1 row 7 — consent: id from the scope, status AUTHORISED, owned by the token's client; payments tokens skip it.
import t from 'tap';
import { testPki } from '../helpers/gateway.js';
import { expectRefusal, startMockAs, startTokenGateway, tokenClaims } from '../helpers/mock-as.js';

const ROUTES = `  - path: /open-banking/accounts/v2
    upstream: {{upstream}}
    auth: { scopes: [accounts], consent: required }
  - path: /open-banking/payments/v4
    upstream: {{upstream}}
    auth: { scopes: [payments], consent: required }
  - path: /open-banking/automatic-payments/v2
    upstream: {{upstream}}
    auth: { scopes: [recurring-payments], consent: required }
`;
const ACCOUNTS = '/open-banking/accounts/v2/accounts';
const INVALID_TOKEN = 'Bearer error="invalid_token"';
const CONSENT = 'urn:bancoex:C1DD33123';

t.test('SPEC §1 row 7 (introspection claims): consent status and owner', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES);
  const token = (scope: string, consent?: { status?: string; clientId?: string }, clientId = 'client-1') =>
    env.as.issue(tokenClaims({ clientId, boundTo: pki.client1.cert, scope, ...(consent ? { consent } : {}) }));

  const ok = await env.call(ACCOUNTS, token(`openid consent:${CONSENT} accounts`, { status: 'AUTHORISED', clientId: 'client-1' }));
  tt.equal(ok.status, 200, 'AUTHORISED consent of the same client');
  tt.equal(env.upstream.requests[0]?.headers['x-consent-id'], CONSENT);

  const refusals: [string, string, string][] = [
    ['REJECTED consent', token(`openid consent:${CONSENT} accounts`, { status: 'REJECTED' }), `consent ${CONSENT} is not AUTHORISED (status: REJECTED)`],
    [
      'AWAITING_AUTHORISATION consent',
      token(`openid consent:${CONSENT} accounts`, { status: 'AWAITING_AUTHORISATION' }),
      `consent ${CONSENT} is not AUTHORISED (status: AWAITING_AUTHORISATION)`,
    ],
    ['missing consent claim', token(`openid consent:${CONSENT} accounts`), 'the authorization server gave no consent status for the access token'],
    ['no consent:<id> in the scope', token('openid accounts', { status: 'AUTHORISED' }), 'access token scope names no consent (consent:<id>)'],
    ['two consents in the scope', token(`openid consent:a consent:b accounts`, { status: 'AUTHORISED' }), 'access token scope names more than one consent'],
    ['a status that is not a string', env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: `consent:${CONSENT} accounts`, extra: { consent: { status: ['AUTHORISED'] } } })), 'the authorization server gave no consent status for the access token'],
  ];
  for (const [what, tok, detail] of refusals) {
    expectRefusal(tt, await env.call(ACCOUNTS, tok), { status: 401, code: 'UNAUTHORIZED', detail, wwwAuthenticate: INVALID_TOKEN }, env, what, 1);
  }

  const foreign = token(`openid consent:${CONSENT} accounts`, { status: 'AUTHORISED', clientId: 'client-2' });
  expectRefusal(
    tt,
    await env.call(ACCOUNTS, foreign),
    { status: 403, code: 'FORBIDDEN', detail: `consent ${CONSENT} belongs to another client`, wwwAuthenticate: undefined },
    env,
    "another client's consent",
    1,
  );
  const foreignRejected = token(`openid consent:${CONSENT} accounts`, { status: 'REJECTED', clientId: 'client-2' });
  tt.equal((await env.call(ACCOUNTS, foreignRejected)).status, 403, "ownership is checked before status: nothing is learnt about another client's consent");
});

t.test('SPEC §1 row 7: payments and recurring-payments tokens skip the consent check (CONSUMED by design)', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, ROUTES);
  const payments = env.as.issue(
    tokenClaims({ boundTo: pki.client1.cert, scope: `openid consent:${CONSENT} payments`, consent: { status: 'CONSUMED', clientId: 'client-1' } }),
  );
  const res = await env.call('/open-banking/payments/v4/pix/payments/p-1', payments);
  tt.equal(res.status, 200, 'payments token, CONSUMED consent, payments route → allowed');
  tt.equal(env.upstream.requests[0]?.headers['x-consent-id'], CONSENT, 'the consent id is still forwarded');
  const recurring = env.as.issue(
    tokenClaims({ boundTo: pki.client1.cert, scope: 'openid recurring-consent:urn:bancoex:R1 recurring-payments', consent: { status: 'CONSUMED' } }),
  );
  tt.equal((await env.call('/open-banking/automatic-payments/v2/pix/recurring-payments/r-1', recurring)).status, 200, 'recurring-payments likewise');
  tt.equal(env.upstream.requests[1]?.headers['x-consent-id'], 'urn:bancoex:R1');
  const clientCredentials = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'payments' }));
  tt.equal((await env.call('/open-banking/payments/v4/consents/c-1', clientCredentials)).status, 200, 'client_credentials payments token without any consent');
});

t.test('SPEC §1 row 7: the consent is checked on a cache hit too (ory/oathkeeper#743)', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, `${ROUTES}  - path: /no-consent
    upstream: {{upstream}}
    auth: { scopes: [accounts] }
`);
  const token = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: `consent:${CONSENT} accounts`, consent: { status: 'REJECTED' } }));
  tt.equal((await env.call('/no-consent/x', token)).status, 200, 'a route without the consent check accepts it (and caches the answer)');
  expectRefusal(tt, await env.call(ACCOUNTS, token), { status: 401, code: 'UNAUTHORIZED', wwwAuthenticate: INVALID_TOKEN }, env, 'cached token, REJECTED consent', 1);
  tt.equal(env.as.calls.length, 1, 'the refusal came from a cache hit');
});

t.test('SPEC §1 row 7 (consentLookup): status and owner from the bank consent service, cached briefly, fail closed', async (tt) => {
  const { pki } = await testPki();
  const service = await startMockAs(tt);
  const env = await startTokenGateway(tt, ROUTES, {
    introspectionExtra: `  consentLookup: { url: "${service.consentUrl}", cacheTtlSeconds: 1, timeoutMs: 300 }\n`,
  });
  const tokenFor = (consentId: string, clientId = 'client-1') =>
    env.as.issue(tokenClaims({ clientId, boundTo: pki.client1.cert, scope: `openid consent:${consentId} accounts`, consent: { status: 'REJECTED' } }));
  service.consents.set('urn:bank:ok', { status: 'AUTHORISED', clientId: 'client-1', permissions: ['ACCOUNTS_READ'] });
  service.consents.set('urn:bank:rejected', { status: 'REJECTED', clientId: 'client-1' });
  service.consents.set('urn:bank:theirs', { status: 'AUTHORISED', clientId: 'client-2' });
  service.consents.set('urn:bank:down', { status: 'AUTHORISED', clientId: 'client-1' });

  const okToken = tokenFor('urn:bank:ok');
  tt.equal((await env.call(ACCOUNTS, okToken)).status, 200, 'AUTHORISED in the consent service (the introspection claim is ignored)');
  tt.equal((await env.call(ACCOUNTS, okToken)).status, 200);
  tt.same(service.consentCalls, ['urn:bank:ok'], 'consent answers are cached: one lookup for two requests');
  tt.equal(env.upstream.requests[0]?.headers['x-consent-id'], 'urn:bank:ok');

  expectRefusal(
    tt,
    await env.call(ACCOUNTS, tokenFor('urn:bank:rejected')),
    { status: 401, code: 'UNAUTHORIZED', detail: 'consent urn:bank:rejected is not AUTHORISED (status: REJECTED)', wwwAuthenticate: INVALID_TOKEN },
    env,
    'REJECTED in the consent service',
    2,
  );
  expectRefusal(
    tt,
    await env.call(ACCOUNTS, tokenFor('urn:bank:missing')),
    { status: 401, code: 'UNAUTHORIZED', detail: 'consent urn:bank:missing was not found', wwwAuthenticate: INVALID_TOKEN },
    env,
    'consent unknown to the service (404)',
    2,
  );
  expectRefusal(tt, await env.call(ACCOUNTS, tokenFor('urn:bank:theirs')), { status: 403, code: 'FORBIDDEN', wwwAuthenticate: undefined }, env, "another client's consent", 2);

  for (const mode of ['error', 'html', 'hang'] as const) {
    service.mode = mode;
    expectRefusal(
      tt,
      await env.call(ACCOUNTS, tokenFor('urn:bank:down')),
      { status: 503, code: 'SERVICE_UNAVAILABLE', wwwAuthenticate: undefined },
      env,
      `consent service ${mode}`,
      2,
    );
  }
  service.mode = 'ok';
  tt.equal((await env.call(ACCOUNTS, tokenFor('urn:bank:down'))).status, 200, 'failures were not cached');
});
