// The GatewayError catalogue's integrity (as fastify's test/internals/errors.test.js checks its own):
// internal codes unique per failure family, every class in the catalogue, statuses and WWW-Authenticate
// errors where RFC 6750 allows them, fixed 5xx details, and docs/refusals.md in step with the code.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as errors from '../src/errors.js';
import { GatewayError, REFUSALS, errorBody, wwwAuthenticate, type InternalCode, type Refusal } from '../src/errors.js';

const DOC = resolve(import.meta.dirname, '../../docs/refusals.md');
const codes = Object.keys(REFUSALS) as InternalCode[];
const entry = (code: InternalCode): Refusal => REFUSALS[code];

/** The names of every GatewayError subclass the module exports. */
const classes = Object.entries(errors as Record<string, unknown>)
  .filter(([, value]) => typeof value === 'function' && (value as { prototype: unknown }).prototype instanceof GatewayError)
  .map(([name]) => name);

/**
 * One instance of each class, built the way call sites build them, with what the client saw before
 * the catalogue became data (status, OFB code, title, detail): the refactor must not change them.
 */
const today: Record<string, { make: () => GatewayError; status: number; code: string; title: string; detail: string }> = {
  RouteNotFoundError: { make: () => new errors.RouteNotFoundError(), status: 404, code: 'NAO_ENCONTRADO', title: 'Recurso não encontrado', detail: 'no route is configured for this path' },
  MethodNotAllowedError: { make: () => new errors.MethodNotAllowedError(['GET', 'POST']), status: 405, code: 'METODO_NAO_PERMITIDO', title: 'Método não permitido', detail: 'this path does not accept this HTTP method' },
  InvalidParameterError: { make: () => new errors.InvalidParameterError('x-fapi-interaction-id header is required'), status: 400, code: 'PARAMETRO_INVALIDO', title: 'Parâmetro inválido', detail: 'x-fapi-interaction-id header is required' },
  ClientCertificateError: { make: () => new errors.ClientCertificateError('a client certificate is required on this route (mTLS)'), status: 401, code: 'INVALID_CLIENT', title: 'Certificado de cliente inválido', detail: 'a client certificate is required on this route (mTLS)' },
  InvalidTokenRequestError: { make: () => new errors.InvalidTokenRequestError('exactly one Authorization header is allowed'), status: 401, code: 'UNAUTHORIZED', title: 'Não autorizado', detail: 'exactly one Authorization header is allowed' },
  InvalidTokenError: { make: () => new errors.InvalidTokenError('access token is bound to a different client certificate'), status: 401, code: 'UNAUTHORIZED', title: 'Não autorizado', detail: 'access token is bound to a different client certificate' },
  InsufficientScopeError: { make: () => new errors.InsufficientScopeError('access token lacks the scope this endpoint requires: accounts', 'openid accounts'), status: 403, code: 'FORBIDDEN', title: 'Acesso negado', detail: 'access token lacks the scope this endpoint requires: accounts' },
  ForbiddenError: { make: () => new errors.ForbiddenError('consent C1 belongs to another client'), status: 403, code: 'FORBIDDEN', title: 'Acesso negado', detail: 'consent C1 belongs to another client' },
  BadSignatureError: { make: () => new errors.BadSignatureError('the JWS alg must be PS256'), status: 400, code: 'BAD_SIGNATURE', title: 'Assinatura inválida', detail: 'the JWS alg must be PS256' },
  InvalidClientError: { make: () => new errors.InvalidClientError('the JWS jti must be a UUID v4'), status: 403, code: 'INVALID_CLIENT', title: 'Cliente inválido', detail: 'the JWS jti must be a UUID v4' },
  MissingParameterError: { make: () => new errors.MissingParameterError('x-idempotency-key header is required'), status: 422, code: 'PARAMETRO_NAO_INFORMADO', title: 'Parâmetro não informado', detail: 'x-idempotency-key header is required' },
  UnprocessableParameterError: { make: () => new errors.UnprocessableParameterError('x-idempotency-key must have 1 to 40 characters'), status: 422, code: 'PARAMETRO_INVALIDO', title: 'Parâmetro inválido', detail: 'x-idempotency-key must have 1 to 40 characters' },
  IdempotencyError: { make: () => new errors.IdempotencyError(), status: 422, code: 'ERRO_IDEMPOTENCIA', title: 'Erro de idempotência', detail: 'the message content (claim data) differs from the content stored under this x-idempotency-key' },
  IdempotencyConflictError: { make: () => new errors.IdempotencyConflictError(), status: 409, code: 'ERRO_IDEMPOTENCIA', title: 'Requisição em processamento', detail: 'a request with this x-idempotency-key is still being processed; retry later' },
  HeadersTooLargeError: { make: () => new errors.HeadersTooLargeError(), status: 431, code: 'CABECALHOS_MUITO_GRANDES', title: 'Cabeçalhos muito grandes', detail: 'the request headers exceed the size limit' },
  RequestTimeoutError: { make: () => new errors.RequestTimeoutError(), status: 408, code: 'TEMPO_ESGOTADO', title: 'Tempo esgotado', detail: 'the request was not received in time' },
  PayloadTooLargeError: { make: () => new errors.PayloadTooLargeError(), status: 413, code: 'PAYLOAD_MUITO_GRANDE', title: 'Payload muito grande', detail: 'the request body exceeds the size limit' },
  UnsupportedMediaTypeError: { make: () => new errors.UnsupportedMediaTypeError('the request content type is not supported'), status: 415, code: 'CONTEUDO_NAO_SUPORTADO', title: 'Tipo de conteúdo não suportado', detail: 'the request content type is not supported' },
  ExpectationFailedError: { make: () => new errors.ExpectationFailedError(), status: 417, code: 'PARAMETRO_INVALIDO', title: 'Expectativa não suportada', detail: 'only Expect: 100-continue is supported' },
  BadGatewayError: { make: () => new errors.BadGatewayError({ cause: new Error('ECONNRESET') }), status: 502, code: 'BAD_GATEWAY', title: 'Bad gateway', detail: 'the upstream service could not be reached' },
  GatewayTimeoutError: { make: () => new errors.GatewayTimeoutError(), status: 504, code: 'GATEWAY_TIMEOUT', title: 'Gateway timeout', detail: 'the upstream service did not answer in time' },
  ServiceUnavailableError: { make: () => new errors.ServiceUnavailableError(), status: 503, code: 'SERVICE_UNAVAILABLE', title: 'Serviço indisponível', detail: 'a service the gateway depends on is unavailable; try again later' },
  InternalError: { make: () => new errors.InternalError({ cause: new Error('boom') }), status: 500, code: 'ERRO_INTERNO', title: 'Erro interno', detail: 'the gateway could not process the request' },
  PerMinuteLimitError: { make: () => new errors.PerMinuteLimitError(12), status: 429, code: 'TOO_MANY_REQUESTS', title: 'Limite de requisições por minuto excedido', detail: 'too many requests to this endpoint from this client in the current minute; retry after the Retry-After seconds' },
  MonthlyLimitError: { make: () => new errors.MonthlyLimitError(3600), status: 423, code: 'LOCKED', title: 'Limite mensal de chamadas excedido', detail: 'the monthly call limit of this endpoint for this consent and resource has been reached' },
  GlobalLimitError: { make: () => new errors.GlobalLimitError(1), status: 529, code: 'SITE_IS_OVERLOADED', title: 'Sobrecarga', detail: 'the service is overloaded; retry after the Retry-After seconds' },
  LimitStoreUnavailableError: { make: () => new errors.LimitStoreUnavailableError(), status: 503, code: 'SERVICE_UNAVAILABLE', title: 'Serviço indisponível', detail: 'a service the gateway depends on is unavailable; try again later' },
};

