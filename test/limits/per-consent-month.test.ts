// SPEC §10 per-consent monthly limit: per UTC month, endpoint, consent, resource id and client org
// id; only 2xx answers count; a pagination follow-up (a key the gateway saw in a counted answer's
// links) does not; an unknown key does; at the limit → 423 + Retry-After, never forwarded; 50
// concurrent requests against a limit of 8 let exactly 8 through.
import t from 'tap';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { randomUUID } from 'node:crypto';
import { startUpstream } from '../helpers/upstream.js';
import { introspectionBlock, startMockAs, tokenClaims } from '../helpers/mock-as.js';
import { testPki } from '../helpers/gateway.js';
import { FakeClock, startLimitGateway } from './helpers.js';

/** 2026-11-30T23:59:58Z: 2 s before the month ends. */
const MONTH_END = Date.UTC(2026, 10, 30, 23, 59, 58);
const BASE = '/open-banking/accounts/v2/accounts';

/**
 * The bank: `fail=1` → 500; `slow=1` → answers after 100 ms; `/transactions` pages carry
 * `links.next` with the next pagination key (K1, K2 ...); `big=1` makes the page 100 KB (streamed).
 */
function bank(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://bank');
  const answer = () => {
    if (url.searchParams.get('fail') === '1') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"ERRO_INTERNO","title":"x","detail":"x"}]}');
      return;
    }
    const body: Record<string, unknown> = { data: { path: url.pathname } };
    if (url.pathname.endsWith('/transactions')) {
      const current = url.searchParams.get('pagination-key') ?? 'K0';
      const next = `K${Number(current.slice(1)) + 1}`;
      // As OFB answers do, `self` repeats the request URL, its pagination key included.
      body.links = { self: `https://api.bank.example${url.pathname}${url.search}`, next: `https://api.bank.example${url.pathname}?page=2&pagination-key=${next}` };
      if (url.searchParams.get('big') === '1') body.data = { padding: 'x'.repeat(100_000) };
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  if (url.searchParams.get('slow') === '1') setTimeout(answer, 100);
  else answer();
}

const routes = (limit: number) => `routes:
  - path: /open-banking/accounts/v2
    upstream: {{upstream}}
    mtls: required
    auth: { scopes: [accounts], consent: required, permissions: ofb }
    limits: { perConsentMonth: ${limit} }
`;

async function setup(tt: { teardown(fn: () => unknown): void }, limit: number, clock: FakeClock) {
  const as = await startMockAs(tt, { clientSecret: 's3cret' });
  const upstream = await startUpstream(tt, bank);
  const g = await startLimitGateway(tt, `${introspectionBlock(as)}${routes(limit)}`, upstream, clock);
  const { pki } = await testPki();
  const token = (consent: string) =>
    as.issue(
      tokenClaims({
        boundTo: pki.client1.cert,
        scope: `openid accounts consent:${consent}`,
        consent: { status: 'AUTHORISED', permissions: ['ACCOUNTS_READ', 'ACCOUNTS_BALANCES_READ', 'ACCOUNTS_TRANSACTIONS_READ'] },
      }),
    );
  return { g, upstream, token };
}

