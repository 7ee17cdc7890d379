/**
 * What the limit checks share, built once per gateway (src/services.ts): the counter store (the
 * replay store, SPEC §10 "Counters live in the replay store"), the clock, and the `onStoreError`
 * policy with its once-per-change log.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/load.js';
import type { ReplayStore } from '../stores/types.js';
import { LimitStoreUnavailableError } from '../errors.js';

export interface LimitRuntime {
  readonly store: ReplayStore;
  /** Milliseconds since the epoch; injected so tests can straddle a minute or a month. */
  readonly now: () => number;
  /**
   * Run a store operation under `limits.onStoreError`: its result; or, when the store fails,
   * undefined (`allow`: the request goes on uncounted) or a LimitStoreUnavailableError (`refuse` → 503).
   * `onError` runs once per failed operation (the metric).
   */
  counted<T>(operation: () => Promise<T>, onError: () => void): Promise<T | undefined>;
}

/** Whether any limit is configured (the runtime, and a store, are then needed). */
export function limitsInUse(config: Pick<Config, 'limits' | 'routes'>): boolean {
  return config.limits.globalPerSecond !== undefined || config.routes.some((r) => r.limits?.perMinute !== undefined || r.limits?.perConsentMonth !== undefined);
}

export function createLimitRuntime(config: Config, store: ReplayStore, log: FastifyBaseLogger, now: () => number = Date.now): LimitRuntime {
  const refuse = config.limits.onStoreError === 'refuse';
  // SPEC §7: a dependency that goes down or comes back is logged once per change.
  let failing = false;
  return {
    store,
    now,
    async counted(operation, onError) {
      let result;
      try {
        result = await operation();
      } catch (err) {
        onError();
        if (!failing) {
          failing = true;
          log.warn({ err, onStoreError: config.limits.onStoreError }, `limit counters unavailable: requests are ${refuse ? 'refused (503)' : 'let through uncounted'}`);
        }
        if (refuse) throw new LimitStoreUnavailableError({ cause: err });
        return undefined;
      }
      if (failing) {
        failing = false;
        log.info('limit counters available again');
      }
      return result;
    },
  };
}
