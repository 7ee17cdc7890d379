import { InsufficientScopeError } from '../errors.js';
import { routeKey, type ConfigProblem } from '../config/problems.js';
import type { CheckDefinition } from './types.js';

/** RFC 6749 §3.3 / RFC 6750 §3 scope-token: %x21 / %x23-5B / %x5D-7E. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * SPEC §1 row 6 — the token's scope holds every scope the route requires (FAPI 1 Part 1 §6.2.1-5),
 * else 403 FORBIDDEN with `WWW-Authenticate: Bearer error="insufficient_scope", scope="<required>"`
 * (RFC 6750 §3.1). Scope values are exact tokens: `accounts` is not satisfied by `accounts-x`.
 */
export const scopeCheck: CheckDefinition = {
  name: 'scope',
  phase: 'headers',
  validate(route) {
    // RFC 6750 §3 scope-token syntax: the scopes go verbatim into WWW-Authenticate scope="...".
    const problems: ConfigProblem[] = [];
    route.auth?.scopes.forEach((scope, j) => {
      if (!SCOPE_TOKEN.test(scope)) problems.push({ path: routeKey(route, 'auth', 'scopes', j), message: 'a scope is printable ASCII without spaces, quotes or backslashes (RFC 6750 §3)' });
    });
    return problems;
  },
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
