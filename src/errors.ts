/**
 * The GatewayError catalogue: every refusal the gateway makes, as the OFB `ResponseError` body.
 *
 * One base class with the HTTP status, the OFB `code`, a public `detail` an integrator can act on
 * (never a token, a secret or a stack) and an internal `cause` that only goes to the logs.
 */

/** OFB error codes used by the gateway (OFB API specs, ResponseError.code). */
export type OfbErrorCode =
  | 'NAO_ENCONTRADO'
  | 'METODO_NAO_PERMITIDO'
  | 'PARAMETRO_INVALIDO'
  | 'PARAMETRO_NAO_INFORMADO'
  | 'INVALID_CLIENT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'BAD_SIGNATURE'
  | 'ERRO_IDEMPOTENCIA'
  | 'CONTEUDO_NAO_SUPORTADO'
  | 'PAYLOAD_MUITO_GRANDE'
  | 'CABECALHOS_MUITO_GRANDES'
  | 'TEMPO_ESGOTADO'
  | 'BAD_GATEWAY'
  | 'GATEWAY_TIMEOUT'
  | 'SERVICE_UNAVAILABLE'
  | 'ERRO_INTERNO';

/** RFC 6750 §3.1 error values for `WWW-Authenticate: Bearer error="..."`. */
export type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

export interface GatewayErrorOptions {
  /** Internal cause: logged, never sent to the client. */
  cause?: unknown;
  /** RFC 6750 `WWW-Authenticate` error to add on 401/403 token errors. */
  bearerError?: BearerError;
  /** Scopes for `insufficient_scope` (RFC 6750 §3). */
  scope?: string;
  /** Extra response headers (e.g. `Allow` on 405). */
  headers?: Record<string, string>;
}

/** Base class of every refusal; `check` names the pipeline step that refused (for logs and metrics). */
export class GatewayError extends Error {
  readonly statusCode: number;
  readonly code: OfbErrorCode;
  readonly title: string;
  readonly detail: string;
  readonly bearerError: BearerError | undefined;
  readonly scope: string | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(statusCode: number, code: OfbErrorCode, title: string, detail: string, options: GatewayErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.statusCode = statusCode;
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.bearerError = options.bearerError;
    this.scope = options.scope;
    this.headers = options.headers;
  }
}

/** SPEC §1 row 0: no route for this path (or method). */
export class RouteNotFoundError extends GatewayError {
  constructor(detail = 'no route is configured for this path') {
    super(404, 'NAO_ENCONTRADO', 'Recurso não encontrado', detail);
  }
}

export class MethodNotAllowedError extends GatewayError {
  constructor(allowed: readonly string[]) {
    super(405, 'METODO_NAO_PERMITIDO', 'Método não permitido', 'this path does not accept this HTTP method', {
      headers: { allow: allowed.join(', ') },
    });
  }
}

/** Malformed request input: 400 PARAMETRO_INVALIDO (SPEC §1 row 1, path hygiene). */
export class InvalidParameterError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super(400, 'PARAMETRO_INVALIDO', 'Parâmetro inválido', detail, options);
  }
}

/** SPEC §1 row 2: the client certificate is missing or not acceptable → 401 INVALID_CLIENT. */
export class ClientCertificateError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super(401, 'INVALID_CLIENT', 'Certificado de cliente inválido', detail, options);
  }
}

/**
 * SPEC §1 row 3 — no usable access token: none in the Authorization header, more than one, a
 * malformed one, or one offered where FAPI forbids it (query string, form body) → 401 UNAUTHORIZED
 * with `WWW-Authenticate: Bearer error="invalid_request"` (RFC 6750 §3.1).
 */
export class InvalidTokenRequestError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super(401, 'UNAUTHORIZED', 'Não autorizado', detail, { ...options, bearerError: 'invalid_request' });
  }
}

/**
 * SPEC §1 rows 4, 5 and 7 — the token is inactive, expired, not bound to this client certificate,
 * or its consent is not usable → 401 UNAUTHORIZED, `Bearer error="invalid_token"` (RFC 6750 §3.1).
 */
export class InvalidTokenError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super(401, 'UNAUTHORIZED', 'Não autorizado', detail, { ...options, bearerError: 'invalid_token' });
  }
}

/** SPEC §1 row 6 — the token lacks a scope the route requires → 403, `Bearer error="insufficient_scope", scope="..."`. */
export class InsufficientScopeError extends GatewayError {
  constructor(detail: string, requiredScope: string, options?: GatewayErrorOptions) {
    super(403, 'FORBIDDEN', 'Acesso negado', detail, { ...options, bearerError: 'insufficient_scope', scope: requiredScope });
  }
}