t.test('the limit hit exactly → 423 + Retry-After to the next month; the new month starts a new count', async (tt) => {
  const clock = new FakeClock(MONTH_END);
  const { g, upstream, token } = await setup(tt, 3, clock);
  const c1 = token('urn:bank:c1');
  const path = `${BASE}/acc-1/balances`;
  for (let i = 0; i < 3; i++) tt.equal((await g.call(path, { token: c1 })).status, 200, `call ${i + 1}`);
  const locked = await g.call(path, { token: c1 });
  tt.equal(locked.status, 423, 'the 4th call of the month');
  tt.equal(locked.headers['retry-after'], '2', 'seconds to the next UTC month');
  tt.same(locked.json().errors[0], {
    code: 'LOCKED',
    title: 'Limite mensal de chamadas excedido',
    detail: 'the monthly limit of 3 calls to /open-banking/accounts/v2/accounts/{accountId}/balances for this consent and resource has been reached (calls still being answered count until they end)',
  });
  tt.equal(upstream.requests.length, 3, 'the refused call never reached the upstream');
  tt.equal((await g.call(`${BASE}/acc-2/balances`, { token: c1 })).status, 200, 'another resource: its own count');
  tt.equal((await g.call(path, { token: token('urn:bank:c2') })).status, 200, 'another consent: its own count');
  tt.equal(await g.metric('guarita_limit_refusals_total', { route: '/open-banking/accounts/v2', limit: 'perConsentMonth' }), 1);
  clock.at = Date.UTC(2026, 11, 1, 0, 0, 0, 1);
  tt.equal((await g.call(path, { token: c1 })).status, 200, 'December: a new count');
});

t.test('non-2xx answers are not counted', async (tt) => {
  const { g, upstream, token } = await setup(tt, 3, new FakeClock(MONTH_END - 86_400_000));
  const c1 = token('urn:bank:c1');
  const path = `${BASE}/acc-1`;
  for (let i = 0; i < 5; i++) tt.equal((await g.call(`${path}?fail=1`, { token: c1 })).status, 500, `failed call ${i + 1}`);
  for (let i = 0; i < 3; i++) tt.equal((await g.call(path, { token: c1 })).status, 200, `successful call ${i + 1}: the failures cost nothing`);
  tt.equal((await g.call(path, { token: c1 })).status, 423);
  tt.equal((await g.call(`${path}?fail=1`, { token: c1 })).status, 423, 'at the limit every call is refused, whatever it would have answered');
  tt.equal(upstream.requests.length, 8);
});

t.test('regression: a bogus pagination key echoed in links.self stayed free after its first use; a repeated pagination-key was free', async (tt) => {
  const { g, upstream, token } = await setup(tt, 3, new FakeClock(MONTH_END - 86_400_000));
  const c1 = token('urn:bank:c1');
  const path = `${BASE}/acc-5/transactions`;
  const seen = await g.call(path, { token: c1 });
  tt.equal(seen.status, 200, 'call 1 (counted) hands out K1');
  for (let i = 2; i <= 3; i++) tt.equal((await g.call(`${path}?pagination-key=ATTACKER`, { token: c1 })).status, 200, `the invented key, call ${i}: counted`);
  tt.equal((await g.call(`${path}?pagination-key=ATTACKER`, { token: c1 })).status, 423, 'the invented key is counted every time, never remembered from self');
  const twice = await g.call(`${path}?pagination-key=K1&pagination-key=EVIL`, { token: c1 });
  tt.equal(twice.status, 423, 'a seen key beside a second value: counted (an upstream may read either), so refused at the limit');
  tt.equal((await g.call(`${path}?pagination-key=K1`, { token: c1 })).status, 200, 'the key the bank handed out is still free');
  tt.equal(upstream.requests.length, 4, 'the refused calls never reached the upstream');
});

t.test('pagination: a follow-up with a key seen in a counted answer is free; a bogus key is counted', async (tt) => {
  const { g, upstream, token } = await setup(tt, 3, new FakeClock(MONTH_END - 86_400_000));
  const c1 = token('urn:bank:c1');
  const path = `${BASE}/acc-3/transactions`;
  const first = await g.call(path, { token: c1 });
  tt.equal(first.status, 200, 'call 1 (counted) hands out K1');
  tt.match(first.json<{ links: { next: string } }>().links.next, /pagination-key=K1$/);
  tt.equal((await g.call(`${path}?page=2&pagination-key=K1`, { token: c1 })).status, 200, 'page 2 with K1: free, hands out K2');
  tt.equal((await g.call(`${path}?page=3&pagination-key=K2`, { token: c1 })).status, 200, 'page 3 with K2: free too');
  tt.equal((await g.call(`${path}?pagination-key=bogus`, { token: c1 })).status, 200, 'a bogus key: counted (call 2)');
  tt.equal((await g.call(path, { token: c1 })).status, 200, 'call 3');
  const locked = await g.call(path, { token: c1 });
  tt.equal(locked.status, 423, 'the limit is reached: 1 + bogus + 1');
  tt.equal(locked.json().errors[0]?.code, 'LOCKED');
  tt.equal((await g.call(`${path}?pagination-key=K1`, { token: c1 })).status, 200, 'a remembered key is not counted, so not refused');
  tt.equal((await g.call(`${path}?pagination-key=K1`, { token: token('urn:bank:c2') })).status, 200, 'another consent: K1 unknown there, counted (its call 1)');
  tt.equal((await g.call(`${BASE}/acc-3/transactions?pagination-key=nope`, { token: c1 })).status, 423, 'an unknown key at the limit is refused');
  tt.equal(upstream.requests.length, 7, 'the two refused calls never reached the upstream');
});

