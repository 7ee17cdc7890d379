/**
 * The GatewayError catalogue: every refusal the gateway makes, as the OFB `ResponseError` body.
 *
 * The catalogue is data (`REFUSALS`: internal code → status, OFB code, title, WWW-Authenticate
 * error); one base class carries an entry plus a public `detail` an integrator can act on (never a
 * token, a secret or a stack) and an internal `cause` that only goes to the logs. The subclasses are
 * thin names for the entries, kept so call sites read as the failure they report.
 */

import { REFUSALS, type BearerError, type InternalCode, type OAuthError, type OfbErrorCode, type Refusal } from './refusal-catalogue.js';

export { REFUSALS, type BearerError, type InternalCode, type OAuthError, type OfbErrorCode, type Refusal };

export interface GatewayErrorOptions {
  /** Internal cause: logged, never sent to the client. */
  cause?: unknown;
  /** Scopes for `insufficient_scope` (RFC 6750 §3). */
  scope?: string;
  /** Extra response headers (e.g. `Allow` on 405). */
  headers?: Record<string, string>;
}

/**
 * Base class of every refusal: `new GatewayError('TOKEN_INVALID', 'the access token is not active')`.
 * Status, OFB code, title and `WWW-Authenticate` error come from the catalogue; at status ≥ 500 so
 * does the detail.
 */
export class GatewayError extends Error {
  /** The catalogue key: unique per failure family, never sent to the client. */
  readonly internalCode: InternalCode;
  readonly statusCode: number;
  /** The OFB `code` sent to the client; undefined on registration refusals (`oauthError`). */
  readonly code: OfbErrorCode | undefined;
  readonly title: string | undefined;
  /** RFC 7591 `error` of a registration refusal (SPEC §9): the body is then `{error, error_description}`. */
  readonly oauthError: OAuthError | undefined;
  readonly detail: string;
  readonly bearerError: BearerError | undefined;
  readonly scope: string | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(internalCode: InternalCode, detail?: string, options: GatewayErrorOptions = {}) {
    const entry: Refusal = REFUSALS[internalCode];
    const text = entry.status >= 500 || detail === undefined ? entry.detail : detail;
    if (text === undefined) throw new TypeError(`GatewayError ${internalCode} needs a detail`);
    super(text, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.internalCode = internalCode;
    this.statusCode = entry.status;
    this.code = entry.ofbCode;
    this.title = entry.title;
    this.detail = text;
    this.bearerError = entry.bearerError;
    this.oauthError = entry.oauthError;
    this.scope = options.scope;
    this.headers = options.headers;
  }
}

/** SPEC §1 row 0: no route for this path (or method). */
export class RouteNotFoundError extends GatewayError {
  constructor(detail?: string) {
    super('ROUTE_NOT_FOUND', detail);
  }
}

/** SPEC §1 row 0: the path exists for other methods → 405 with `Allow`. */
export class MethodNotAllowedError extends GatewayError {
  constructor(allowed: readonly string[]) {
    super('METHOD_NOT_ALLOWED', undefined, { headers: { allow: allowed.join(', ') } });
  }
}

/** Malformed request input: 400 PARAMETRO_INVALIDO (SPEC §1 row 1, §4 request hygiene). */
export class InvalidParameterError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super('REQUEST_MALFORMED', detail, options);
  }
}

/** SPEC §1 row 2: the client certificate is missing or not acceptable → 401 INVALID_CLIENT. */
export class ClientCertificateError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super('CLIENT_CERTIFICATE_INVALID', detail, options);
  }
}

/**
 * SPEC §1 row 3 — no usable access token: none in the Authorization header, more than one, a
 * malformed one, or one offered where FAPI forbids it (query string, form body) → 401 UNAUTHORIZED
 * with `WWW-Authenticate: Bearer error="invalid_request"` (RFC 6750 §3.1).
 */
export class InvalidTokenRequestError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super('TOKEN_MISSING', detail, options);
  }
}

/**
 * SPEC §1 rows 4, 5 and 7 — the token is inactive, expired, not bound to this client certificate,
 * or its consent is not usable → 401 UNAUTHORIZED, `Bearer error="invalid_token"` (RFC 6750 §3.1).
 */
export class InvalidTokenError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super('TOKEN_INVALID', detail, options);
  }
}

