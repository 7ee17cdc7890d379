/**
 * What `routes[].limits` needs beyond its schema (SPEC §10, issue 14 "Config validation"):
 * - `ofb` on a route whose path covers no catalogue endpoint is an error naming the route — there
 *   is no OFB minimum to apply;
 * - `perConsentMonth` counts per consent, which comes from the access token: the route needs `auth`;
 * - a number below the OFB minimum of an endpoint the route serves loads with a warning (a bank may
 *   break the rule knowingly in a test environment; operations.md: "never below the minimums");
 * - several workers need Redis: workers share no memory, so each would count alone.
 */
import type { Config, Route } from '../config/load.js';
import { routeKey, keyPathString, type ConfigProblem, type KeyPath } from '../config/problems.js';
import type { OfbEndpoint } from '../ofb/catalogue.js';
import { endpointsOfRoute, perMinuteMinimum, perMonthMinimum } from './endpoints.js';

type LimitKey = 'perMinute' | 'perConsentMonth';

/** Counters in the memory store of several workers: each worker would let the whole limit through. */
export function sharedCounterProblems(config: Config, path: KeyPath): ConfigProblem[] {
  if (config.server.workers === 1 || config.replay.store !== 'memory') return [];
  return [
    {
      path,
      message: 'workers share no memory, so each would count alone and the limit would be multiplied by the number of workers: set `replay: { store: redis, url: ... }`, or `server.workers: 1`',
    },
  ];
}

/** The configuration problems of one route limit (none when it is not set). */
export function limitProblems(route: Route, config: Config, key: LimitKey): ConfigProblem[] {
  const setting = route.limits?.[key];
  if (setting === undefined) return [];
  const shared = sharedCounterProblems(config, routeKey(route, 'limits', key));
  if (shared.length > 0) return shared;
  if (key === 'perConsentMonth' && route.auth === undefined) {
    return [{ path: routeKey(route, 'limits', key), message: `counts per consent, taken from the access token: route ${route.path} needs \`auth\`` }];
  }
  if (setting === 'ofb' && endpointsOfRoute(route).length === 0) {
    return [{ path: routeKey(route, 'limits', key), message: `\`ofb\` needs OFB endpoints, but route ${route.path} covers none of the built-in catalogue: set a number` }];
  }
  return [];
}

/** The start-up warning of a number below the OFB minimum of an endpoint of the route. */
export function limitWarnings(route: Route, config: Config, key: LimitKey): string[] {
  const setting = route.limits?.[key];
  if (typeof setting !== 'number') return [];
  const minimum = (endpoint: OfbEndpoint): number | undefined =>
    key === 'perMinute' ? perMinuteMinimum(endpoint, config.limits.highClassPerMinute) : perMonthMinimum(endpoint);
  const below = endpointsOfRoute(route).filter((endpoint) => {
    const min = minimum(endpoint);
    return min !== undefined && setting < min;
  });
  const first = below[0];
  if (first === undefined) return [];
  const more = below.length > 1 ? ` (and ${below.length - 1} more endpoint${below.length > 2 ? 's' : ''})` : '';
  return [
    `${keyPathString(routeKey(route, 'limits', key))} ${setting} is below the OFB minimum of ${String(minimum(first))} for ${first.method} ${first.template}${more}: ` +
      'the OFB rules forbid limiting below the published minimums',
  ];
}

/** operations.md: the "high" class is at least 2,500 per minute, global capacity at least 300 per second. */
const OFB_HIGH_CLASS_MINIMUM = 2500;
const OFB_GLOBAL_MINIMUM = 300;

/**
 * Start-up warnings of the top-level `limits` below the OFB minimums (regression: neither warned,
 * though a `highClassPerMinute` under 2,500 limits every "high" endpoint below its minimum).
 */
export function globalLimitWarnings(config: Pick<Config, 'limits'>): string[] {
  const warnings: string[] = [];
  const { highClassPerMinute, globalPerSecond } = config.limits;
  if (highClassPerMinute < OFB_HIGH_CLASS_MINIMUM) {
    warnings.push(`limits.highClassPerMinute ${highClassPerMinute} is below the OFB minimum of ${OFB_HIGH_CLASS_MINIMUM} for the "high" class: the OFB rules forbid limiting below the published minimums`);
  }
  if (globalPerSecond !== undefined && globalPerSecond < OFB_GLOBAL_MINIMUM) {
    warnings.push(`limits.globalPerSecond ${globalPerSecond} is below the OFB minimum capacity of ${OFB_GLOBAL_MINIMUM} requests per second`);
  }
  return warnings;
}
