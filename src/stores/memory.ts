/**
 * `replay.store: memory` — the embedded default for one replica (SPEC §5): an LRU bounded by
 * `maxEntries`, every entry with its own TTL. Node runs one callback at a time, so a check-then-set
 * without an await in between is atomic.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { REPLAY_TTL_MS, type ReplayStore } from './types.js';

export interface MemoryStoreOptions {
  /** Largest number of entries; the least recently used go first when it is reached. */
  readonly maxEntries: number;
  /** Largest total size of keys and values, in bytes (2 per UTF-16 code unit): stored idempotent responses can be large. */
  readonly maxBytes?: number;
}

/** Build an in-memory store. Entries evicted under pressure are forgotten (bounded memory wins). */
export function createMemoryStore(options: MemoryStoreOptions): ReplayStore {
  if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) throw new TypeError('maxEntries must be a positive integer');
  const cache = new LRUCache<string, string>({
    max: options.maxEntries,
    ...(options.maxBytes === undefined ? {} : { maxSize: options.maxBytes, sizeCalculation: (value: string, key: string) => 2 * (value.length + key.length) + 64 }),
    ttl: REPLAY_TTL_MS,
    ttlAutopurge: false,
  });
  return {
    kind: 'memory',
    async setIfAbsent(key, value, ttlMs) {
      const k = compact(key);
      if (cache.has(k)) return false;
      cache.set(k, value, { ttl: ttlMs });
      return true;
    },
    async get(key) {
      return cache.get(compact(key));
    },
    async set(key, value, ttlMs) {
      cache.set(compact(key), value, { ttl: ttlMs });
    },
    async delete(key) {
      cache.delete(compact(key));
    },
    async ping() {},
    async close() {
      cache.clear();
    },
  };
}

/**
 * Keys are stored as their SHA-256 (43 characters): a key built by concatenation is a V8 rope that
 * keeps every part alive — measured 570 bytes per jti entry, against 125 with a fixed-size digest
 * (`npm run bench` reports the figure for 1 M jtis).
 */
function compact(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}
