/**
 * What the limit checks share, built once per gateway (src/services.ts): the counter store (the
 * replay store, SPEC §10 "Counters live in the replay store"), the clock, and the `onStoreError`
 * policy with its once-per-change log.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/load.js';
import type { Awaitable, ReplayStore } from '../stores/types.js';
import { LimitStoreUnavailableError } from '../errors.js';

/**
 * The store's counter operations under `limits.onStoreError`: each gives its result; or, when the
 * store fails, undefined (`allow`: the request goes on uncounted) or throws / rejects with a
 * LimitStoreUnavailableError (`refuse` → 503); `onError` runs once per failed operation (the
 * check's metric). Results come at once from the memory store, so a check awaits only when the
 * store is remote.
 */
export interface LimitRuntime {
  readonly store: ReplayStore;
  /** Milliseconds since the epoch; injected so tests can straddle a minute or a month. */
  readonly now: () => number;
  increment(key: string, ttlMs: number, onError: () => void): Awaitable<number | undefined>;
  reserve(key: string, max: number, ttlMs: number, onError: () => void): Awaitable<boolean | undefined>;
  get(key: string, onError: () => void): Awaitable<string | undefined>;
}

/** Whether any limit is configured (the runtime, and a store, are then needed). */
export function limitsInUse(config: Pick<Config, 'limits' | 'routes'>): boolean {
  return config.limits.globalPerSecond !== undefined || config.routes.some((r) => r.limits?.perMinute !== undefined || r.limits?.perConsentMonth !== undefined);
}

export function createLimitRuntime(
  config: Config,
  store: ReplayStore,
  log: FastifyBaseLogger,
  now: () => number = Date.now,
): LimitRuntime {
  const policy = config.limits.onStoreError;
  // SPEC §7: a dependency that goes down or comes back is logged once per change.
  let failing = false;
  const failed = (onError: () => void, err: unknown): undefined => {
    onError();
    if (!failing) {
      failing = true;
      log.warn({ err, onStoreError: policy }, `limit counters unavailable: requests are ${policy === 'refuse' ? 'refused (503)' : 'let through uncounted'}`);
    }
    if (policy === 'refuse') throw new LimitStoreUnavailableError({ cause: err });
    return undefined;
  };
  const answered = <T>(result: T): T => {
    if (failing) {
      failing = false;
      log.info('limit counters available again');
    }
    return result;
  };
  /** A store result under the policy, still synchronous when the store answered synchronously. */
  const settled = <T>(result: Awaitable<T>, onError: () => void): Awaitable<T | undefined> =>
    result instanceof Promise ? result.then(answered, (err: unknown) => failed(onError, err)) : answered(result);
  return {
    store,
    now,
    increment(key, ttlMs, onError) {
      try {
        return settled(store.increment(key, ttlMs), onError);
      } catch (err) {
        return failed(onError, err);
      }
    },
    reserve(key, max, ttlMs, onError) {
      try {
        return settled(store.reserve(key, max, ttlMs), onError);
      } catch (err) {
        return failed(onError, err);
      }
    },
    get(key, onError) {
      try {
        return settled(store.get(key), onError);
      } catch (err) {
        return failed(onError, err);
      }
    },
  };
}