/** SPEC §1 row 6 — the token lacks a scope the route requires → 403, `Bearer error="insufficient_scope", scope="..."`. */
export class InsufficientScopeError extends GatewayError {
  constructor(detail: string, requiredScope: string, options?: GatewayErrorOptions) {
    super('SCOPE_INSUFFICIENT', detail, { ...options, scope: requiredScope });
  }
}

/** SPEC §1 rows 7–8 — another client's consent, or a permission the consent does not grant → 403 FORBIDDEN. */
export class ForbiddenError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super('CONSENT_FORBIDDEN', detail, options);
  }
}

/** SPEC §2: the JWS body cannot be trusted (unparseable, a JOSE header rule broken, unknown kid, bad signature) → 400 BAD_SIGNATURE. */
export class BadSignatureError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super('JWS_BAD_SIGNATURE', detail, options);
  }
}

/** SPEC §2: a JWS claim (aud, iss, iat, jti) is wrong or the jti was already used → 403 INVALID_CLIENT. */
export class InvalidClientError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super('JWS_CLAIM_INVALID', detail, options);
  }
}

/** SPEC §1 row 10: a required parameter (x-idempotency-key) is missing → 422 PARAMETRO_NAO_INFORMADO. */
export class MissingParameterError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super('IDEMPOTENCY_KEY_MISSING', detail, options);
  }
}

/** SPEC §1 row 10: a parameter (x-idempotency-key) is malformed → 422 PARAMETRO_INVALIDO. */
export class UnprocessableParameterError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super('IDEMPOTENCY_KEY_INVALID', detail, options);
  }
}

/** SPEC §1 row 10: the x-idempotency-key was used with a different `data` → 422 ERRO_IDEMPOTENCIA. */
export class IdempotencyError extends GatewayError {
  constructor(detail?: string, options?: GatewayErrorOptions) {
    super('IDEMPOTENCY_DATA_MISMATCH', detail, options);
  }
}

/**
 * SPEC §1 row 10: a request with this x-idempotency-key is still being processed → 409 (IETF
 * draft-ietf-httpapi-idempotency-key-header §2.6), never forwarded a second time.
 */
export class IdempotencyConflictError extends GatewayError {
  constructor() {
    super('IDEMPOTENCY_IN_PROGRESS', undefined, { headers: { 'retry-after': '1' } });
  }
}

/** Request headers too large for the listener (Node's byte limit, or too many fields → 431). */
export class HeadersTooLargeError extends GatewayError {
  constructor(detail?: string) {
    super('HEADERS_TOO_LARGE', detail);
  }
}

/** SPEC §4 Connections: the request's headers (headersTimeoutMs) or body (the route's timeoutMs) came too slowly → 408. */
export class RequestTimeoutError extends GatewayError {
  constructor(detail?: string) {
    super('REQUEST_TIMEOUT', detail);
  }
}

/** The body is larger than `server.bodyLimit` → 413. */
export class PayloadTooLargeError extends GatewayError {
  constructor() {
    super('PAYLOAD_TOO_LARGE');
  }
}

/** SPEC §2: a signed route's body is not `application/jwt`; or a content type Fastify cannot parse → 415. */
export class UnsupportedMediaTypeError extends GatewayError {
  constructor(detail: string) {
    super('MEDIA_TYPE_UNSUPPORTED', detail);
  }
}

/** An `Expect` other than `100-continue` (RFC 9110 §10.1.1) → 417, in the OFB shape rather than Node's bare answer. */
export class ExpectationFailedError extends GatewayError {
  constructor() {
    super('EXPECTATION_FAILED');
  }
}

/** SPEC §4: the upstream refused or reset the connection → 502. */
export class BadGatewayError extends GatewayError {
  constructor(options?: GatewayErrorOptions) {
    super('UPSTREAM_UNREACHABLE', undefined, options);
  }
}

/** SPEC §4: the upstream did not answer within the route's `timeoutMs` → 504. */
export class GatewayTimeoutError extends GatewayError {
  constructor(options?: GatewayErrorOptions) {
    super('UPSTREAM_TIMEOUT', undefined, options);
  }
}

/** SPEC §5 fail closed: a dependency (introspection, directory, replay store) is unavailable → 503. */
export class ServiceUnavailableError extends GatewayError {
  constructor(options?: GatewayErrorOptions) {
    super('SERVICE_UNAVAILABLE', undefined, options);
  }
}

