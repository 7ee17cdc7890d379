// Property: the SPEC §10 counter operations behave like a plain model — increment returns count+1,
// reserve adds only below the limit, release never goes below zero — for any sequence, on memory
// and on a real Redis; and n concurrent reserves against a limit L let exactly min(n, L) through.
import t from 'tap';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { createMemoryStore } from '../../src/stores/memory.js';
import { createRedisStore } from '../../src/stores/redis.js';
import type { ReplayStore } from '../../src/stores/types.js';
import { skipWithoutRedis, startRedis } from '../helpers/redis.js';

const RUNS = Number(process.env.GUARITA_PROPERTY_RUNS ?? 100);

type Op = { kind: 'increment'; key: number } | { kind: 'reserve'; key: number; limit: number } | { kind: 'release'; key: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('increment' as const), key: fc.nat(2) }),
  fc.record({ kind: fc.constant('reserve' as const), key: fc.nat(2), limit: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ kind: fc.constant('release' as const), key: fc.nat(2) }),
);

async function sequenceMatchesModel(store: ReplayStore, runs: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
      const ns = randomUUID();
      const model = [0, 0, 0];
      for (const o of ops) {
        const key = `${ns}:${o.key}`;
        const count = model[o.key] as number;
        if (o.kind === 'increment') {
          const got = await store.increment(key, 60_000);
          model[o.key] = count + 1;
          if (got !== count + 1) throw new Error(`increment: ${got} != ${count + 1}`);
        } else if (o.kind === 'reserve') {
          const got = await store.reserve(key, o.limit, 60_000);
          if (got !== count < o.limit) throw new Error(`reserve at ${count} with limit ${o.limit}: ${got}`);
          if (got) model[o.key] = count + 1;
        } else {
          await store.release(key);
          model[o.key] = Math.max(0, count - 1);
        }
      }
    }),
    { numRuns: runs },
  );
}

async function concurrentReserves(store: ReplayStore, runs: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 20 }), async (n, limit) => {
      const key = randomUUID();
      const results = await Promise.all(Array.from({ length: n }, () => store.reserve(key, limit, 60_000)));
      const passed = results.filter(Boolean).length;
      if (passed !== Math.min(n, limit)) throw new Error(`${n} concurrent reserves, limit ${limit}: ${passed} passed`);
    }),
    { numRuns: runs },
  );
}

t.test('memory store: any sequence matches the model; concurrent reserves never pass the limit', async (tt) => {
  const store = createMemoryStore({ maxEntries: 100_000 });
  await sequenceMatchesModel(store, RUNS);
  await concurrentReserves(store, RUNS);
  tt.pass(`${RUNS} runs each`);
});

t.test('redis store: the same properties', { skip: skipWithoutRedis(t) }, async (tt) => {
  const redis = await startRedis(tt);
  const store = createRedisStore({ url: redis.url, keyPrefix: 'prop:', timeoutMs: 1000 });
  tt.teardown(() => store.close());
  // A round trip per operation: fewer runs keep the test within seconds.
  const runs = Math.max(1, Math.floor(RUNS / 4));
  await sequenceMatchesModel(store, runs);
  await concurrentReserves(store, runs);
  tt.pass(`${runs} runs each`);
});
