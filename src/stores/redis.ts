/**
 * `replay.store: redis` — shared by every replica (SPEC §5): a jti replayed to a different replica
 * is still refused. A jti is recorded with one atomic `SET key value NX PX ttl`. Every command is
 * bounded by `timeoutMs` (also while reconnecting); past it, or on any Redis error, the request is
 * refused with 503 (fail closed).
 *
 * One Redis (`url`), a Sentinel-managed master (`sentinels`), or a Redis Cluster (`cluster`). Every
 * command and script touches exactly one key, so each runs on the one node owning that key's slot:
 * the key names are the same in the three topologies (no hash tags needed).
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
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

/** One Redis Sentinel. */
export interface SentinelAddress {
  readonly host: string;
  readonly port: number;
}

export interface RedisStoreOptions {
  /** `redis://` or `rediss://` URL of a single Redis. Exactly one of `url`, `sentinels`, `cluster`. */
  readonly url?: string | undefined;
  /** Sentinels naming the master `sentinelName`. */
  readonly sentinels?: readonly SentinelAddress[] | undefined;
  /** Master group name the sentinels monitor. */
  readonly sentinelName?: string | undefined;
  /** ACL user and password on the sentinel processes. */
  readonly sentinelUsername?: string | undefined;
  readonly sentinelPassword?: string | undefined;
  /** ACL user / password / TLS on the Sentinel-managed master (a URL carries its own). */
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly tls?: boolean | undefined;
  /** Seed node URLs of a Redis Cluster (same scheme and credentials; the first one's are used). */
  readonly cluster?: readonly string[] | undefined;
  /** Prefix of every key (several gateways can share one Redis). */
  readonly keyPrefix: string;
  /** Command timeout in ms. */
  readonly timeoutMs: number;
  /**
   * Called once when the connection is lost (or cannot be made), with the error naming the Redis
   * (logged by the caller); not again for each reconnection attempt until the connection is back.
   * Commands fail on their own.
   */
  readonly onError?: (err: Error) => void;
}

/** The Redis the options name, without credentials (for logs and /readyz). */
export function describeRedis(options: Pick<RedisStoreOptions, 'url' | 'sentinels' | 'sentinelName' | 'cluster'>): string {
  if (options.sentinels !== undefined) {
    return `sentinel master ${options.sentinelName ?? '?'} via ${options.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
  }
  if (options.cluster !== undefined) return `cluster ${options.cluster.map((u) => redactUrl(u)).join(',')}`;
  return redactUrl(options.url ?? '');
}

type Client = Redis | Cluster;

function connectionOptions(timeoutMs: number): RedisOptions {
  return {
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1000),
    // Queued commands still time out after timeoutMs (ioredis starts the timer when queueing).
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
  };
}

function createClient(options: RedisStoreOptions): Client {
  const base = connectionOptions(options.timeoutMs);
  const modes = [options.url, options.sentinels, options.cluster].filter((m) => m !== undefined).length;
  if (modes !== 1) throw new TypeError('a Redis store needs exactly one of url, sentinels, cluster');
  if (options.sentinels !== undefined) {
    if (options.sentinelName === undefined) throw new TypeError('a Redis store with sentinels needs sentinelName');
    const tls = options.tls === true ? {} : undefined;
    return new Redis({
      ...base,
      keyPrefix: options.keyPrefix,
      sentinels: options.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: options.sentinelName,
      role: 'master',
      ...(options.sentinelUsername !== undefined ? { sentinelUsername: options.sentinelUsername } : {}),
      ...(options.sentinelPassword !== undefined ? { sentinelPassword: options.sentinelPassword } : {}),
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(tls !== undefined ? { tls, sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
      // Asking the sentinels again after a lost connection: capped, never given up.
      sentinelRetryStrategy: (times: number) => Math.min(times * 50, 1000),
    });
  }
  if (options.cluster !== undefined) {
    const urls = options.cluster.map((u) => new URL(u));
    const first = urls[0];
    if (first === undefined) throw new TypeError('a Redis cluster needs at least one seed node');
    const auth: RedisOptions = {
      ...(first.username !== '' ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password !== '' ? { password: decodeURIComponent(first.password) } : {}),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
    };
    return new Cluster(
      urls.map((u) => ({ host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port === '' ? 6379 : Number(u.port) })),
      {
        keyPrefix: options.keyPrefix,
        enableOfflineQueue: true,
        redisOptions: { ...base, ...auth },
        slotsRefreshTimeout: Math.max(options.timeoutMs, 1000),
        // A cluster that cannot be reached: keep trying (commands fail on their own timeout).
        clusterRetryStrategy: (times: number) => Math.min(times * 100, 2000),
        retryDelayOnClusterDown: 100,
        retryDelayOnFailover: 100,
        retryDelayOnTryAgain: 100,
      },
    );
  }
  return new Redis(options.url ?? '', { ...base, keyPrefix: options.keyPrefix });
}

/** Build a Redis store; it connects in the background (commands issued meanwhile wait up to timeoutMs). */
export function createRedisStore(options: RedisStoreOptions): ReplayStore {
  const redis = createClient(options);
  const target = describeRedis(options);
  // ioredis sends EVALSHA and falls back to EVAL once; keyPrefix applies to the scripts' KEYS too.
  // Each script has one key, so in a cluster it runs on the node owning that key's slot.
  for (const [name, lua] of Object.entries(COUNTER_SCRIPTS)) redis.defineCommand(name, { numberOfKeys: 1, lua });
  const counters = redis as unknown as CounterCommands;
  // ioredis emits 'error' on every failed reconnection attempt (several a second): report the
  // outage once, then again only after the connection has come back (SPEC §7: once per change).
  // A cluster reports a node's errors as 'node error'.
  let connected = true;
  const lost = (err: Error) => {
    if (!connected) return;
    connected = false;
    options.onError?.(new Error(`redis ${target} connection failed: ${err.message}`, { cause: err }));
  };
  redis.on('error', lost);
  if (redis instanceof Cluster) redis.on('node error', lost);
  redis.on('ready', () => {
    connected = true;
  });

  // A cluster queues commands while it (re)discovers its slots with no per-command timer of its
  // own: there every command is also bounded here, so that no topology holds a request past
  // timeoutMs. One Redis or a Sentinel master has ioredis' commandTimeout, and pays for no timer.
  const bounded =
    redis instanceof Cluster
      ? <T>(what: string, command: Promise<T>): Promise<T> => {
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => reject(new Error(`${what} timed out after ${options.timeoutMs} ms`)), options.timeoutMs + 20);
            timer.unref();
          });
          command.catch(() => undefined);
          return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
        }
      : <T>(_what: string, command: Promise<T>): Promise<T> => command;
  const guarded = async <T>(what: string, command: () => Promise<T>): Promise<T> => {
    try {
      return await bounded(what, command());
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
