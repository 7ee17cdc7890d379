/**
 * The one place that fixes the order of the SPEC §1 checks — never the YAML order.
 * Dependencies between checks (binding needs mTLS and a token) are each check's `validate`, run
 * in this order when the config loads (src/config/load.ts).
 */
import type { Route } from '../config/load.js';
import { interactionIdCheck } from './interaction-id.js';
import { clientCertificateCheck } from './client-certificate.js';
import { bearerTokenCheck } from './bearer-token.js';
import { tokenActiveCheck } from './token-active.js';
import { certBindingCheck } from './cert-binding.js';
import { scopeCheck } from './scope.js';
import { consentCheck } from './consent.js';
import { permissionCheck } from './permission.js';
import { jwsRequestCheck } from './jws-request.js';
import { idempotencyCheck } from './idempotency.js';
import { dcrCheck } from './dcr.js';
import { globalLimitCheck } from '../limits/global.js';
import { perMinuteLimitCheck } from '../limits/per-minute.js';
import { perConsentMonthLimitCheck } from '../limits/per-consent-month.js';
import type { Check, CheckDefinition, CheckDeps, CheckHooks } from './types.js';

/**
 * SPEC §1 rows 1–10, in order, with the SPEC §10 limits at their fixed places. Row 0 (route exists)
 * is the router's job.
 */
export const CHECKS: readonly CheckDefinition[] = [
  globalLimitCheck, // SPEC §10: right after row 0
  interactionIdCheck, // row 1
  clientCertificateCheck, // row 2
  perMinuteLimitCheck, // SPEC §10: right after row 2, before any token is introspected
  bearerTokenCheck, // row 3
  tokenActiveCheck, // row 4
  certBindingCheck, // row 5
  scopeCheck, // row 6
  consentCheck, // row 7 (on every token route it also records the consent id the scope names)
  permissionCheck, // row 8
  perConsentMonthLimitCheck, // SPEC §10: right after row 8
  jwsRequestCheck, // row 9
  idempotencyCheck, // row 10
  dcrCheck, // SPEC §9, after row 2 (a dcr route has no token, JWS or idempotency checks in between)
];

export interface NamedCheck {
  readonly name: string;
  readonly run: Check;
}

export interface RouteChecks {
  readonly headers: readonly NamedCheck[];
  readonly body: readonly NamedCheck[];
  /** The checks' own hooks for this route, in registry order. */
  readonly hooks: readonly CheckHooks[];
}

/** Build the checks that apply to one route, each created once (its options were validated when the config loaded). */
export function checksFor(route: Route, deps: CheckDeps): RouteChecks {
  const headers: NamedCheck[] = [];
  const body: NamedCheck[] = [];
  const hooks: CheckHooks[] = [];
  for (const def of CHECKS) {
    const own = def.hooks?.(route);
    if (own !== undefined) hooks.push(own);
    const run = def.create(route, deps);
    if (run === undefined) continue;
    (def.phase === 'headers' ? headers : body).push({ name: def.name, run });
  }
  return { headers, body, hooks };
}
