import { ForbiddenError } from '../errors.js';
import { routeKey } from '../config/problems.js';
import type { CheckDefinition } from './types.js';

/**
 * SPEC §1 row 8 — the consent's permissions hold what this endpoint needs: with `permissions: ofb`
 * the OFB endpoint catalogue (src/ofb/catalogue.ts, requirements.md §4 and §9), else every
 * permission the route lists. Missing → 403 FORBIDDEN (OFB FT AccountsApiWrongPermissionsTestModule expects 403).
 *
 * Fail closed: with `permissions: ofb`, a request that is in no catalogue row (an unknown endpoint,
 * a trailing slash, an encoded slash in an id, a method the endpoint does not have) or whose row
 * names no permission (service and open-data APIs) is refused with 403 rather than forwarded
 * unchecked; a route that needs other endpoints lists its permissions.
 * A token whose consent was not read (payments tokens skip the consent check) has no permissions.
 */
export const permissionCheck: CheckDefinition = {
  name: 'permission',
  phase: 'headers',
  validate(route) {
    // The permissions are the consent's: without the consent check there are none to compare.
    if (route.auth?.permissions === undefined || route.auth.consent === 'required') return [];
    return [{ path: routeKey(route, 'auth'), message: '`permissions` needs `consent: required`' }];
  },
  create(route) {
    const configured = route.auth?.permissions;
    if (configured === undefined) return undefined;
    const fixed = configured === 'ofb' ? undefined : [...configured];
    return function requirePermissions(request) {
      let required: readonly string[];
      if (fixed !== undefined) required = fixed;
      else {
        const permission = request.ofb.endpoint(request.method)?.endpoint.permission;
        if (permission === undefined) throw new ForbiddenError('this endpoint is not in the OFB permission table, so no consent can grant it');
        required = [permission];
      }
      const granted = request.ofb.consent?.permissions;
      if (granted === undefined) throw new ForbiddenError('the consent of this access token grants no permissions');
      const missing = required.filter((p) => !granted.includes(p));
      if (missing.length > 0) throw new ForbiddenError(`the consent does not grant the permission this endpoint requires: ${missing.join(', ')}`);
    };
  },
};
