/**
 * `replay.store: redis` — shared by every replica (SPEC §5): a jti replayed to a different replica
 * is still refused. A jti is recorded with one atomic `SET key value NX PX ttl`. Every command is
 * bounded by `timeoutMs` (also while reconnecting); past it, or on any Redis error, the request is
 * refused with 503 (fail closed).
 */
import { Redis } from 'ioredis';
import { ServiceUnavailableError } from '../errors.js';
import type { ReplayStore } from './types.js';

export interface RedisStoreOptions {
  /** `redis://` or `rediss://` URL. */
  readonly url: string;
  /** Prefix of every key (several gateways can share one Redis). */
  readonly keyPrefix: string;
  /** Command timeout in ms. */
  readonly timeoutMs: number;
  /** Called with connection errors (logged by the caller); commands fail on their own. */
  readonly onError?: (err: Error) => void;
}

/** Build a Redis store; it connects in the background (commands issued meanwhile wait up to timeoutMs). */
export function createRedisStore(options: RedisStoreOptions): ReplayStore {
  const redis = new Redis(options.url, {
    keyPrefix: options.keyPrefix,
    commandTimeout: options.timeoutMs,
    connectTimeout: Math.max(options.timeoutMs, 1000),
    // Queued commands still time out after timeoutMs (ioredis starts the timer when queueing).
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
  });
  redis.on('error', (err: Error) => options.onError?.(err));

  const guarded = async <T>(what: string, command: () => Promise<T>): Promise<T> => {
    try {
      return await command();
    } catch (err) {
      throw new ServiceUnavailableError({ cause: new Error(`replay store (redis) ${what} failed`, { cause: err }) });
    }
  };

  return {
    kind: 'redis',
    setIfAbsent(key, value, ttlMs) {
      return guarded('SET NX', async () => (await redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK');
    },
    get(key) {
      return guarded('GET', async () => (await redis.get(key)) ?? undefined);
    },
    set(key, value, ttlMs) {
      return guarded('SET', async () => {
        await redis.set(key, value, 'PX', ttlMs);
      });
    },
    delete(key) {
      return guarded('DEL', async () => {
        await redis.del(key);
      });
    },
    ping() {
      return guarded('PING', async () => {
        await redis.ping();
      });
    },
    async close() {
      redis.disconnect();
    },
  };
}
