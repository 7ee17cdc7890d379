import { InvalidTokenError } from '../errors.js';
import { routeKey } from '../config/problems.js';
import type { CheckDefinition } from './types.js';

/**
 * SPEC §1 row 5 — RFC 8705 §3: the token's `cnf["x5t#S256"]` equals the SHA-256 thumbprint of the
 * client certificate on this connection. FAPI 1 Advanced §8.2 forbids bearer (unbound) tokens, so
 * a token without `cnf` is refused too (unlike peers that check only when cnf is present). The
 * conformance suite presents client 2's token over client 1's certificate and expects a 4xx.
 * → 401 UNAUTHORIZED, `Bearer error="invalid_token"`. Off only with `certBinding: false`.
 */
export const certBindingCheck: CheckDefinition = {
  name: 'cert-binding',
  phase: 'headers',
  validate(route) {
    // FAPI 1 Advanced §8.2: a bound token can only be checked against a certificate.
    if (route.auth === undefined || !route.certBinding || route.mtls !== 'none') return [];
    return [{ path: routeKey(route, 'certBinding'), message: 'certificate binding needs `mtls: required` (or optional)' }];
  },
  create(route) {
    if (route.auth === undefined || !route.certBinding) return undefined;
    return function requireBoundToken(request) {
      const ofb = request.ofb;
      const bound = ofb.token?.thumbprint;
      if (bound === undefined) throw new InvalidTokenError('access token is not bound to a client certificate (cnf x5t#S256 is required, RFC 8705)');
      const presented = ofb.identity?.thumbprint;
      if (presented === undefined) throw new InvalidTokenError('access token is bound to a client certificate, but none was presented');
      if (presented !== bound) throw new InvalidTokenError('access token is bound to a different client certificate');
    };
  },
};
