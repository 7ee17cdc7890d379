/**
 * What the pipeline learns about one request, kept on `request.ofb` (one stable shape per request,
 * fastify `decorateRequest` style). Checks fill it in; the forwarder turns it into upstream headers.
 */
import type { ClientIdentity } from './tls/identity.js';
import type { Route } from './config/load.js';

/** A stored 2xx response replayed for a repeated x-idempotency-key (SPEC §1 row 10). */
export interface StoredResponse {
  readonly statusCode: number;
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

/** What the idempotency check (SPEC §1 row 10) leaves for the forwarder: store or release its lock. */
export interface IdempotencyHandle {
  /** Store the upstream response (2xx only) for replays; any other status releases the key. */
  settle(statusCode: number, contentType: string | undefined, body: Buffer): Promise<void>;
  /** Release the in-progress lock without storing (upstream error, refused response). */
  release(): Promise<void>;
}

export class OfbContext {
  /** The request's own x-fapi-interaction-id when valid, else a fresh UUID v4 (SPEC §1 row 1). */
  interactionId: string;
  /** Whether the client sent a valid x-fapi-interaction-id. */
  readonly interactionIdValid: boolean;
  /** The matched route (undefined on 404/405). */
  route: Route | undefined = undefined;
  /** Verified client certificate identity (SPEC §3), when one was presented and verified. */
  identity: ClientIdentity | undefined = undefined;
  /** DER of the verified client certificate. */
  certificateDer: Buffer | undefined = undefined;
  /** Name of the check that refused the request (logs, metrics). */
  failedCheck: string | undefined = undefined;
  /** OAuth client id of the access token (SPEC §1 rows 3–5). */
  clientId: string | undefined = undefined;
  /** Space-separated scope of the access token. */
  scope: string | undefined = undefined;
  /** Consent id from the token scope (SPEC §1 row 7). */
  consentId: string | undefined = undefined;
  /** `jti` of the verified JWS request body (SPEC §2), sent upstream as x-jws-jti. */
  jwsJti: string | undefined = undefined;
  /** Decoded payload of the verified JWS request body (SPEC §2; `jws.forward: json`, idempotency). */
  jwsPayload: Record<string, unknown> | undefined = undefined;
  /** Set while this request holds an idempotency key (SPEC §1 row 10). */
  idempotency: IdempotencyHandle | undefined = undefined;
  /** Set when the idempotency check found this request's stored response: answered instead of forwarded. */
  storedResponse: StoredResponse | undefined = undefined;

  constructor(interactionId: string, interactionIdValid: boolean) {
    this.interactionId = interactionId;
    this.interactionIdValid = interactionIdValid;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    ofb: OfbContext;
  }
}
