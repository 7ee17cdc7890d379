/**
 * The configuration rule of the idempotency check (SPEC §1 row 10), kept here only while
 * src/checks/idempotency.ts is being rewritten: it belongs in that check's `validate`.
 */
import type { Route } from '../config/load.js';
import { routeKey, type ConfigProblem } from '../config/problems.js';

/** SPEC §1 row 10: keys are scoped per client, so the route must know the client. */
export function validateIdempotency(route: Route): readonly ConfigProblem[] {
  if (!route.idempotency || route.mtls === 'required' || route.auth !== undefined) return [];
  return [{ path: routeKey(route, 'idempotency'), message: 'idempotency keys are scoped per client: the route needs `mtls: required` or `auth`' }];
}