/** The registration refusals (SPEC §9): an RFC 7591 `error` and `error_description` instead of an OFB code and title. */
const todayOAuth: Record<string, { make: () => GatewayError; status: number; error: string; detail: string }> = {
  InvalidClientMetadataError: { make: () => new errors.InvalidClientMetadataError('jwks (a key set by value) is not accepted'), status: 400, error: 'invalid_client_metadata', detail: 'jwks (a key set by value) is not accepted' },
  InvalidSoftwareStatementError: { make: () => new errors.InvalidSoftwareStatementError('software_statement is required'), status: 400, error: 'invalid_software_statement', detail: 'software_statement is required' },
  InvalidRedirectUriError: { make: () => new errors.InvalidRedirectUriError('redirect_uris is required'), status: 400, error: 'invalid_redirect_uri', detail: 'redirect_uris is required' },
  InvalidWebhookUrisError: { make: () => new errors.InvalidWebhookUrisError('webhook_uris outside the SSA'), status: 400, error: 'invalid_webhook_uris', detail: 'webhook_uris outside the SSA' },
  RegistrationUnavailableError: { make: () => new errors.RegistrationUnavailableError(), status: 503, error: 'temporarily_unavailable', detail: "the Directory's software statement keys cannot be fetched; try again later" },
};

/** Every class's sample, whatever the shape of its body. */
const samples: Record<string, { make: () => GatewayError }> = { ...today, ...todayOAuth };

