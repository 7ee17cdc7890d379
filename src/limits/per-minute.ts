/**
 * SPEC §10 per-minute limit, right after §1 row 2 (the origin is known; no token is introspected for
 * a request refused here): per endpoint and origin and fixed UTC minute (operations.md "Per-minute
 * limits by origin"); the request over the limit → 429 with `Retry-After`, seconds to the next minute.
 */
import { PerMinuteLimitError } from '../errors.js';
import { ensured, type CheckDefinition } from '../checks/types.js';
import { limitProblems, limitWarnings } from './config.js';
import { perMinuteTargets } from './endpoints.js';
import { originOf } from './origin.js';
import { minuteWindow, retryAfterSeconds } from './windows.js';

export const perMinuteLimitCheck: CheckDefinition = {
  name: 'limit-per-minute',
  phase: 'headers',
  validate: (route, config) => limitProblems(route, config, 'perMinute'),
  warnings: (route, config) => limitWarnings(route, config, 'perMinute'),
  create(route, deps) {
    const setting = route.limits?.perMinute;
    if (setting === undefined) return undefined;
    const runtime = ensured(deps.limits, 'deps.limits');
    const targetOf = perMinuteTargets(route, setting, deps.config.limits.highClassPerMinute);
    const origin = originOf(route, deps.config);
    const policy = deps.config.limits.onStoreError;
    const storeError = () => deps.metrics?.limitStoreErrors.inc({ limit: 'perMinute', policy });
    return function perMinuteLimit(request) {
      const target = targetOf(request.ofb.endpoint(request.method));
      if (target === undefined) return; // exempt under `ofb`
      const window = minuteWindow(runtime.now());
      const decide = (count: number | undefined): void => {
        if (count === undefined || count <= target.limit) return;
        deps.metrics?.limitRefusals.inc({ route: route.path, limit: 'perMinute' });
        throw new PerMinuteLimitError(
          retryAfterSeconds(window),
          `more than ${target.limit} requests this minute to ${target.endpoint} from this client; retry after the Retry-After seconds`,
        );
      };
      const count = runtime.increment(`lim:m:${window.id}:${target.endpoint}:${origin(request)}`, window.remainingMs, storeError);
      // The memory store answers at once: no promise on one replica.
      return count instanceof Promise ? count.then(decide) : decide(count);
    };
  },
};
