/**
 * The refusal catalogue as data: internal code → status, OFB code, title, default detail and
 * `WWW-Authenticate` error. src/errors.ts builds every GatewayError from it; docs/refusals.md
 * documents each entry and test/errors.test.ts keeps the two in step.
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
  | 'ERRO_INTERNO'
  // SPEC §10: the OFB specs name these statuses (OAPI TooManyRequests, Locked, SiteIsOverloaded) but no code.
  | 'TOO_MANY_REQUESTS'
  | 'LOCKED'
  | 'SITE_IS_OVERLOADED';

/** RFC 6750 §3.1 error values for `WWW-Authenticate: Bearer error="..."`. */
export type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/**
 * RFC 7591 §3.2.2 registration errors (OFB DCR swagger adds `invalid_webhook_uris`), plus RFC 6749
 * §4.1.2.1's `temporarily_unavailable` for an outage: the `error` of a registration refusal.
 */
export type OAuthError = 'invalid_client_metadata' | 'invalid_software_statement' | 'invalid_redirect_uri' | 'invalid_webhook_uris' | 'temporarily_unavailable';

/** One refusal of the catalogue: what the client sees. */
export type Refusal = OfbRefusal | OAuthRefusal;

/** A refusal answered with the OFB `ResponseError` body (SPEC §1). */
export interface OfbRefusal {
  /** HTTP status, 4xx or 5xx. */
  readonly status: number;
  /** The OFB `ResponseError.code`; several refusals may share one (the SPEC fixes them). */
  readonly ofbCode: OfbErrorCode;
  /** The OFB `ResponseError.title`. */
  readonly title: string;
  /**
   * The public detail when the caller gives none. At status ≥ 500 it is the only detail ever sent
   * (STYLE.md, Errors: a fixed sentence, whatever went wrong inside).
   */
  readonly detail?: string;
  /** RFC 6750 `WWW-Authenticate: Bearer error=...`, only on 401/403 token refusals. */
  readonly bearerError?: BearerError;
  readonly oauthError?: never;
}

/**
 * A registration refusal (SPEC §9, `dcr` routes), answered with the RFC 7591 §3.2.2 body
 * `{"error": ..., "error_description": ...}` instead: OAuth clients read `error`, not `errors[0].code`.
 */
export interface OAuthRefusal {
  readonly status: number;
  /** The RFC 7591 `error`. */
  readonly oauthError: OAuthError;
  /** The `error_description` when the caller gives none; at status ≥ 500 the only one ever sent. */
  readonly detail?: string;
  readonly ofbCode?: never;
  readonly title?: never;
  readonly bearerError?: never;
}

/**
 * Every refusal the gateway makes, by internal code. The internal code is unique per failure family
 * (so logs and metrics can tell failures apart); the OFB `code` is what the SPEC fixes for the client, and is
 * shared (`UNAUTHORIZED`, `INVALID_CLIENT`, `PARAMETRO_INVALIDO` ... each answer several failures).
 * docs/refusals.md documents each entry; test/errors.test.ts keeps the two in step.
 */
