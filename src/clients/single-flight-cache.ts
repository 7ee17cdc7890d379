/**
 * A bounded cache with a per-entry lifetime where concurrent misses for one key share one load
 * (single flight) — the shape SPEC §5 asks of the introspection cache and the consent lookup.
 * Keys are opaque strings chosen by the caller (the introspection client uses a SHA-256 of the
 * token, so the raw token is never a key). Failed loads are never cached.
 */
import { LRUCache } from 'lru-cache';

export interface SingleFlightCacheOptions {
  /** Most entries kept; the least recently used goes first. */
  readonly max: number;
  /** Clock in milliseconds (tests inject one). */
  readonly now?: () => number;
}

/** Counters for metrics (SPEC §7: introspection cache hit ratio). */
export interface CacheStats {
  /** Answered from a fresh cache entry. */
  readonly hits: number;
  /** Needed a load (one per miss that was not shared). */
  readonly misses: number;
  /** Misses that joined a load already in flight for the same key. */
  readonly coalesced: number;
  /** Entries held now (fresh or not yet evicted). */
  readonly size: number;
}

interface Entry<V> {
  readonly value: V;
  /** Clock value (ms) from which the entry is no longer served. */
  readonly expiresAt: number;
}

export class SingleFlightCache<V extends object> {
  readonly #entries: LRUCache<string, Entry<V>>;
  readonly #inflight = new Map<string, Promise<V>>();
  readonly #now: () => number;
  #hits = 0;
  #misses = 0;
  #coalesced = 0;

  constructor(options: SingleFlightCacheOptions) {
    if (!Number.isInteger(options.max) || options.max < 1) throw new TypeError('SingleFlightCache: max must be a positive integer');
    this.#entries = new LRUCache({ max: options.max });
    this.#now = options.now ?? Date.now;
  }

  /**
   * The cached value for `key`, else the result of `load()` — one load per key at a time, whatever
   * the number of callers. `ttlMs(value, now)` says how long a loaded value may be served; ≤ 0
   * keeps it out of the cache. A rejected load rejects every caller waiting on it and is not cached.
   */
  get(key: string, load: () => Promise<V>, ttlMs: (value: V, now: number) => number): Promise<V> {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      if (entry.expiresAt > this.#now()) {
        this.#hits++;
        return Promise.resolve(entry.value);
      }
      this.#entries.delete(key);
    }
    const pending = this.#inflight.get(key);
    if (pending !== undefined) {
      this.#coalesced++;
      return pending;
    }
    this.#misses++;
    // load() runs on a later microtask, so the in-flight entry exists before it can settle.
    const loading = Promise.resolve()
      .then(load)
      .then((value) => {
        const now = this.#now();
        const ttl = ttlMs(value, now);
        if (ttl > 0) this.#entries.set(key, { value, expiresAt: now + ttl });
        return value;
      })
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, loading);
    return loading;
  }

  /** Whether a fresh entry exists for `key` (does not count as a hit). */
  has(key: string): boolean {
    const entry = this.#entries.peek(key);
    return entry !== undefined && entry.expiresAt > this.#now();
  }

  stats(): CacheStats {
    return { hits: this.#hits, misses: this.#misses, coalesced: this.#coalesced, size: this.#entries.size };
  }

  /** Every key held (tests: proof that no raw token is a key). */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  clear(): void {
    this.#entries.clear();
  }
}
