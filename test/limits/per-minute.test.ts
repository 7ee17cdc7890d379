// SPEC §10 per-minute limit: per endpoint and origin (certificate org id; client IP without mTLS),
// fixed UTC minutes, 429 + Retry-After (seconds to the next minute), never forwarded, counted in
// guarita_limit_refusals_total; a path outside the catalogue counts as its route.
import t from 'tap';
import { startUpstream } from '../helpers/upstream.js';
import { FakeClock, startLimitGateway } from './helpers.js';

const ACCOUNTS = `routes:
  - path: /open-banking/accounts/v2
    upstream: {{upstream}}
    mtls: required
    fapi: true
    limits: { perMinute: 3 }
`;

/** 10 s into a UTC minute: Retry-After is 50. */
const MID_MINUTE = Date.UTC(2026, 10, 22, 12, 0, 10);

t.test('a burst over the limit from one org → 429 + Retry-After; another org and another endpoint are unaffected', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startLimitGateway(tt, ACCOUNTS, upstream, new FakeClock(MID_MINUTE));
  const path = '/open-banking/accounts/v2/accounts';
  for (let i = 0; i < 3; i++) tt.equal((await g.call(path)).status, 200, `org 1, request ${i + 1}`);
  const refused = await g.call(path);
  tt.equal(refused.status, 429, 'the 4th request of the minute');
  tt.equal(refused.headers['retry-after'], '50', 'Retry-After: the seconds to the next minute');
  tt.equal(refused.headers['content-type'], 'application/json; charset=utf-8');
  const error = refused.json().errors[0];
  tt.equal(error?.code, 'TOO_MANY_REQUESTS');
  tt.equal(error?.title, 'Limite de requisições por minuto excedido');
  tt.equal(error?.detail, 'more than 3 requests this minute to /open-banking/accounts/v2/accounts from this client; retry after the Retry-After seconds');
  tt.ok(refused.headers['x-fapi-interaction-id'], 'FAPI headers on the refusal');
  tt.equal(upstream.requests.length, 3, 'the refused request did not reach the upstream');

  for (let i = 0; i < 3; i++) tt.equal((await g.call(path, { cert: 'client2' })).status, 200, `org 2, request ${i + 1}: its own counter`);
  tt.equal((await g.call(path, { cert: 'client2' })).status, 429, 'org 2 has its own limit too');
  tt.equal((await g.call('/open-banking/accounts/v2/accounts/acc-1/balances')).status, 200, 'org 1 on another endpoint: its own counter');
  tt.equal(upstream.requests.length, 7);
  tt.equal(await g.metric('guarita_limit_refusals_total', { route: '/open-banking/accounts/v2', limit: 'perMinute' }), 2, 'both refusals counted');
});

t.test('a burst straddling a minute boundary: the new minute starts a new count', async (tt) => {
  const upstream = await startUpstream(tt);
  const clock = new FakeClock(Date.UTC(2026, 10, 22, 12, 0, 59, 400));
  const g = await startLimitGateway(tt, ACCOUNTS, upstream, clock);
  const path = '/open-banking/accounts/v2/accounts/acc-9';
  for (let i = 0; i < 3; i++) tt.equal((await g.call(path)).status, 200);
  const late = await g.call(path);
  tt.equal(late.status, 429, 'over the limit at 12:00:59.4');
  tt.equal(late.headers['retry-after'], '1', 'Retry-After rounds the 0.6 s up');
  clock.at = Date.UTC(2026, 10, 22, 12, 1, 0, 0);
  for (let i = 0; i < 3; i++) tt.equal((await g.call(path)).status, 200, `12:01:00, request ${i + 1}`);
  const again = await g.call(path);
  tt.equal(again.status, 429);
  tt.equal(again.headers['retry-after'], '60', 'a full minute to wait at hh:mm:00.000');
  tt.equal(upstream.requests.length, 6);
});

