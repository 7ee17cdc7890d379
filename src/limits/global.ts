/**
 * SPEC §10 global limit, right after §1 row 0 (before any other check, so an overloaded gateway
 * spends nothing more on a request it refuses): more than `limits.globalPerSecond` requests in one
 * UTC second, over all routes and every replica sharing the store → 529 (operations.md "Global
 * capacity": at least 300 per second; over it the bank answers 529).
 */
import { GlobalLimitError } from '../errors.js';
import type { Config } from '../config/load.js';
import { ensured, type CheckDefinition } from '../checks/types.js';
import { retryAfterSeconds, secondWindow } from './windows.js';
import { sharedCounterProblems } from './config.js';

export const globalLimitCheck: CheckDefinition = {
  name: 'limit-global',
  phase: 'headers',
  // `limits` always exists once the schema applied its default; a hand-built partial config may lack it.
  validate: (_route, config) => ((config as Partial<Config>).limits?.globalPerSecond === undefined ? [] : sharedCounterProblems(config, ['limits', 'globalPerSecond'])),
  create(route, deps) {
    const limit = deps.config.limits.globalPerSecond;
    if (limit === undefined) return undefined;
    const runtime = ensured(deps.limits, 'deps.limits');
    const policy = deps.config.limits.onStoreError;
    const storeError = () => deps.metrics?.limitStoreErrors.inc({ limit: 'globalPerSecond', policy });
    return function globalLimit() {
      const window = secondWindow(runtime.now());
      const decide = (count: number | undefined): void => {
        if (count === undefined || count <= limit) return;
        deps.metrics?.limitRefusals.inc({ route: route.path, limit: 'globalPerSecond' });
        throw new GlobalLimitError(retryAfterSeconds(window));
      };
      const count = runtime.increment(`lim:s:${window.id}`, window.remainingMs, storeError);
      // The memory store answers at once: no promise on one replica.
      return count instanceof Promise ? count.then(decide) : decide(count);
    };
  },
};
