/**
 * What the pipeline learns about one request, kept on `request.ofb` (one stable shape per request,
 * fastify `decorateRequest` style). Checks fill it in; the forwarder turns it into upstream headers.
 */
import { performance } from 'node:perf_hooks';
import type { ClientIdentity } from './tls/identity.js';
import type { Route } from './config/load.js';
import type { TokenInfo } from './clients/introspection.js';
import type { ConsentRecord } from './clients/consent-lookup.js';
import type { IdempotencyHandle } from './checks/idempotency.js';
import type { CertificateNames } from './tls/client-certificate.js';
import { findEndpoint, type EndpointMatch } from './ofb/catalogue.js';
import type { MonthlyReservation } from './limits/per-consent-month.js';

export class OfbContext {
  /** The request's own x-fapi-interaction-id when valid, else a fresh UUID v4 (SPEC §1 row 1). */
  interactionId: string;
  /** Whether the client sent a valid x-fapi-interaction-id. */
  readonly interactionIdValid: boolean;
  /** The canonical request path, without the query (SPEC §4 hygiene); undefined when refused as ambiguous. */
  path: string | undefined = undefined;
  /** The matched route (undefined on 404/405). */
  route: Route | undefined = undefined;
  /** Verified client certificate identity (SPEC §3), when one was presented and verified. */
  identity: ClientIdentity | undefined = undefined;
  /** DER of the verified client certificate. */
  certificateDer: Buffer | undefined = undefined;
  /** Subject, issuer and serial of a presented certificate that was refused (logs only, SPEC §7). */
  refusedCertificate: CertificateNames | undefined = undefined;
  /** Name of the check that refused the request (logs, metrics). */
  failedCheck: string | undefined = undefined;
  /** OAuth client id of the access token (SPEC §1 rows 3–5). */
  clientId: string | undefined = undefined;
  /** Space-separated scope of the access token. */
  scope: string | undefined = undefined;
  /** Consent id from the token scope (SPEC §1 row 7). */
  consentId: string | undefined = undefined;
  /** Internal catalogue code of the gateway's refusal, if any (logs, metrics: unique per failure). */
  errorCode: string | undefined = undefined;
  /** The public `detail` of the gateway's refusal, as sent to the client (logs). */
  errorDetail: string | undefined = undefined;
  /** Date.now() and performance.now() when the request's headers were read (PCM `timestamp`, `processTimespan`). */
  readonly arrivedAt = Date.now();
  readonly startedAt = performance.now();
  /** performance.now() when the request was handed to the upstream. */
  forwardedAt = 0;
  /** Milliseconds until the upstream's response headers arrived. */
  upstreamMs: number | undefined = undefined;
  /** Introspection of the access token (SPEC §1 row 4); on a cache hit, the cached frozen object. */
  token: TokenInfo | undefined = undefined;
  /** The token's consent, once the consent check has read it (SPEC §1 rows 7–8). */
  consent: ConsentRecord | undefined = undefined;
  /** The raw access token: a private field, so serialising or logging the context never shows it. */
  #accessToken: string | undefined = undefined;
  /** `jti` of the verified JWS request body (SPEC §2), sent upstream as x-jws-jti. */
  jwsJti: string | undefined = undefined;
  /** Decoded payload of the verified JWS request body (SPEC §2; `jws.forward: json`, idempotency). */
  jwsPayload: Record<string, unknown> | undefined = undefined;
  /** The registration request passed the DCR guard (SPEC §9): sent upstream as x-dcr-verified. */
  dcrVerified = false;
  /** Set while this request holds an idempotency key (SPEC §1 row 10). */
  idempotency: IdempotencyHandle | undefined = undefined;
  /** Set while this request holds a call of a monthly limit, until its answer is known (SPEC §10). */
  monthlyReservation: MonthlyReservation | undefined = undefined;
  /** The catalogue row of the canonical path: null when none, undefined until first asked. */
  #endpoint: EndpointMatch | null | undefined = undefined;

  constructor(interactionId: string, interactionIdValid: boolean) {
    this.interactionId = interactionId;
    this.interactionIdValid = interactionIdValid;
  }

  /**
   * The OFB catalogue endpoint this request calls (src/ofb/catalogue.ts), looked up once: the
   * permission check (SPEC §1 row 8), the limits (§10) and the PCM report (§11) all ask. Undefined
   * outside the catalogue, and for a request refused before it had a canonical path.
   */
  endpoint(method: string): EndpointMatch | undefined {
    if (this.#endpoint === undefined) this.#endpoint = this.path === undefined ? null : (findEndpoint(method, this.path) ?? null);
    return this.#endpoint ?? undefined;
  }

  /** The bearer token of the request (SPEC §1 row 3); never log it. */
  get accessToken(): string | undefined {
    return this.#accessToken;
  }

  set accessToken(token: string | undefined) {
    this.#accessToken = token;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    ofb: OfbContext;
  }
}
