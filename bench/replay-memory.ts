/**
 * `node --expose-gc dist/bench/replay-memory.js N` prints `RESULT {"text": ...}`: the heap the
 * in-memory replay store (src/stores/memory.ts) needs to hold N jtis, keyed the way the JWS check
 * records them. A process of its own, so nothing else lives in the heap being measured.
 */
import { randomUUID } from 'node:crypto';
import { createMemoryStore } from '../src/stores/memory.js';
import { REPLAY_TTL_MS } from '../src/stores/types.js';

async function measure(entries: number): Promise<string> {
  // Bounds above the count, so nothing is evicted while measuring.
  const store = createMemoryStore({ maxEntries: entries + 1, maxBytes: 64 * 1024 ** 3 });
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  gc();
  const before = process.memoryUsage();
  const client = encodeURIComponent('client-app-0001');
  for (let i = 0; i < entries; i++) {
    if (!(await store.setIfAbsent(`jti:${client}:${randomUUID()}`, '1', REPLAY_TTL_MS))) throw new Error('duplicate jti');
  }
  gc();
  const after = process.memoryUsage();
  // Keep the store alive past the measurement (an unreferenced store would be collected by gc()).
  if ((await store.get('probe')) !== undefined) throw new Error('unexpected entry');
  const mib = (n: number) => (n / 1048576).toFixed(0);
  return `${mib(after.heapUsed - before.heapUsed)} MiB of heap (${mib(after.rss - before.rss)} MiB RSS growth) for ${entries.toLocaleString('en')} jtis in createMemoryStore().setIfAbsent()`;
}

measure(Number(process.argv[2] ?? 1_000_000)).then(
  (text) => {
    console.log(`RESULT ${JSON.stringify({ text })}`);
    process.exit(0);
  },
  (err: unknown) => {
    console.log(`RESULT ${JSON.stringify({ text: `could not be measured: ${err instanceof Error ? err.message : String(err)}` })}`);
    process.exit(0);
  },
);
