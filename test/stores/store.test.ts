// SPEC §5: the replay/idempotency store — one contract, memory and redis implementations.
import t from 'tap';
import { Redis } from 'ioredis';
import { createMemoryStore } from '../../src/stores/memory.js';
import { createRedisStore } from '../../src/stores/redis.js';
import { createReplayStore } from '../../src/stores/index.js';
import type { ReplayStore } from '../../src/stores/types.js';
import { ServiceUnavailableError } from '../../src/errors.js';
import { skipWithoutRedis, startRedis } from '../helpers/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Asserts {
  equal(found: unknown, wanted: unknown, message: string): unknown;
  ok(value: unknown, message: string): unknown;
  notOk(value: unknown, message: string): unknown;
}

/** The ReplayStore contract, for either implementation. */
async function contract(tt: Asserts, store: ReplayStore): Promise<void> {
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.setIfAbsent('jti:a:1', `v${i}`, 60_000)));
  tt.equal(results.filter(Boolean).length, 1, 'of 50 concurrent setIfAbsent with one key exactly one wins');
  tt.equal(await store.get('jti:a:1'), `v${results.indexOf(true)}`, 'the winner’s value');
  tt.notOk(await store.setIfAbsent('jti:a:1', 'again', 60_000), 'taken');
  await store.set('jti:a:1', 'replaced', 60_000);
  tt.equal(await store.get('jti:a:1'), 'replaced', 'set replaces');
  await store.delete('jti:a:1');
  tt.equal(await store.get('jti:a:1'), undefined, 'deleted');
  tt.ok(await store.setIfAbsent('jti:a:1', 'after delete', 60_000), 'free after delete');
  tt.ok(await store.setIfAbsent('short', 'x', 100), 'short-lived entry');
  await sleep(200);
  tt.equal(await store.get('short'), undefined, 'entries expire after their TTL');
  tt.ok(await store.setIfAbsent('short', 'y', 100), 'an expired key can be taken again');
  await store.ping();
}

t.test('memory store', async (tt) => {
  const store = createMemoryStore({ maxEntries: 1000 });
  await contract(tt, store);
  const small = createMemoryStore({ maxEntries: 3 });
  for (const k of ['a', 'b', 'c', 'd']) await small.set(k, k, 60_000);
  tt.equal(await small.get('a'), undefined, 'bounded: the least recently used entry is evicted');
  tt.equal(await small.get('d'), 'd');
  await small.get('b'); // read: now the most recently used
  await small.set('e', 'e', 60_000);
  tt.equal(await small.get('b'), 'b', 'a read entry is kept (least recently used, not first inserted)');
  tt.equal(await small.get('c'), undefined, 'the entry neither read nor written since is the one evicted');
  // 2 000 characters ≈ 4 128 bytes: two fit in 10 000, a third evicts the least recently used.
  const accounted = createMemoryStore({ maxEntries: 1000, maxBytes: 10_000 });
  for (let i = 0; i < 10; i++) await accounted.set('same', 'x'.repeat(2_000), 60_000);
  await accounted.set('expiring', 'x'.repeat(2_000), 50);
  await sleep(100);
  tt.equal(await accounted.get('expiring'), undefined, 'expired');
  await accounted.set('other', 'x'.repeat(2_000), 60_000);
  tt.equal(await accounted.get('same'), 'x'.repeat(2_000), 'replaced and expired entries give their bytes back');
  await accounted.set('huge', 'x'.repeat(10_000), 60_000);
  tt.equal(await accounted.get('huge'), undefined, 'an entry larger than maxBytes is not stored');
  tt.equal(await accounted.get('same'), 'x'.repeat(2_000), '... and evicts nothing to make room for itself');
  tt.throws(() => createMemoryStore({ maxEntries: 0 }), TypeError);
  tt.equal(createReplayStore({ store: 'memory', maxEntries: 10, maxBytes: 1 << 20, keyPrefix: 'g:', timeoutMs: 100 }).kind, 'memory');
  const sized = createMemoryStore({ maxEntries: 1000, maxBytes: 10_000 });
  for (let i = 0; i < 5; i++) await sized.set(`big-${i}`, 'x'.repeat(2_000), 60_000);
  tt.equal(await sized.get('big-0'), undefined, 'bounded in bytes too: large stored responses cannot exhaust memory');
  tt.equal(await sized.get('big-4'), 'x'.repeat(2_000));
});

t.test('redis store', { skip: skipWithoutRedis(t) }, async (tt) => {
  const redis = await startRedis(tt);
  const errors: Error[] = [];
  const store = createRedisStore({ url: redis.url, keyPrefix: 'test:', timeoutMs: 300, onError: (e) => errors.push(e) });
  tt.teardown(() => store.close());
  await contract(tt, store);

  const raw = new Redis(redis.url);
  raw.on('error', () => undefined);
  tt.teardown(() => raw.disconnect());
  await store.setIfAbsent('jti:org:x', '1', 86_400_000);
  tt.equal(await raw.get('test:jti:org:x'), '1', 'keys carry keyPrefix');
  const ttl = await raw.pttl('test:jti:org:x');
  tt.ok(ttl > 86_390_000 && ttl <= 86_400_000, 'PX 86400000');

  await redis.stop();
  const started = Date.now();
  await tt.rejects(store.setIfAbsent('jti:org:y', '1', 1000), ServiceUnavailableError, 'Redis down → ServiceUnavailableError');
  await tt.rejects(store.get('jti:org:y'), ServiceUnavailableError);
  tt.ok(Date.now() - started < 2000, 'bounded by timeoutMs');
  await redis.start();
  let recovered = false;
  for (let i = 0; i < 100 && !recovered; i++) {
    recovered = await store.setIfAbsent('jti:org:z', '1', 1000).then(
      (ok) => ok,
      () => false,
    );
    if (!recovered) await sleep(50);
  }
  tt.ok(recovered, 'reconnects once Redis is back');
  tt.ok(errors.length > 0, 'connection errors reported for the logs');
});
