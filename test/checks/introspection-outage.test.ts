// SPEC §5 fail closed: the authorization server down, answering 500, HTML, JSON without `active`, resetting, or hanging → 503.
import t from 'tap';
import { testPki } from '../helpers/gateway.js';
import { closedPortUrl, expectRefusal, startMockAs, startTokenGateway, tokenClaims } from '../helpers/mock-as.js';
import type { MockAsMode } from '../../src/dev/mock-as.js';

const ROUTES = `  - path: /open-banking/accounts/v2
    upstream: {{upstream}}
    auth: { scopes: [accounts] }
`;
const PATH = '/open-banking/accounts/v2/accounts';
const UNAVAILABLE = {
  status: 503,
  code: 'SERVICE_UNAVAILABLE',
  detail: 'a service the gateway depends on is unavailable; try again later',
  wwwAuthenticate: undefined,
};

t.test('SPEC §5: authorization server unreachable (closed port) → 503, nothing forwarded', async (tt) => {
  const closed = await closedPortUrl();
  const env = await startTokenGateway(tt, ROUTES, {
    introspection: `introspection:\n  endpoint: ${closed}/introspect\n  clientId: guarita\n  clientSecret: s3cret\n  timeoutMs: 1000\n`,
  });
  expectRefusal(tt, await env.call(PATH, 'some-token'), UNAVAILABLE, env, 'AS down');
});

t.test('SPEC §5: bad answers and a hanging AS → 503 within the timeout; failures are not cached', async (tt) => {
  const { pki } = await testPki();
  const as = await startMockAs(tt, { clientSecret: 's3cret' });
  const env = await startTokenGateway(tt, ROUTES, { as, introspectionExtra: '  timeoutMs: 300\n' });
  const token = as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'accounts' }));
  const modes: [MockAsMode, string][] = [
    ['error', 'AS answering 500'],
    ['html', 'AS answering HTML'],
    ['no-active', 'AS answering JSON without a boolean active'],
    ['reset', 'AS dropping the connection'],
    ['hang', 'AS hanging'],
  ];
  for (const [mode, what] of modes) {
    as.mode = mode;
    const started = Date.now();
    const res = await env.call(PATH, token);
    expectRefusal(tt, res, UNAVAILABLE, env, what);
    tt.ok(Date.now() - started < 2000, `${what}: answered within the timeout (${Date.now() - started} ms)`);
  }
  as.mode = 'ok';
  tt.equal((await env.call(PATH, token)).status, 200, 'once the AS answers again the same token passes: no failure was cached');
  tt.equal(as.calls.length, modes.length + 1);
});
