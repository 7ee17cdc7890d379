/**
 * Which SPEC §10 "endpoint" a request counts against, and its limit: the OFB catalogue template the
 * path matches (src/ofb/catalogue.ts), else the route itself ("a path outside the catalogue counts
 * as its route"). Under `ofb` each endpoint gets its OFB minimum (operations.md) and exempt
 * endpoints are not limited; a number applies to every endpoint of the route.
 */
import { OFB_ENDPOINTS, type EndpointMatch, type OfbEndpoint } from '../ofb/catalogue.js';
import type { Route } from '../config/load.js';

/** operations.md "Other families: the class in the Referência table (where absent, use low)". */
export const LOW_CLASS_PER_MINUTE = 1000;

/** What one request counts against. */
export interface LimitTarget {
  /** The catalogue template, or the route path for a path outside the catalogue. */
  readonly endpoint: string;
  /** The most specific resource id in the path ('' when none, or outside the catalogue). */
  readonly resourceId: string;
  readonly limit: number;
}

/** The per-minute minimum of one catalogue endpoint; undefined when the OFB exempts it. */
export function perMinuteMinimum(endpoint: OfbEndpoint, highClassPerMinute: number): number | undefined {
  if (endpoint.perMinute === 'exempt') return undefined;
  return endpoint.perMinute === 'high' ? highClassPerMinute : endpoint.perMinute;
}

/** The monthly minimum of one catalogue endpoint; undefined when the OFB exempts it. */
export function perMonthMinimum(endpoint: OfbEndpoint): number | undefined {
  return endpoint.perConsentMonth === 'exempt' ? undefined : endpoint.perConsentMonth;
}

/**
 * Build the lookup of one route's per-minute targets. `ofb` outside the catalogue: the OFB "low"
 * class, counted under the route.
 */
export function perMinuteTargets(route: Route, setting: 'ofb' | number, highClassPerMinute: number) {
  const outside: LimitTarget = { endpoint: route.path, resourceId: '', limit: setting === 'ofb' ? LOW_CLASS_PER_MINUTE : setting };
  return function perMinuteTarget(match: EndpointMatch | undefined): LimitTarget | undefined {
    if (match === undefined) return outside;
    const limit = setting === 'ofb' ? perMinuteMinimum(match.endpoint, highClassPerMinute) : setting;
    return limit === undefined ? undefined : { endpoint: match.endpoint.template, resourceId: match.resourceId, limit };
  };
}

/**
 * Build the lookup of one route's monthly targets. `ofb` outside the catalogue: not limited (the
 * OFB sets no monthly minimum there); a number counts the path under the route.
 */
export function perMonthTargets(route: Route, setting: 'ofb' | number) {
  const outside: LimitTarget | undefined = setting === 'ofb' ? undefined : { endpoint: route.path, resourceId: '', limit: setting };
  return function perMonthTarget(match: EndpointMatch | undefined): LimitTarget | undefined {
    if (match === undefined) return outside;
    const limit = setting === 'ofb' ? perMonthMinimum(match.endpoint) : setting;
    return limit === undefined ? undefined : { endpoint: match.endpoint.template, resourceId: match.resourceId, limit };
  };
}

/**
 * The catalogue endpoints a route serves: its path prefix matches the template's leading segments
 * on whole segments (a `{param}` matches any one), and its methods include the endpoint's.
 */
export function endpointsOfRoute(route: Pick<Route, 'path' | 'methods'>): OfbEndpoint[] {
  const prefix = route.path.split('/').filter((s) => s !== '');
  return OFB_ENDPOINTS.filter((endpoint) => {
    if (route.methods !== undefined && !route.methods.includes(endpoint.method)) return false;
    const segments = endpoint.template.split('/').filter((s) => s !== '');
    if (prefix.length > segments.length) return false;
    return prefix.every((part, i) => part === segments[i] || /^\{[A-Za-z]+\}$/.test(segments[i] ?? ''));
  });
}
