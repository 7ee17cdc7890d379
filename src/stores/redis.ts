/**
 * `replay.store: redis` — shared by every replica (SPEC §5): a jti replayed to a different replica
 * is still refused. A jti is recorded with one atomic `SET key value NX PX ttl`. Every command is
 * bounded by `timeoutMs` (also while reconnecting); past it, or on any Redis error, the request is
 * refused with 503 (fail closed).
 */
import { Redis } from 'ioredis';
import { ServiceUnavailableError } from '../errors.js';
import type { ReplayStore } from './types.js';
import { redactUrl } from '../readiness.js';

/**
 * SPEC §10 counters as Lua scripts: Redis runs a script atomically, so every replica sees one
 * count. PEXPIRE (relative) rather than PEXPIREAT: the window end is computed on the gateway's
 * clock, and a relative TTL does not depend on Redis agreeing with it.
 */
const COUNTER_SCRIPTS = {
  /** KEYS[1] counter, ARGV[1] ttl ms → the new count; the TTL is set by the increment that creates it. */
  limitIncrement: `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`,
  /** KEYS[1] counter, ARGV[1] limit, ARGV[2] ttl ms → 1 when added, 0 when the limit was reached. */
  limitReserve: `local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`,
  /** KEYS[1] counter → decrement when above zero (DECR on a missing key would create it without a TTL). */
  limitRelease: `local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0`,
} as const;

interface CounterCommands {
  limitIncrement(key: string, ttlMs: number): Promise<number>;
  limitReserve(key: string, limit: number, ttlMs: number): Promise<number>;
  limitRelease(key: string): Promise<number>;
}

export interface RedisStoreOptions {
  /** `redis://` or `rediss://` URL. */
  readonly url: string;
  /** Prefix of every key (several gateways can share one Redis). */
  readonly keyPrefix: string;
  /** Command timeout in ms. */
  readonly timeoutMs: number;
  /**
   * Called once when the connection is lost (or cannot be made), with the error naming the URL
   * (logged by the caller); not again for each reconnection attempt until the connection is back.
   * Commands fail on their own.
   */
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
  // ioredis sends EVALSHA and falls back to EVAL once; keyPrefix applies to the scripts' KEYS too.
  for (const [name, lua] of Object.entries(COUNTER_SCRIPTS)) redis.defineCommand(name, { numberOfKeys: 1, lua });
  const counters = redis as unknown as CounterCommands;
  // ioredis emits 'error' on every failed reconnection attempt (several a second): report the
  // outage once, then again only after the connection has come back (SPEC §7: once per change).
  let connected = true;
  redis.on('error', (err: Error) => {
    if (!connected) return;
    connected = false;
    options.onError?.(new Error(`redis ${redactUrl(options.url)} connection failed: ${err.message}`, { cause: err }));
  });
  redis.on('ready', () => {
    connected = true;
  });

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
    increment(key, ttlMs) {
      return guarded('INCR', () => counters.limitIncrement(key, Math.max(1, Math.ceil(ttlMs))));
    },
    reserve(key, limit, ttlMs) {
      return guarded('reserve', async () => (await counters.limitReserve(key, limit, Math.max(1, Math.ceil(ttlMs)))) === 1);
    },
    release(key) {
      return guarded('release', async () => {
        await counters.limitRelease(key);
      });
    },
    async close() {
      redis.disconnect();
    },
  };
}
