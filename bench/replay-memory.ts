/**
 * `node --expose-gc dist/bench/replay-memory.js N` prints `RESULT {"text": ...}`: the heap the build's
 * in-memory replay store (src/stores/, issue 4) needs to hold N jtis, or why there is no figure.
 * A process of its own, so nothing else lives in the heap being measured.
 *
 * The store's API is not fixed yet: an exported class named like *Memory* is constructed with
 * `{ maxEntries }` and fed through the first method among CANDIDATE_METHODS; if that does not fit,
 * the note says so and this file is the one to adapt.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const STORES = resolve(import.meta.dirname, '../src/stores');
const CANDIDATE_METHODS = ['claim', 'remember', 'record', 'setIfAbsent', 'putIfAbsent', 'setNx', 'add', 'set'] as const;
const DAY_MS = 86_400_000;

type Store = Record<string, unknown>;

async function measure(entries: number): Promise<string> {
  if (!existsSync(STORES)) return 'not available in this build (no src/stores/ module)';
  const files = readdirSync(STORES).filter((f) => /memory/i.test(f) && f.endsWith('.js'));
  if (files.length === 0) return 'not available in this build (no memory store in src/stores/)';
  for (const file of files) {
    const module = (await import(pathToFileURL(join(STORES, file)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      if (typeof value !== 'function' || !/memory/i.test(name)) continue;
      let store: Store;
      try {
        store = new (value as new (options: unknown) => Store)({ maxEntries: entries + 1 });
      } catch {
        continue;
      }
      const method = CANDIDATE_METHODS.find((m) => typeof store[m] === 'function');
      if (method === undefined) continue;
      const record = (store[method] as (key: string, ttlMs: number) => unknown).bind(store);
      const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
      gc();
      const before = process.memoryUsage();
      for (let i = 0; i < entries; i++) {
        const pending = record(`bench-client:${randomUUID()}`, DAY_MS);
        if (pending instanceof Promise) await pending;
      }
      gc();
      const after = process.memoryUsage();
      const mib = (n: number) => (n / 1048576).toFixed(0);
      return `${mib(after.heapUsed - before.heapUsed)} MiB of heap (${mib(after.rss - before.rss)} MiB RSS growth), ${name}.${method}() from src/stores/${file.replace(/\.js$/, '.ts')}`;
    }
  }
  return `a memory store exists (${files.join(', ')}) but its API was not recognised; adapt bench/replay-memory.ts`;
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
