import { InvalidTokenError } from '../errors.js';
import { routeKey } from '../config/problems.js';
import { ensured, type CheckDefinition } from './types.js';

/**
 * SPEC §1 row 4 — RFC 7662 introspection says `active: true` and `exp` is in the future (FAPI 1
 * Part 1 §6.2.1-4: neither expired nor revoked), else 401 UNAUTHORIZED, `Bearer error="invalid_token"`.
 * The answer may come from the cache (SPEC §5), so expiry is compared with the clock here, on
 * every request. An AS that cannot be asked → 503 (thrown by the introspection client).
 * What the token says (client id, scope) goes on request.ofb for the later checks and the upstream
 * headers (SPEC §4); the consent id its scope names is the consent check's (row 7) to record.
 */
export const tokenActiveCheck: CheckDefinition = {
  name: 'token-active',
  phase: 'headers',
  validate(route, config) {
    if (route.auth === undefined || config.introspection !== undefined) return [];
    return [{ path: routeKey(route, 'auth'), message: 'needs an `introspection` section' }];
  },
  create(route, deps) {
    if (route.auth === undefined) return undefined;
    const introspection = ensured(deps.introspection, 'deps.introspection');
    return async function requireActiveToken(request) {
      const ofb = request.ofb;
      const token = ofb.accessToken;
      // The bearer-token check always runs first; without its token there is nothing to introspect.
      if (token === undefined) throw new InvalidTokenError('no access token was found in the request');
      const info = await introspection.introspect(token);
      if (!info.active) throw new InvalidTokenError('access token is not active (expired, revoked or unknown to the authorization server)');
      ofb.clientId = info.clientId;
      if (info.exp === undefined) throw new InvalidTokenError('the authorization server gave no expiry (exp) for the access token');
      if (info.exp * 1000 <= Date.now()) throw new InvalidTokenError('access token has expired');
      ofb.token = info;
      ofb.scope = info.scope;
    };
  },
};
