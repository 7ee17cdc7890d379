// The pure rules behind SPEC §10: UTC windows and Retry-After, the endpoint and limit a request
// counts against (OFB minimums, the high class, exemptions, the route fallback), pagination keys.
import t from 'tap';
import { Readable } from 'node:stream';
import { minuteWindow, monthWindow, retryAfterSeconds, secondWindow } from '../../src/limits/windows.js';
import { endpointsOfRoute, perMinuteTargets, perMonthTargets } from '../../src/limits/endpoints.js';
import { paginationKeysIn, requestPaginationKey, tapStream, MAX_SCANNED_BYTES } from '../../src/limits/pagination.js';
import type { Route } from '../../src/config/load.js';
import { findEndpoint } from '../../src/ofb/catalogue.js';

t.test('windows: fixed UTC second, minute and month; Retry-After rounds up to whole seconds', async (tt) => {
  const at = Date.UTC(2026, 1, 28, 23, 59, 30, 250);
  tt.equal(minuteWindow(at).remainingMs, 29_750);
  tt.equal(retryAfterSeconds(minuteWindow(at)), 30);
  tt.equal(retryAfterSeconds(minuteWindow(Date.UTC(2026, 1, 28, 23, 59, 0))), 60, 'at hh:mm:00.000 a whole minute');
  tt.not(minuteWindow(at).id, minuteWindow(at + 29_750).id, 'the next minute is a new window');
  tt.equal(monthWindow(at).id, '2026-02');
  tt.equal(monthWindow(at).remainingMs, 29_750, 'February 2026 ends on the 28th');
  tt.equal(monthWindow(Date.UTC(2026, 11, 31, 23, 59, 59, 999)).remainingMs, 1, 'December rolls into the next year');
  tt.equal(monthWindow(Date.UTC(2027, 0, 1)).id, '2027-01');
  tt.equal(retryAfterSeconds(secondWindow(at)), 1);
});

const route = (path: string, methods?: Route['methods']): Route => ({ path, methods, index: 0 }) as unknown as Route;
/** A target lookup called as the checks call it: with the request's catalogue row. */
const byPath =
  <T>(lookup: (match: ReturnType<typeof findEndpoint>) => T) =>
  (method: string, path: string): T =>
    lookup(findEndpoint(method, path));

t.test('per-minute targets: OFB minimums, the high class, exemptions, the route for unknown paths', async (tt) => {
  const ofb = byPath(perMinuteTargets(route('/open-banking'), 'ofb', 5000));
  tt.same(ofb('GET', '/open-banking/accounts/v2/accounts'), { endpoint: '/open-banking/accounts/v2/accounts', resourceId: '', limit: 1000 });
  tt.same(ofb('GET', '/open-banking/accounts/v2/accounts/a1/balances'), { endpoint: '/open-banking/accounts/v2/accounts/{accountId}/balances', resourceId: 'a1', limit: 5000 }, 'high → highClassPerMinute');
  tt.equal(ofb('GET', '/open-banking/resources/v2/resources'), undefined, 'resources are exempt');
  tt.same(ofb('GET', '/open-banking/products-services/v1/personal-accounts'), { endpoint: '/open-banking/products-services/v1/personal-accounts', resourceId: '', limit: 500 }, 'open data: 500');
  tt.same(ofb('GET', '/open-banking/other/v1/x'), { endpoint: '/open-banking', resourceId: '', limit: 1000 }, 'outside the catalogue: the route, low class');
  const fixed = byPath(perMinuteTargets(route('/open-banking'), 7, 5000));
  tt.equal(fixed('GET', '/open-banking/resources/v2/resources')?.limit, 7, 'a number limits exempt endpoints too');
});

t.test('monthly targets: the most specific resource id; exemptions; unknown paths only with a number', async (tt) => {
  const ofb = byPath(perMonthTargets(route('/open-banking'), 'ofb'));
  tt.same(ofb('GET', '/open-banking/credit-cards-accounts/v2/accounts/c1/bills/b7/transactions'), {
    endpoint: '/open-banking/credit-cards-accounts/v2/accounts/{creditCardAccountId}/bills/{billId}/transactions',
    resourceId: 'b7',
    limit: 30,
  });
  tt.equal(ofb('GET', '/open-banking/resources/v2/resources'), undefined);
  tt.equal(ofb('GET', '/open-banking/other/v1/x'), undefined, 'no OFB minimum outside the catalogue');
  tt.same(byPath(perMonthTargets(route('/open-banking'), 4))('GET', '/open-banking/other/v1/x'), { endpoint: '/open-banking', resourceId: '', limit: 4 });
});

t.test('the catalogue endpoints of a route: whole segments, methods', async (tt) => {
  tt.equal(endpointsOfRoute(route('/open-banking/accounts/v2/accounts/x/balances')).length, 1, 'a {param} matches any one segment');
  tt.equal(endpointsOfRoute(route('/open-banking/accounts/v2/acc')).length, 0, 'whole segments only');
  tt.equal(endpointsOfRoute(route('/open-banking/accounts/v2', ['POST'])).length, 0, 'methods must match');
  tt.ok(endpointsOfRoute(route('/')).length > 10, '/ covers the whole catalogue');
});

t.test('pagination keys: the request query; only links.* URLs of a JSON body', async (tt) => {
  const body = (o: unknown) => Buffer.from(JSON.stringify(o));
  tt.equal(requestPaginationKey('/a?page=2&pagination-key=K%201'), 'K 1');
  tt.equal(requestPaginationKey('/a?pagination-key='), undefined);
  tt.equal(requestPaginationKey('/a'), undefined);
  tt.equal(requestPaginationKey('/a?pagination-key=A&pagination-key=B'), undefined, 'twice: none (upstreams disagree on which wins)');
  tt.same(
    paginationKeysIn(body({ links: { self: 'https://b/x?pagination-key=S', next: 'https://b/x?pagination-key=OWN', last: 'https://b/x?pagination-key=L' } }), 'OWN'),
    ['L'],
    'self and the request’s own key are not handed out',
  );
  tt.same(
    paginationKeysIn(body({ data: [], links: { self: 'https://b/x', next: 'https://b/x?page=2&pagination-key=N', prev: '/x?pagination-key=P' } })),
    ['N', 'P'],
  );
  tt.same(paginationKeysIn(body({ data: { note: 'https://b/x?pagination-key=D' }, links: {} })), [], 'outside links: ignored');
  tt.same(paginationKeysIn(Buffer.from('{"links":{"next":"?pagination-key=X"')), [], 'not JSON: nothing');
  tt.same(paginationKeysIn(Buffer.alloc(MAX_SCANNED_BYTES + 1, 0x20)), [], 'over the bound: not read');
});

t.test('tapStream passes the body through unchanged and hands over at most MAX_SCANNED_BYTES', async (tt) => {
  const read = async (r: Readable) => {
    const chunks: Buffer[] = [];
    for await (const c of r) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  let small: Buffer | undefined | null = null;
  const out = await read(tapStream(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), (b) => (small = b)));
  tt.equal(out.toString(), 'abcd');
  tt.equal(String(small), 'abcd');
  let large: Buffer | undefined | null = null;
  const big = Buffer.alloc(MAX_SCANNED_BYTES + 10, 0x61);
  const passed = await read(tapStream(Readable.from([big.subarray(0, 1000), big.subarray(1000)]), (b) => (large = b)));
  tt.equal(passed.length, big.length, 'the client still gets everything');
  tt.equal(large, undefined, 'too large to scan');
});
