// SPEC §1 row 7, §4 — the consent id comes from the token's scope and is recorded by the consent
// check alone: on every token route (with or without `consent: required`), never by token-active.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OfbContext } from '../../src/context.js';
import type { TokenInfo } from '../../src/clients/introspection.js';
import { testPki } from '../helpers/gateway.js';
import { startTokenGateway, tokenClaims } from '../helpers/mock-as.js';
import { consentIdsOf, isPaymentToken } from '../../src/checks/consent-scope.js';
import { tokenActiveCheck } from '../../src/checks/token-active.js';
import { consentCheck } from '../../src/checks/consent.js';
import type { CheckDeps } from '../../src/checks/types.js';
import type { Route } from '../../src/config/load.js';

t.test('consentIdsOf: distinct ids of consent:<id> and recurring-consent:<id>, in scope order', async (tt) => {
  tt.same(consentIdsOf(['openid', 'consent:a', 'recurring-consent:b', 'consent:a', 'consent:']), ['a', 'b']);
  tt.same(consentIdsOf(['openid', 'accounts']), []);
  const scopes = ['consent:x'];
  tt.equal(consentIdsOf(scopes), consentIdsOf(scopes), 'derived once per scope list (a cached introspection answer)');
  tt.ok(isPaymentToken(['openid', 'payments']));
  tt.ok(isPaymentToken(['recurring-payments']));
  tt.notOk(isPaymentToken(['payments-x', 'accounts']));
});

t.test('token-active establishes the token only; the consent check records the consent id, also with consent: none', async (tt) => {
  const info: TokenInfo = {
    active: true,
    exp: Math.floor(Date.now() / 1000) + 60,
    scope: 'openid consent:urn:bank:1 accounts',
    scopes: ['openid', 'consent:urn:bank:1', 'accounts'],
    clientId: 'client-1',
    thumbprint: undefined,
    claims: {},
  };
  const route = { index: 0, auth: { scopes: [], consent: 'none' } } as unknown as Route;
  const deps = { introspection: { introspect: async () => info }, config: {} } as unknown as CheckDeps;
  const ofb = new OfbContext(randomUUID(), true);
  ofb.accessToken = 'token';
  const request = { ofb } as FastifyRequest;
  const reply = {} as FastifyReply;
  await tokenActiveCheck.create(route, deps)?.(request, reply);
  tt.equal(ofb.token, info, 'token-active records the introspection answer');
  tt.equal(ofb.consentId, undefined, 'token-active does not derive the consent id');
  await consentCheck.create(route, deps)?.(request, reply);
  tt.equal(ofb.consentId, 'urn:bank:1', 'the consent check records it, even without consent: required');
  tt.equal(consentCheck.create({ ...route, auth: undefined }, deps), undefined, 'auth: none → no consent check');
});

t.test('SPEC §4: x-consent-id upstream on a route without consent: required; none when the scope names two', async (tt) => {
  const { pki } = await testPki();
  const env = await startTokenGateway(tt, `  - path: /open-banking/accounts/v2
    upstream: {{upstream}}
    auth: { scopes: [accounts] }
`);
  const path = '/open-banking/accounts/v2/accounts';
  const one = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'openid consent:urn:bank:1 accounts' }));
  tt.equal((await env.call(path, one)).status, 200);
  tt.equal(env.upstream.requests[0]?.headers['x-consent-id'], 'urn:bank:1');
  const two = env.as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'openid consent:urn:bank:1 consent:urn:bank:2 accounts' }));
  tt.equal((await env.call(path, two)).status, 200, 'without consent: required, two consents are not refused');
  tt.equal(env.upstream.requests[1]?.headers['x-consent-id'], undefined, 'an ambiguous consent id is not forwarded');
});