t.test('a path outside the catalogue counts as its route; catalogue endpoints count apart', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startLimitGateway(tt, ACCOUNTS, upstream, new FakeClock(MID_MINUTE));
  tt.equal((await g.call('/open-banking/accounts/v2/not-an-endpoint')).status, 200);
  tt.equal((await g.call('/open-banking/accounts/v2/another/unknown/path')).status, 200);
  tt.equal((await g.call('/open-banking/accounts/v2/x')).status, 200);
  const refused = await g.call('/open-banking/accounts/v2/y');
  tt.equal(refused.status, 429, 'four different unknown paths share the route counter');
  tt.equal(refused.json().errors[0]?.detail, 'more than 3 requests this minute to /open-banking/accounts/v2 from this client; retry after the Retry-After seconds');
  tt.equal((await g.call('/open-banking/accounts/v2/accounts')).status, 200, 'a catalogue endpoint has its own counter');
  tt.equal(upstream.requests.length, 4);
});

t.test('open data: the origin is the client IP (two loopback source addresses)', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startLimitGateway(
    tt,
    `routes:
  - path: /open-data/products/v1
    upstream: {{upstream}}
    mtls: none
    limits: { perMinute: 2 }
`,
    upstream,
    new FakeClock(MID_MINUTE),
  );
  const path = '/open-data/products/v1/personal-accounts';
  for (let i = 0; i < 2; i++) tt.equal((await g.call(path, { cert: null, localAddress: '127.0.0.1' })).status, 200);
  const refused = await g.call(path, { cert: null, localAddress: '127.0.0.1' });
  tt.equal(refused.status, 429, '127.0.0.1 over its limit');
  tt.equal(refused.headers['retry-after'], '50');
  tt.equal(refused.json().errors[0]?.code, 'TOO_MANY_REQUESTS');
  tt.equal((await g.call(path, { cert: 'client1', localAddress: '127.0.0.1' })).status, 429, 'a certificate does not change the origin on an mtls: none route');
  for (let i = 0; i < 2; i++) tt.equal((await g.call(path, { cert: null, localAddress: '127.0.0.2' })).status, 200, `127.0.0.2 request ${i + 1}: its own counter`);
  tt.equal((await g.call(path, { cert: null, localAddress: '127.0.0.2' })).status, 429);
  tt.equal(upstream.requests.length, 4, 'refused requests never reached the upstream');
});

t.test('the global per-second limit → 529 on any route, before the interaction id is even checked', async (tt) => {
  const upstream = await startUpstream(tt);
  const clock = new FakeClock(Date.UTC(2026, 10, 22, 12, 0, 10, 300));
  const g = await startLimitGateway(
    tt,
    `limits: { globalPerSecond: 3 }
routes:
  - path: /a
    upstream: {{upstream}}
    mtls: required
    fapi: true
  - path: /b
    upstream: {{upstream}}
    mtls: none
`,
    upstream,
    clock,
  );
  tt.equal((await g.call('/a/1')).status, 200);
  tt.equal((await g.call('/b/1', { cert: null })).status, 200);
  tt.equal((await g.call('/a/2')).status, 200);
  const over = await g.call('/b/2', { cert: null });
  tt.equal(over.status, 529, 'the 4th request of the second, on another route');
  tt.equal(over.headers['retry-after'], '1');
  tt.same(over.json().errors[0], { code: 'SITE_IS_OVERLOADED', title: 'Sobrecarga', detail: 'the service is overloaded; retry after the Retry-After seconds' });
  const noInteractionId = await g.call('/a/3', { headers: { 'x-fapi-interaction-id': 'not-a-uuid' } });
  tt.equal(noInteractionId.status, 529, 'the global limit runs before SPEC §1 row 1');
  tt.equal(upstream.requests.length, 3);
  clock.at += 1000;
  tt.equal((await g.call('/a/4')).status, 200, 'the next second starts a new count');
  tt.equal(await g.metric('guarita_limit_refusals_total', { route: '/b', limit: 'globalPerSecond' }), 1);
  tt.equal(await g.metric('guarita_limit_refusals_total', { route: '/a', limit: 'globalPerSecond' }), 1);
});