t.test('pagination keys of a large (streamed) page are remembered too', async (tt) => {
  const { g, token } = await setup(tt, 1, new FakeClock(MONTH_END - 86_400_000));
  const c1 = token('urn:bank:c1');
  const path = `${BASE}/acc-4/transactions`;
  const big = await g.call(`${path}?big=1`, { token: c1 });
  tt.equal(big.status, 200);
  tt.ok(big.body.length > 100_000, 'the whole page reached the client');
  // The keys are stored once the stream has ended; give the store a moment.
  await new Promise((r) => setTimeout(r, 50));
  tt.equal((await g.call(`${path}?pagination-key=K1`, { token: c1 })).status, 200, 'K1 from the streamed page: free');
  tt.equal((await g.call(path, { token: c1 })).status, 423, 'the limit of 1 was spent by the first page');
});

t.test('50 concurrent requests against a limit of 8 → exactly 8 through (memory store)', async (tt) => {
  const { g, upstream, token } = await setup(tt, 8, new FakeClock(MONTH_END - 86_400_000));
  const c1 = token('urn:bank:c1');
  const answers = await Promise.all(Array.from({ length: 50 }, () => g.call(`${BASE}/acc-5?slow=1`, { token: c1 })));
  const statuses = answers.map((a) => a.status);
  tt.equal(statuses.filter((s) => s === 200).length, 8, 'exactly 8 answered 200');
  tt.equal(statuses.filter((s) => s === 423).length, 42, 'the other 42 were refused with 423');
  tt.equal(upstream.requests.length, 8, 'the upstream saw exactly 8');
});

t.test('a client that goes away before the answer gives its call back', async (tt) => {
  const { g, upstream, token } = await setup(tt, 1, new FakeClock(MONTH_END - 86_400_000));
  const c1 = token('urn:bank:c1');
  const { pki } = await testPki();
  const path = `${BASE}/acc-6?slow=1`;
  await new Promise<void>((resolve) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: g.port, path, servername: 'localhost', ca: pki.ca.cert, cert: pki.client1.cert, key: pki.client1.key, agent: false,
        headers: { 'x-fapi-interaction-id': randomUUID(), authorization: `Bearer ${c1}` } },
      () => undefined,
    );
    req.on('error', () => resolve());
    req.end();
    // Gone while the upstream is still answering (it takes 100 ms).
    const started = Date.now();
    const poll = setInterval(() => {
      if (upstream.requests.length > 0 || Date.now() - started > 2000) {
        clearInterval(poll);
        req.destroy();
        resolve();
      }
    }, 5);
  });
  // The upstream answers 100 ms later to nobody.
  await new Promise((r) => setTimeout(r, 300));
  tt.equal(upstream.requests.length, 1, 'the request had reached the upstream');
  tt.equal((await g.call(`${BASE}/acc-6`, { token: c1 })).status, 200, 'the limit of 1 is still available');
  tt.equal((await g.call(`${BASE}/acc-6`, { token: c1 })).status, 423, 'and now spent');
});
