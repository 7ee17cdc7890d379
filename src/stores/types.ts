/**
 * The replay (jti) and idempotency store (SPEC §5): one interface, two implementations —
 * `memory` for one replica, `redis` once there is more than one. Every failure to reach the
 * store surfaces as a ServiceUnavailableError (fail closed → 503).
 */

/** OFB FAPI "Message Content Signing" item 9: a jti is unique per client for 86 400 s. */
export const REPLAY_TTL_MS = 86_400_000;

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
}
