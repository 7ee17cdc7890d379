// SPEC §5 — the cache under the introspection client and the consent lookup, pure logic (fake clock, no sockets).
import t from 'tap';
import { SingleFlightCache } from '../../src/clients/single-flight-cache.js';

interface Box {
  readonly n: number;
}

t.test('entries live for the TTL the loader result asks for, on the injected clock', async (tt) => {
  let now = 1_000;
  const cache = new SingleFlightCache<Box>({ max: 10, now: () => now });
  let loads = 0;
  const load = async () => ({ n: ++loads });
  const get = (ttl: number) => cache.get('k', load, () => ttl);
  tt.same(await get(500), { n: 1 });
  now += 499;
  tt.same(await get(500), { n: 1 }, 'fresh until expiresAt');
  now += 1;
  tt.same(await get(500), { n: 2 }, 'reloaded at expiresAt');
  tt.same(cache.stats(), { hits: 1, misses: 2, coalesced: 0, size: 1 });
  const other = new SingleFlightCache<Box>({ max: 10, now: () => now });
  await other.get('k', load, () => 0);
  tt.notOk(other.has('k'), 'a TTL of 0 keeps the value out of the cache');
});

t.test('concurrent misses share one load; a failed load rejects all of them and is not cached', async (tt) => {
  const cache = new SingleFlightCache<Box>({ max: 10 });
  let loads = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const load = async () => {
    loads++;
    await gate;
    return { n: loads };
  };
  const all = Promise.all(Array.from({ length: 10 }, () => cache.get('k', load, () => 1000)));
  release();
  const results = await all;
  tt.equal(loads, 1, 'one load for ten callers');
  tt.ok(results.every((r) => r === results[0]), 'every caller got the same value');
  tt.equal(cache.stats().coalesced, 9);

  let fail = true;
  const flaky = async () => {
    if (fail) throw new Error('down');
    return { n: 7 };
  };
  const failures = await Promise.allSettled([cache.get('f', flaky, () => 1000), cache.get('f', flaky, () => 1000)]);
  tt.same(failures.map((f) => f.status), ['rejected', 'rejected'], 'both callers see the failure');
  fail = false;
  tt.same(await cache.get('f', flaky, () => 1000), { n: 7 }, 'the failure was not cached');
  const sync = await Promise.allSettled([cache.get('s', () => { throw new Error('sync throw'); }, () => 1000)]);
  tt.equal(sync[0]?.status, 'rejected', 'a loader that throws synchronously rejects too');
  tt.same(await cache.get('s', async () => ({ n: 1 }), () => 1000), { n: 1 }, 'and leaves nothing in flight');
});

t.test('bounded: the least recently used entry goes first', async (tt) => {
  const cache = new SingleFlightCache<Box>({ max: 2 });
  const load = (n: number) => async () => ({ n });
  await cache.get('a', load(1), () => 1000);
  await cache.get('b', load(2), () => 1000);
  await cache.get('a', load(9), () => 1000);
  await cache.get('c', load(3), () => 1000);
  tt.equal(cache.stats().size, 2);
  tt.ok(cache.has('a'));
  tt.notOk(cache.has('b'), 'b was least recently used');
  tt.throws(() => new SingleFlightCache<Box>({ max: 0 }), TypeError);
});
