// SPEC §10 counter operations of the replay store, on memory and on a real Redis: a fixed-window
// increment that expires with its window, a reserve that never passes the limit (also under 50
// concurrent calls), a release that never goes below zero nor creates a counter.
import t from 'tap';
import { Redis } from 'ioredis';
import { createMemoryStore } from '../../src/stores/memory.js';
import { createRedisStore } from '../../src/stores/redis.js';
import type { ReplayStore } from '../../src/stores/types.js';
import { ServiceUnavailableError } from '../../src/errors.js';
import { skipWithoutRedis, startRedis } from '../helpers/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Asserts {
  equal(found: unknown, wanted: unknown, message: string): unknown;
  same(found: unknown, wanted: unknown, message: string): unknown;
}

async function counterContract(tt: Asserts, store: ReplayStore): Promise<void> {
  tt.same([await store.increment('w', 60_000), await store.increment('w', 60_000), await store.increment('w', 60_000)], [1, 2, 3], 'increment returns the new count');
  const concurrent = await Promise.all(Array.from({ length: 50 }, () => store.increment('burst', 60_000)));
  tt.same([...concurrent].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1), '50 concurrent increments: each count once');
  tt.equal(await store.increment('short', 100), 1, 'a short window');
  tt.equal(await store.increment('short', 100), 2, 'same window');
  await sleep(200);
  tt.equal(await store.increment('short', 100), 1, 'the counter expired with its window');

  const reserved = await Promise.all(Array.from({ length: 50 }, () => store.reserve('month', 8, 60_000)));
  tt.equal(reserved.filter(Boolean).length, 8, '50 concurrent reserves against a limit of 8: exactly 8');
  tt.equal(await store.reserve('month', 8, 60_000), false, 'at the limit');
  await store.release('month');
  tt.equal(await store.reserve('month', 8, 60_000), true, 'a released call can be taken again');
  tt.equal(await store.reserve('month', 8, 60_000), false, 'at the limit again');

  await store.release('never');
  await store.release('never');
  tt.equal(await store.reserve('never', 1, 60_000), true, 'a release of a missing counter does not go below zero');
  tt.equal(await store.reserve('never', 1, 60_000), false, 'limit 1 reached');
  tt.equal(await store.reserve('short-month', 1, 100), true, 'a short-lived reservation');
  await sleep(200);
  tt.equal(await store.reserve('short-month', 1, 100), true, 'reservations expire with their window');
  tt.equal(await store.reserve('zero', 0, 60_000), false, 'a limit of 0 lets nothing through');
}

t.test('memory store counters', async (tt) => {
  await counterContract(tt, createMemoryStore({ maxEntries: 1000 }));
  const small = createMemoryStore({ maxEntries: 3 });
  for (const k of ['a', 'b', 'c']) await small.increment(k, 60_000);
  await small.increment('d', 60_000);
  tt.equal(await small.increment('a', 60_000), 1, 'bounded: past maxEntries the oldest counter is forgotten');
  tt.equal(await small.increment('d', 60_000), 2, 'the newest is kept');
  tt.ok(await small.setIfAbsent('jti', '1', 60_000), 'jtis are held apart from counters');
  for (const k of ['e', 'f', 'g', 'h']) await small.increment(k, 60_000);
  tt.equal(await small.setIfAbsent('jti', '1', 60_000), false, 'a burst of counters never evicts a jti');
});

t.test('redis store counters', { skip: skipWithoutRedis(t) }, async (tt) => {
  const redis = await startRedis(tt);
  const store = createRedisStore({ url: redis.url, keyPrefix: 'ctr:', timeoutMs: 500 });
  tt.teardown(() => store.close());
  await counterContract(tt, store);
  const client = new Redis(redis.url);
  client.on('error', () => undefined);
  tt.teardown(() => client.disconnect());
  tt.equal(await client.get('ctr:w'), '3', 'counters live under the key prefix');
  const ttl = await client.pttl('ctr:w');
  tt.ok(ttl > 50_000 && ttl <= 60_000, `a counter expires at its window end (${ttl} ms)`);
  await store.increment('w', 1_000_000);
  tt.ok((await client.pttl('ctr:w')) <= 60_000, 'a later increment does not extend the window');
  tt.equal(await client.exists('ctr:never'), 1, 'the reserve created it');
  await client.del('ctr:gone');
  await store.release('gone');
  tt.equal(await client.exists('ctr:gone'), 0, 'a release never creates a counter (it would live for ever)');
  await redis.stop();
  await tt.rejects(async () => store.increment('w', 1000), ServiceUnavailableError, 'Redis down → ServiceUnavailableError');
  await tt.rejects(async () => store.reserve('month', 8, 1000), ServiceUnavailableError);
  await tt.rejects(async () => store.release('month'), ServiceUnavailableError);
});
