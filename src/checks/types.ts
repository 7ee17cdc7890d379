import type { FastifyReply, FastifyRequest, onResponseAsyncHookHandler, onResponseHookHandler, onSendHookHandler } from 'fastify';
import type { Config, Route } from '../config/load.js';
import type { CertificateSource } from '../tls/certificate-source.js';
import type { Introspector } from '../clients/introspection.js';
import type { ConsentLookup } from '../clients/consent-lookup.js';
import type { DirectoryJwks } from '../clients/directory-jwks.js';
import type { ReplayStore } from '../stores/types.js';
import type { ConfigProblem } from '../config/problems.js';
import type { LimitRuntime } from '../limits/runtime.js';
import type { GatewayMetrics } from '../metrics.js';

/**
 * One SPEC §1 check for one route: throws a GatewayError to refuse, or records what it learned
 * on `request.ofb`. Synchronous checks return undefined so the hot path awaits nothing. A check that
 * answers itself (idempotency replaying a stored response) returns the reply it sent.
 */
export type Check = (request: FastifyRequest, reply: FastifyReply) => void | Promise<unknown>;

/** Services the checks use, built once per gateway. */
export interface CheckDeps {
  readonly config: Config;
  /** Where this listener's client certificates come from: the TLS handshake, or the ingress header (SPEC §3). */
  readonly certificates: CertificateSource;
  /** RFC 7662 introspection (SPEC §1 rows 4–8); present whenever `introspection` is configured. */
  readonly introspection?: Introspector | undefined;
  /** The bank's consent service, when `introspection.consentLookup` is configured (SPEC §1 row 7). */
  readonly consents?: ConsentLookup | undefined;
  /** OFB Directory key sets (SPEC §2); present when a route has `jws.request`. */
  readonly directory?: DirectoryJwks;
  /** Replay and idempotency store (SPEC §5); present when a route has `jws.request` or `idempotency`. */
  readonly replayStore?: ReplayStore;
  /** SPEC §10 traffic-limit counters; present when a limit is configured. */
  readonly limits?: LimitRuntime | undefined;
  /** Where the limit checks count their refusals and store errors (none in some tests). */
  readonly metrics?: GatewayMetrics | undefined;
}

export interface CheckDefinition {
  /** Stable name, used in logs and metrics ("failed check"). */
  readonly name: string;
  /**
   * `headers` checks run in `onRequest`, before the body is read (a refused request never
   * uploads its body); `body` checks run once the body is buffered.
   */
  readonly phase: 'headers' | 'body';
  /**
   * What this check needs from the configuration, checked once when it loads (src/config/load.ts
   * runs every check's rules, in registry order, and names the file, line and key of the first
   * problem). Absent when the check needs nothing beyond the schema.
   */
  validate?(route: Route, config: Config): readonly ConfigProblem[];
  /** Settings that load but deserve a look (logged at start), one sentence each; after `validate`. */
  warnings?(route: Route, config: Config): readonly string[];
  /**
   * Return the check, or undefined when it does not apply to the route. The configuration has
   * passed `validate`: what it guarantees is not checked again here.
   */
  create(route: Route, deps: CheckDeps): Check | undefined;
  /**
   * Hooks a check needs after its verdict (idempotency stores the answer when it is sent and frees
   * its key when the request ends), so that one rule lives in one file.
   */
  hooks?(route: Route): CheckHooks | undefined;
}

/** Per-route hooks a check owns; `onSend` runs before response signing, on the upstream's payload. */
export interface CheckHooks {
  readonly onSend?: onSendHookHandler;
  readonly onResponse?: onResponseHookHandler | onResponseAsyncHookHandler;
}

/**
 * A section or service that a check's `validate` guarantees once the configuration loaded
 * (services.ts builds each service for every route that needs it). Absent means the gateway was
 * wired wrongly — a bug, not a configuration error — so this names no key and states no rule.
 */
export function ensured<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new TypeError(`${what} is missing although the configuration was validated (a wiring bug)`);
  return value;
}
