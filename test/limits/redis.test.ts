// SPEC §10 counters in Redis (shared by every replica): 50 concurrent requests spread over two
// gateways sharing one real Redis against a monthly limit of 8 → exactly 8 through; the per-minute
// count is shared too; Redis down → `onStoreError: allow` lets requests through uncounted (logged
// once, counted in a metric), `refuse` answers 503 and forwards nothing.
import t from 'tap';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { startUpstream } from '../helpers/upstream.js';
import { introspectionBlock, startMockAs, tokenClaims } from '../helpers/mock-as.js';
import { skipWithoutRedis, startRedis } from '../helpers/redis.js';
import { testPki } from '../helpers/gateway.js';
import { FakeClock, startLimitGateway } from './helpers.js';

const skip = skipWithoutRedis(t);
const NOW = Date.UTC(2026, 10, 22, 12, 0, 10);
const replay = (url: string) => `replay: { store: redis, url: ${url}, keyPrefix: 'lim-test:', timeoutMs: 300 }\n`;

t.test('two replicas sharing one Redis: 50 concurrent requests against a monthly limit of 8 → exactly 8 through', { skip }, async (tt) => {
  const redis = await startRedis(tt);
  const as = await startMockAs(tt, { clientSecret: 's3cret' });
  const upstream = await startUpstream(tt, (_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":{}}');
    }, 100);
  });
  const sections = `${replay(redis.url)}${introspectionBlock(as)}routes:
  - path: /open-banking/accounts/v2
    upstream: {{upstream}}
    mtls: required
    auth: { scopes: [accounts], consent: required, permissions: ofb }
    limits: { perConsentMonth: 8, perMinute: 1000 }
`;
  const clock = new FakeClock(NOW);
  const [a, b] = [await startLimitGateway(tt, sections, upstream, clock), await startLimitGateway(tt, sections, upstream, clock)];
  const { pki } = await testPki();
  const token = as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'openid accounts consent:urn:bank:r1', consent: { status: 'AUTHORISED', permissions: ['ACCOUNTS_READ'] } }));
  const path = '/open-banking/accounts/v2/accounts/acc-1';
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).call(path, { token })));
  const statuses = answers.map((r) => r.status);
  tt.equal(statuses.filter((s) => s === 200).length, 8, 'exactly 8 answered 200 over both replicas');
  tt.equal(statuses.filter((s) => s === 423).length, 42, '42 refused with 423');
  tt.equal(upstream.requests.length, 8, 'the upstream saw exactly 8');

  const client = new Redis(redis.url);
  client.on('error', () => undefined);
  tt.teardown(() => client.disconnect());
  const keys = (await client.keys('*')).sort();
  tt.ok(keys.some((k) => k.startsWith('lim-test:lim:c:2026-11:')), `the monthly counter is under the key prefix (${keys.join(' ')})`);
  tt.ok(keys.some((k) => k.startsWith('lim-test:lim:m:')), 'the per-minute counter too');
  const monthly = keys.find((k) => k.startsWith('lim-test:lim:c:')) ?? '';
  tt.equal(await client.get(monthly), '8', 'the counter holds the 8 counted calls');
  const ttl = await client.pttl(monthly);
  tt.ok(ttl > 0 && ttl <= Date.UTC(2026, 11, 1) - NOW, `it expires at the end of the month (${ttl} ms)`);
  const minute = keys.find((k) => k.startsWith('lim-test:lim:m:')) ?? '';
  tt.equal(await client.get(minute), '50', 'both replicas counted into one per-minute counter');
  tt.ok((await client.pttl(minute)) <= 50_000, 'the per-minute counter lives to the end of its minute');
});

for (const policy of ['allow', 'refuse'] as const) {
  t.test(`Redis down with onStoreError: ${policy}`, { skip }, async (tt) => {
    const redis = await startRedis(tt);
    const upstream = await startUpstream(tt);
    const clock = new FakeClock(NOW);
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (chunk: string) => void lines.push(JSON.parse(chunk) as Record<string, unknown>) });
    const g = await startLimitGateway(
      tt,
      `${replay(redis.url)}limits: { onStoreError: ${policy} }
routes:
  - path: /open-banking/accounts/v2
    upstream: {{upstream}}
    mtls: required
    limits: { perMinute: 2 }
`,
      upstream,
      clock,
      logger,
    );
    const path = '/open-banking/accounts/v2/accounts';
    tt.equal((await g.call(path)).status, 200, 'Redis up: counted');
    await redis.stop();
    const down = [await g.call(path), await g.call(path), await g.call(path)];
    if (policy === 'allow') {
      tt.same(down.map((r) => r.status), [200, 200, 200], 'allow: the requests go on, uncounted (the limit of 2 is not applied)');
      tt.equal(upstream.requests.length, 4, 'all forwarded');
    } else {
      tt.same(down.map((r) => r.status), [503, 503, 503], 'refuse: 503');
      tt.same(down[0]?.json().errors[0], { code: 'SERVICE_UNAVAILABLE', title: 'Serviço indisponível', detail: 'a service the gateway depends on is unavailable; try again later' });
      tt.equal(down[0]?.headers['retry-after'], undefined);
      tt.equal(upstream.requests.length, 1, 'nothing forwarded while the counters are unavailable');
    }
    tt.equal(await g.metric('guarita_limit_store_errors_total', { limit: 'perMinute', policy }), 3, 'each failed count is in the metric');
    await redis.start();
    let status = 0;
    for (let i = 0; i < 60 && status !== 200; i++) {
      status = (await g.call(path)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    tt.equal(status, 200, 'served once Redis is back');
    // Commands that timed out during the outage may still run once ioredis reconnects: a new minute
    // starts from a clean counter.
    clock.at += 60_000;
    tt.equal((await g.call(path)).status, 200);
    tt.equal((await g.call(path)).status, 200);
    tt.equal((await g.call(path)).status, 429, 'counted and limited again');
    const said = (text: string) => lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(text)).length;
    tt.equal(said('limit counters unavailable'), 1, 'the outage is logged once, not once per request');
    tt.equal(said('limit counters available again'), 1, 'and its end once');
  });
}