interface DocRow {
  readonly code: string;
  readonly className: string;
  readonly status: number;
  readonly ofbCode: string;
  readonly title: string;
  readonly bearerError: string | undefined;
}

/** The rows of the catalogue table in docs/refusals.md (the one whose first column is "internal code"). */
function documentedRows(markdown: string): DocRow[] {
  const lines = markdown.split('\n');
  const header = lines.findIndex((line) => line.startsWith('| internal code |'));
  if (header < 0) throw new Error('docs/refusals.md has no table headed "| internal code |"');
  const rows: DocRow[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1).map((cell) => cell.trim());
    const [code, className, status, ofbCode, title, bearer] = cells;
    const unquote = (cell: string | undefined) => /^`([^`]+)`$/.exec(cell ?? '')?.[1] ?? `(not in backticks: ${cell})`;
    rows.push({
      code: unquote(code),
      className: unquote(className),
      status: Number(status),
      ofbCode: unquote(ofbCode),
      title: title ?? '',
      bearerError: bearer === '—' ? undefined : unquote(bearer),
    });
  }
  return rows;
}

t.test('every exported GatewayError class has its sample here, and every sample a class', async (tt) => {
  tt.same([...classes].sort(), Object.keys(samples).sort());
});

t.test('registration refusals: RFC 7591 §3.2.2 body, no OFB code or title', async (tt) => {
  for (const [name, expected] of Object.entries(todayOAuth)) {
    const error = expected.make();
    tt.same(
      { status: error.statusCode, oauthError: error.oauthError, code: error.code, title: error.title, detail: error.detail },
      { status: expected.status, oauthError: expected.error, code: undefined, title: undefined, detail: expected.detail },
      name,
    );
    tt.same(JSON.parse(errors.errorBody(error)), { error: expected.error, error_description: expected.detail }, `${name}: body`);
    tt.equal(errors.errorContentType(error), 'application/json', `${name}: content type`);
  }
  tt.equal(errors.errorContentType(new errors.InvalidParameterError('x')), 'application/json; charset=utf-8', 'OFB bodies keep their content type');
});

t.test('each class keeps the status, OFB code, title and detail clients saw before the catalogue became data', async (tt) => {
  for (const [name, expected] of Object.entries(today)) {
    const error = expected.make();
    tt.equal(error.name, name, `${name}: name`);
    tt.ok(error instanceof GatewayError && error instanceof Error, `${name}: a GatewayError`);
    tt.same(
      { status: error.statusCode, code: error.code, title: error.title, detail: error.detail, message: error.message },
      { status: expected.status, code: expected.code, title: expected.title, detail: expected.detail, message: expected.detail },
      name,
    );
  }
});

t.test('internal codes: UPPER_SNAKE, one class per code and one code per class', async (tt) => {
  for (const code of codes) tt.match(code, /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/, `${code} is UPPER_SNAKE`);
  const byCode = new Map<InternalCode, string[]>();
  for (const [name, sample] of Object.entries(samples)) {
    const code = sample.make().internalCode;
    tt.ok(codes.includes(code), `${name} maps to a catalogue entry (${code})`);
    byCode.set(code, [...(byCode.get(code) ?? []), name]);
  }
  for (const [code, names] of byCode) tt.equal(names.length, 1, `${code} is used by one class only (${names.join(', ')})`);
  tt.same([...byCode.keys()].sort(), [...codes].sort(), 'every catalogue entry has its class');
});

t.test('each instance carries its catalogue entry', async (tt) => {
  for (const [name, sample] of Object.entries(samples)) {
    const error = sample.make();
    const spec = entry(error.internalCode);
    tt.same(
      { status: error.statusCode, code: error.code, title: error.title, bearerError: error.bearerError, oauthError: error.oauthError },
      { status: spec.status, code: spec.ofbCode, title: spec.title, bearerError: spec.bearerError, oauthError: spec.oauthError },
      name,
    );
  }
});

t.test('statuses are 4xx or 5xx; a WWW-Authenticate error only on 401 and 403', async (tt) => {
  for (const code of codes) {
    const { status, bearerError } = entry(code);
    tt.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: ${status}`);
    if (bearerError !== undefined) tt.ok(status === 401 || status === 403, `${code}: ${bearerError} on ${status}`);
  }
});