/** SPEC §9 rows 1, 6, 8, 10: the registration body or its metadata break the OFB DCR profile → 400 `invalid_client_metadata`. */
export class InvalidClientMetadataError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super('DCR_CLIENT_METADATA_INVALID', detail, options);
  }
}

/** SPEC §9 rows 2–5: the software statement is missing, not Directory-signed, stale, or another client's → 400 `invalid_software_statement`. */
export class InvalidSoftwareStatementError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super('DCR_SOFTWARE_STATEMENT_INVALID', detail, options);
  }
}

/** SPEC §9 row 7: `redirect_uris` missing, empty, or not the software statement's → 400 `invalid_redirect_uri`. */
export class InvalidRedirectUriError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super('DCR_REDIRECT_URI_INVALID', detail, options);
  }
}

/** SPEC §9 row 9: a `webhook_uris` entry the software statement does not list → 400 `invalid_webhook_uris`. */
export class InvalidWebhookUrisError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super('DCR_WEBHOOK_URIS_INVALID', detail, options);
  }
}

/** SPEC §9: the Directory's SSA key set is unreachable and no usable key is cached → 503 `temporarily_unavailable`. */
export class RegistrationUnavailableError extends GatewayError {
  constructor(options?: GatewayErrorOptions) {
    super('DCR_DIRECTORY_UNAVAILABLE', undefined, options);
  }
}

/** SPEC §10: over a per-minute limit → 429 with `Retry-After`, seconds to the next UTC minute. */
export class PerMinuteLimitError extends GatewayError {
  constructor(retryAfterSeconds: number, detail?: string) {
    super('LIMIT_PER_MINUTE', detail, { headers: { 'retry-after': String(retryAfterSeconds) } });
  }
}

/** SPEC §10: the monthly call limit was reached → 423 with `Retry-After`, seconds to the next UTC month. */
export class MonthlyLimitError extends GatewayError {
  constructor(retryAfterSeconds: number, detail?: string) {
    super('LIMIT_PER_CONSENT_MONTH', detail, { headers: { 'retry-after': String(retryAfterSeconds) } });
  }
}

/** SPEC §10: over the global per-second limit → 529 with `Retry-After: 1`. */
export class GlobalLimitError extends GatewayError {
  constructor(retryAfterSeconds: number) {
    super('LIMIT_GLOBAL', undefined, { headers: { 'retry-after': String(retryAfterSeconds) } });
  }
}

/** SPEC §10 with `limits.onStoreError: refuse`: the counters cannot be read → 503, not forwarded. */
export class LimitStoreUnavailableError extends GatewayError {
  constructor(options?: GatewayErrorOptions) {
    super('LIMIT_STORE_UNAVAILABLE', undefined, options);
  }
}

/** Anything unexpected: 500 with a fixed sentence; the cause only goes to the logs. */
export class InternalError extends GatewayError {
  constructor(options?: GatewayErrorOptions) {
    super('INTERNAL_ERROR', undefined, options);
  }
}

/**
 * The answer's body: the RFC 7591 §3.2.2 `{error, error_description}` for a registration refusal
 * (SPEC §9), else the OFB ResponseError body.
 */
export function errorBody(error: GatewayError, now: Date = new Date()): string {
  if (error.oauthError !== undefined) return JSON.stringify({ error: error.oauthError, error_description: error.detail });
  return ofbErrorBody(error, now);
}

/** The `Content-Type` of {@link errorBody}'s answer. */
export function errorContentType(error: GatewayError): string {
  return error.oauthError !== undefined ? 'application/json' : 'application/json; charset=utf-8';
}

/** The OFB ResponseError body (SPEC §1): `meta.requestDateTime` is RFC 3339 UTC to the second. */
function ofbErrorBody(error: GatewayError, now: Date): string {
  return JSON.stringify({
    errors: [{ code: error.code, title: error.title, detail: error.detail }],
    meta: { requestDateTime: rfc3339Seconds(now) },
  });
}

/** `2026-11-22T12:00:00Z`: RFC 3339, UTC, whole seconds. */
export function rfc3339Seconds(date: Date): string {
  return date.toISOString().slice(0, 19) + 'Z';
}

/** RFC 6750 §3 `WWW-Authenticate` value for a token error, or undefined when not a token error. */
export function wwwAuthenticate(error: GatewayError): string | undefined {
  if (error.bearerError === undefined) return undefined;
  const scope = error.scope === undefined ? '' : `, scope="${error.scope}"`;
  return `Bearer error="${error.bearerError}"${scope}`;
}
