/** Build the configured replay/idempotency store (SPEC §5). */
import type { ReplayConfig } from '../config/schema.js';
import { createMemoryStore } from './memory.js';
import { createRedisStore } from './redis.js';
import type { ReplayStore } from './types.js';

export type { ReplayStore } from './types.js';
export { REPLAY_TTL_MS } from './types.js';

/** `memory` or `redis` per `replay.store`; `onError` receives Redis connection errors for the logs. */
export function createReplayStore(config: ReplayConfig, onError?: (err: Error) => void): ReplayStore {
  if (config.store === 'memory') return createMemoryStore({ maxEntries: config.maxEntries, maxBytes: config.maxBytes });
  if (config.url === undefined) throw new TypeError('replay.store: redis needs replay.url');
  return createRedisStore({ url: config.url, keyPrefix: config.keyPrefix, timeoutMs: config.timeoutMs, ...(onError ? { onError } : {}) });
}
