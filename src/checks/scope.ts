import { InsufficientScopeError } from '../errors.js';
import type { CheckDefinition } from './types.js';

/**
 * SPEC §1 row 6 — the token's scope holds every scope the route requires (FAPI 1 Part 1 §6.2.1-5),
 * else 403 FORBIDDEN with `WWW-Authenticate: Bearer error="insufficient_scope", scope="<required>"`
 * (RFC 6750 §3.1). Scope values are exact tokens: `accounts` is not satisfied by `accounts-x`.
 */
export const scopeCheck: CheckDefinition = {
  name: 'scope',
  phase: 'headers',
  create(route) {
    const required = route.auth?.scopes ?? [];
    if (required.length === 0) return undefined;
    const requiredScope = required.join(' ');
    return function requireScopes(request) {
      const granted = request.ofb.token?.scopes ?? [];
      const missing = required.filter((s) => !granted.includes(s));
      if (missing.length > 0) {
        throw new InsufficientScopeError(`access token lacks the scope this endpoint requires: ${missing.join(' ')}`, requiredScope);
      }
    };
  },
};
