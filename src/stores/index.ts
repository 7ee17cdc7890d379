/** Build the configured replay/idempotency store (SPEC §5). */
import type { ReplayConfig } from '../config/schema.js';
import { createMemoryStore } from './memory.js';
import { createRedisStore } from './redis.js';
import type { ReplayStore } from './types.js';

export type { ReplayStore } from './types.js';
export { REPLAY_TTL_MS } from './types.js';
export { describeRedis } from './redis.js';

/** `memory` or `redis` per `replay.store`; `onError` receives Redis connection errors for the logs. */
export function createReplayStore(config: ReplayConfig, onError?: (err: Error) => void): ReplayStore {
  if (config.store === 'memory') return createMemoryStore({ maxEntries: config.maxEntries, maxBytes: config.maxBytes });
  if ([config.url, config.sentinels, config.cluster].filter((m) => m !== undefined).length !== 1) {
    throw new TypeError('replay.store: redis needs exactly one of replay.url, replay.sentinels, replay.cluster');
  }
  return createRedisStore({
    url: config.url,
    sentinels: config.sentinels,
    sentinelName: config.sentinelName,
    sentinelUsername: config.sentinelUsername,
    sentinelPassword: config.sentinelPassword,
    username: config.username,
    password: config.password,
    tls: config.tls,
    cluster: config.cluster,
    keyPrefix: config.keyPrefix,
    timeoutMs: config.timeoutMs,
    ...(onError ? { onError } : {}),
  });
}
