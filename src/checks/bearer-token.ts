import { mediaTypeOf } from '../edge/media-type.js';
import { InvalidTokenRequestError } from '../errors.js';
import type { CheckDefinition } from './types.js';

/** RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** RFC 9110 §11.4 `credentials = auth-scheme [ 1*SP ( token68 / ... ) ]`; the scheme is a token. */
const CREDENTIALS = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?: +(.*))?$/;

/**
 * SPEC §1 row 3 — the access token comes from the `Authorization` header only (FAPI 1 Part 1
 * §6.2.1-2/-3, RFC 6750 §2.1): exactly one header, scheme `Bearer` in any case (RFC 9110 §11.1;
 * the conformance suite sends `bEARER`), exactly one b64token. A token offered in the query
 * (`access_token`, RFC 6750 §2.3; the suite's DisallowAccessTokenInQuery accepts 400/401/414) or
 * a form body (RFC 6750 §2.2) is refused and never used; the form body is refused from its
 * Content-Type, before it is read. All → 401 UNAUTHORIZED, `Bearer error="invalid_request"`.
 * Runs before any network call: a request without a usable token never reaches the AS.
 */
export const bearerTokenCheck: CheckDefinition = {
  name: 'bearer-token',
  phase: 'headers',
  create(route) {
    if (route.auth === undefined) return undefined;
    return function requireBearerToken(request) {
      const url = request.url;
      const path = request.ofb.path ?? url;
      if (url.length > path.length && new URLSearchParams(url.slice(path.length + 1)).has('access_token')) {
        throw new InvalidTokenRequestError('access tokens are accepted only in the Authorization header, never in the query string (access_token)');
      }
      if (isFormBody(request.headers['content-type'])) {
        throw new InvalidTokenRequestError('access tokens are accepted only in the Authorization header; form-encoded request bodies are refused on this route');
      }
      // Node keeps only the first of repeated Authorization headers in `headers`: count the raw ones.
      const raw = request.raw.rawHeaders;
      let count = 0;
      for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === 'authorization') count++;
      if (count === 0) throw new InvalidTokenRequestError('an access token is required: send it as Authorization: Bearer <token>');
      if (count > 1) throw new InvalidTokenRequestError('exactly one Authorization header is allowed');
      const match = CREDENTIALS.exec(request.headers.authorization ?? '');
      if (match === null || (match[1] as string).toLowerCase() !== 'bearer') {
        throw new InvalidTokenRequestError('the Authorization header must use the Bearer scheme: Authorization: Bearer <token>');
      }
      const token = match[2];
      if (token === undefined || !B64TOKEN.test(token)) {
        throw new InvalidTokenRequestError('the Authorization header must hold exactly one bearer token (RFC 6750 §2.1 b64token)');
      }
      request.ofb.accessToken = token;
    };
  },
};

function isFormBody(contentType: string | undefined): boolean {
  return mediaTypeOf(contentType) === 'application/x-www-form-urlencoded';
}