t.test('at 5xx the detail is a fixed sentence, whatever the caller passes', async (tt) => {
  for (const code of codes.filter((c) => entry(c).status >= 500)) {
    const fixed = entry(code).detail;
    tt.type(fixed, 'string', `${code} has a fixed detail`);
    const error = new GatewayError(code, 'connect ECONNREFUSED 10.0.0.7:6379 password=hunter2', { cause: new Error('inner') });
    tt.equal(error.detail, fixed, `${code}: the caller's text is not sent`);
    tt.notMatch(errorBody(error), /hunter2|ECONNREFUSED|inner/, `${code}: nor in the body`);
    tt.equal((error.cause as Error).message, 'inner', `${code}: the cause stays for the logs`);
  }
});

t.test('a refusal without a fixed detail needs one', async (tt) => {
  tt.throws(() => new GatewayError('TOKEN_INVALID'), TypeError);
  tt.equal(new GatewayError('TOKEN_INVALID', 'access token is not active').detail, 'access token is not active');
});

t.test('WWW-Authenticate comes from the catalogue (RFC 6750 §3)', async (tt) => {
  tt.equal(wwwAuthenticate(new errors.InvalidTokenRequestError('x')), 'Bearer error="invalid_request"');
  tt.equal(wwwAuthenticate(new errors.InvalidTokenError('x')), 'Bearer error="invalid_token"');
  tt.equal(wwwAuthenticate(new errors.InsufficientScopeError('x', 'openid accounts')), 'Bearer error="insufficient_scope", scope="openid accounts"');
  tt.equal(wwwAuthenticate(new errors.ClientCertificateError('x')), undefined);
  tt.equal(wwwAuthenticate(new errors.ForbiddenError('x')), undefined);
  tt.same(new errors.MethodNotAllowedError(['GET', 'PUT']).headers, { allow: 'GET, PUT' });
  tt.same(new errors.IdempotencyConflictError().headers, { 'retry-after': '1' });
  tt.same(new errors.PerMinuteLimitError(17).headers, { 'retry-after': '17' }, 'SPEC §10: 429 says when the next minute starts');
  tt.same(new errors.GlobalLimitError(1).headers, { 'retry-after': '1' });
});

/** The rows of the registration-refusal table in docs/refusals.md (headed "| internal code | class | status | RFC 7591 `error` |"). */
function documentedOAuthRows(markdown: string): { code: string; className: string; status: number; error: string }[] {
  const lines = markdown.split('\n');
  const header = lines.findIndex((line) => line.startsWith('| internal code | class | status | RFC 7591 `error` |'));
  if (header < 0) throw new Error('docs/refusals.md has no table headed "| internal code | class | status | RFC 7591 `error` |"');
  const rows: { code: string; className: string; status: number; error: string }[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const [code, className, status, error] = line.split('|').slice(1, -1).map((cell) => cell.trim());
    const unquote = (cell: string | undefined) => /^`([^`]+)`$/.exec(cell ?? '')?.[1] ?? `(not in backticks: ${cell})`;
    rows.push({ code: unquote(code), className: unquote(className), status: Number(status), error: unquote(error) });
  }
  return rows;
}

t.test('docs/refusals.md lists exactly the catalogue', async (tt) => {
  const markdown = readFileSync(DOC, 'utf8');
  const oauthRows = documentedOAuthRows(markdown);
  for (const row of oauthRows) {
    const spec = (REFUSALS as Record<string, Refusal>)[row.code];
    tt.ok(spec?.oauthError !== undefined, `documented ${row.code} is a registration refusal of the catalogue`);
    tt.same({ status: row.status, error: row.error }, { status: spec?.status, error: spec?.oauthError }, `${row.code}: the documented status and RFC 7591 error`);
    tt.equal(samples[row.className]?.make().internalCode, row.code, `${row.code}: documented class ${row.className}`);
  }
  const rows = [...documentedRows(markdown), ...oauthRows.map((row) => ({ ...row, ofbCode: '', title: '', bearerError: undefined }))];
  const documented = rows.map((row) => row.code);
  tt.equal(new Set(documented).size, documented.length, 'no internal code is documented twice');
  for (const row of rows) {
    tt.ok(row.code in REFUSALS, `documented ${row.code} is in the catalogue`);
    if (!(row.code in REFUSALS) || entry(row.code as InternalCode).oauthError !== undefined) continue;
    const spec = entry(row.code as InternalCode);
    tt.same(
      { status: row.status, ofbCode: row.ofbCode, title: row.title, bearerError: row.bearerError },
      { status: spec.status, ofbCode: spec.ofbCode, title: spec.title, bearerError: spec.bearerError },
      `${row.code}: the documented status, OFB code, title and WWW-Authenticate error`,
    );
    const sample = today[row.className];
    tt.equal(sample?.make().internalCode, row.code, `${row.code}: documented class ${row.className}`);
  }
  for (const code of codes) tt.ok(documented.includes(code), `${code} is documented in docs/refusals.md`);
});