export const REFUSALS = {
  ROUTE_NOT_FOUND: { status: 404, ofbCode: 'NAO_ENCONTRADO', title: 'Recurso não encontrado', detail: 'no route is configured for this path' },
  METHOD_NOT_ALLOWED: { status: 405, ofbCode: 'METODO_NAO_PERMITIDO', title: 'Método não permitido', detail: 'this path does not accept this HTTP method' },
  REQUEST_MALFORMED: { status: 400, ofbCode: 'PARAMETRO_INVALIDO', title: 'Parâmetro inválido' },
  CLIENT_CERTIFICATE_INVALID: { status: 401, ofbCode: 'INVALID_CLIENT', title: 'Certificado de cliente inválido' },
  TOKEN_MISSING: { status: 401, ofbCode: 'UNAUTHORIZED', title: 'Não autorizado', bearerError: 'invalid_request' },
  TOKEN_INVALID: { status: 401, ofbCode: 'UNAUTHORIZED', title: 'Não autorizado', bearerError: 'invalid_token' },
  SCOPE_INSUFFICIENT: { status: 403, ofbCode: 'FORBIDDEN', title: 'Acesso negado', bearerError: 'insufficient_scope' },
  CONSENT_FORBIDDEN: { status: 403, ofbCode: 'FORBIDDEN', title: 'Acesso negado' },
  JWS_BAD_SIGNATURE: { status: 400, ofbCode: 'BAD_SIGNATURE', title: 'Assinatura inválida' },
  JWS_CLAIM_INVALID: { status: 403, ofbCode: 'INVALID_CLIENT', title: 'Cliente inválido' },
  IDEMPOTENCY_KEY_MISSING: { status: 422, ofbCode: 'PARAMETRO_NAO_INFORMADO', title: 'Parâmetro não informado' },
  IDEMPOTENCY_KEY_INVALID: { status: 422, ofbCode: 'PARAMETRO_INVALIDO', title: 'Parâmetro inválido' },
  IDEMPOTENCY_DATA_MISMATCH: {
    status: 422,
    ofbCode: 'ERRO_IDEMPOTENCIA',
    title: 'Erro de idempotência',
    detail: 'the message content (claim data) differs from the content stored under this x-idempotency-key',
  },
  IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    ofbCode: 'ERRO_IDEMPOTENCIA',
    title: 'Requisição em processamento',
    detail: 'a request with this x-idempotency-key is still being processed; retry later',
  },
  REQUEST_TIMEOUT: { status: 408, ofbCode: 'TEMPO_ESGOTADO', title: 'Tempo esgotado', detail: 'the request was not received in time' },
  PAYLOAD_TOO_LARGE: { status: 413, ofbCode: 'PAYLOAD_MUITO_GRANDE', title: 'Payload muito grande', detail: 'the request body exceeds the size limit' },
  MEDIA_TYPE_UNSUPPORTED: { status: 415, ofbCode: 'CONTEUDO_NAO_SUPORTADO', title: 'Tipo de conteúdo não suportado' },
  EXPECTATION_FAILED: { status: 417, ofbCode: 'PARAMETRO_INVALIDO', title: 'Expectativa não suportada', detail: 'only Expect: 100-continue is supported' },
  HEADERS_TOO_LARGE: { status: 431, ofbCode: 'CABECALHOS_MUITO_GRANDES', title: 'Cabeçalhos muito grandes', detail: 'the request headers exceed the size limit' },
  INTERNAL_ERROR: { status: 500, ofbCode: 'ERRO_INTERNO', title: 'Erro interno', detail: 'the gateway could not process the request' },
  UPSTREAM_UNREACHABLE: { status: 502, ofbCode: 'BAD_GATEWAY', title: 'Bad gateway', detail: 'the upstream service could not be reached' },
  SERVICE_UNAVAILABLE: {
    status: 503,
    ofbCode: 'SERVICE_UNAVAILABLE',
    title: 'Serviço indisponível',
    detail: 'a service the gateway depends on is unavailable; try again later',
  },
  UPSTREAM_TIMEOUT: { status: 504, ofbCode: 'GATEWAY_TIMEOUT', title: 'Gateway timeout', detail: 'the upstream service did not answer in time' },
  // SPEC §9, DCR guard: RFC 7591 §3.2.2 bodies.
  DCR_CLIENT_METADATA_INVALID: { status: 400, oauthError: 'invalid_client_metadata' },
  DCR_SOFTWARE_STATEMENT_INVALID: { status: 400, oauthError: 'invalid_software_statement' },
  DCR_REDIRECT_URI_INVALID: { status: 400, oauthError: 'invalid_redirect_uri' },
  DCR_WEBHOOK_URIS_INVALID: { status: 400, oauthError: 'invalid_webhook_uris' },
  DCR_DIRECTORY_UNAVAILABLE: {
    status: 503,
    oauthError: 'temporarily_unavailable',
    detail: "the Directory's software statement keys cannot be fetched; try again later",
  },
  // SPEC §10 traffic limits (operations.md "Status codes").
  LIMIT_PER_MINUTE: {
    status: 429,
    ofbCode: 'TOO_MANY_REQUESTS',
    title: 'Limite de requisições por minuto excedido',
    detail: 'too many requests to this endpoint from this client in the current minute; retry after the Retry-After seconds',
  },
  LIMIT_PER_CONSENT_MONTH: {
    status: 423,
    ofbCode: 'LOCKED',
    title: 'Limite mensal de chamadas excedido',
    detail: 'the monthly call limit of this endpoint for this consent and resource has been reached',
  },
  LIMIT_GLOBAL: { status: 529, ofbCode: 'SITE_IS_OVERLOADED', title: 'Sobrecarga', detail: 'the service is overloaded; retry after the Retry-After seconds' },
  LIMIT_STORE_UNAVAILABLE: {
    status: 503,
    ofbCode: 'SERVICE_UNAVAILABLE',
    title: 'Serviço indisponível',
    detail: 'a service the gateway depends on is unavailable; try again later',
  },
} as const satisfies Record<string, Refusal>;

/** The internal code of a refusal: unique per failure family, UPPER_SNAKE. */
export type InternalCode = keyof typeof REFUSALS;

