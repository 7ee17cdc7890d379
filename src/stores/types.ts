/**
 * The replay (jti) and idempotency store (SPEC §5): one interface, two implementations —
 * `memory` for one replica, `redis` once there is more than one. Every failure to reach the
 * store surfaces as a ServiceUnavailableError (fail closed → 503).
 */

/** OFB FAPI "Message Content Signing" item 9: a jti is unique per client for 86 400 s. */
export const REPLAY_TTL_MS = 86_400_000;

/**
 * A result now or later. The memory store's counters answer at once, so a limit check on one
 * replica costs no promise per request (issue 14's bench goal); Redis answers later.
 */
export type Awaitable<T> = T | Promise<T>;

export interface ReplayStore {
  /** Which implementation this is (logs, readiness). */
  readonly kind: 'memory' | 'redis';
  /**
   * Record `key` with `value` for `ttlMs` unless it is already there — atomically, so that of two
   * concurrent calls with one key exactly one returns true.
   */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** The value under `key`, or undefined when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Store `value` under `key` for `ttlMs`, replacing any value. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Resolves when the store answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * SPEC §10 fixed windows: add 1 to the counter under `key` and return the new count, atomically.
   * A counter that does not exist starts at 0 and lives `ttlMs` (the rest of its window); later
   * increments do not extend it.
   */
  increment(key: string, ttlMs: number): Awaitable<number>;
  /**
   * SPEC §10 "concurrent requests never let more than the limit through": add 1 only when the
   * counter is below `limit`, atomically (check and add in one step). True when it was added. A new
   * counter lives `ttlMs`.
   */
  reserve(key: string, limit: number, ttlMs: number): Awaitable<boolean>;
  /** Take back one `reserve` (the answer was not 2xx); never below zero, never extends the expiry. */
  release(key: string): Awaitable<void>;
}