/** SPEC §1 rows 7–8 — another client's consent, or a permission the consent does not grant → 403 FORBIDDEN. */
export class ForbiddenError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super(403, 'FORBIDDEN', 'Acesso negado', detail, options);
  }
}

/** SPEC §2: the JWS body cannot be trusted (unparseable, a JOSE header rule broken, unknown kid, bad signature) → 400 BAD_SIGNATURE. */
export class BadSignatureError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super(400, 'BAD_SIGNATURE', 'Assinatura inválida', detail, options);
  }
}

/** SPEC §2: a JWS claim (aud, iss, iat, jti) is wrong or the jti was already used → 403 INVALID_CLIENT. */
export class InvalidClientError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super(403, 'INVALID_CLIENT', 'Cliente inválido', detail, options);
  }
}

/** SPEC §1 row 10: a required parameter (x-idempotency-key) is missing → 422 PARAMETRO_NAO_INFORMADO. */
export class MissingParameterError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super(422, 'PARAMETRO_NAO_INFORMADO', 'Parâmetro não informado', detail, options);
  }
}

/** SPEC §1 row 10: a parameter (x-idempotency-key) is malformed → 422 PARAMETRO_INVALIDO. */
export class UnprocessableParameterError extends GatewayError {
  constructor(detail: string, options?: GatewayErrorOptions) {
    super(422, 'PARAMETRO_INVALIDO', 'Parâmetro inválido', detail, options);
  }
}

/** SPEC §1 row 10: the x-idempotency-key was used with a different `data` → 422 ERRO_IDEMPOTENCIA. */
export class IdempotencyError extends GatewayError {
  constructor(detail = 'the message content (claim data) differs from the content stored under this x-idempotency-key', options?: GatewayErrorOptions) {
    super(422, 'ERRO_IDEMPOTENCIA', 'Erro de idempotência', detail, options);
  }
}

/**
 * SPEC §1 row 10: a request with this x-idempotency-key is still being processed → 409 (IETF
 * draft-ietf-httpapi-idempotency-key-header §2.6), never forwarded a second time.
 */
export class IdempotencyConflictError extends GatewayError {
  constructor() {
    super(409, 'ERRO_IDEMPOTENCIA', 'Requisição em processamento', 'a request with this x-idempotency-key is still being processed; retry later', {
      headers: { 'retry-after': '1' },
    });
  }
}

/** Request too large for the listener (Node's header limit → 431). */
export class HeadersTooLargeError extends GatewayError {
  constructor() {
    super(431, 'CABECALHOS_MUITO_GRANDES', 'Cabeçalhos muito grandes', 'the request headers exceed the size limit');
  }
}

/** SPEC §4 Connections: the request's headers (headersTimeoutMs) or body (the route's timeoutMs) came too slowly → 408. */
export class RequestTimeoutError extends GatewayError {
  constructor(detail = 'the request was not received in time') {
    super(408, 'TEMPO_ESGOTADO', 'Tempo esgotado', detail);
  }
}

export class PayloadTooLargeError extends GatewayError {
  constructor() {
    super(413, 'PAYLOAD_MUITO_GRANDE', 'Payload muito grande', 'the request body exceeds the size limit');
  }
}

export class UnsupportedMediaTypeError extends GatewayError {
  constructor(detail: string) {
    super(415, 'CONTEUDO_NAO_SUPORTADO', 'Tipo de conteúdo não suportado', detail);
  }
}

/** SPEC §4: the upstream refused or reset the connection → 502. */
export class BadGatewayError extends GatewayError {
  constructor(options?: GatewayErrorOptions) {
    super(502, 'BAD_GATEWAY', 'Bad gateway', 'the upstream service could not be reached', options);
  }
}

/** SPEC §4: the upstream did not answer within the route's `timeoutMs` → 504. */
export class GatewayTimeoutError extends GatewayError {
  constructor(options?: GatewayErrorOptions) {
    super(504, 'GATEWAY_TIMEOUT', 'Gateway timeout', 'the upstream service did not answer in time', options);
  }
}

/** SPEC §5 fail closed: a dependency (introspection, directory, replay store) is unavailable → 503. */
export class ServiceUnavailableError extends GatewayError {
  constructor(options?: GatewayErrorOptions) {
    super(503, 'SERVICE_UNAVAILABLE', 'Serviço indisponível', 'a service the gateway depends on is unavailable; try again later', options);
  }
}

/** Anything unexpected: 500 with a fixed sentence; the cause only goes to the logs. */
export class InternalError extends GatewayError {
  constructor(options?: GatewayErrorOptions) {
    super(500, 'ERRO_INTERNO', 'Erro interno', 'the gateway could not process the request', options);
  }
}

/** The OFB ResponseError body (SPEC §1): `meta.requestDateTime` is RFC 3339 UTC to the second. */
export function errorBody(error: GatewayError, now: Date = new Date()): string {
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
