import { mediaTypeOf } from '../edge/media-type.js';
import type { FastifyRequest } from 'fastify';
import { REPLAY_TTL_MS } from '../stores/types.js';
import { BadSignatureError, ClientCertificateError, InvalidClientError, UnsupportedMediaTypeError } from '../errors.js';
import { checkClaims, parseClaims, parseCompactJws, verifyPs256 } from '../jws/compact.js';
import { routeKey, type ConfigProblem } from '../config/problems.js';
import { ensured, type CheckDefinition } from './types.js';

/** Methods whose requests carry a body; others are checked only when they send one anyway. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * SPEC §1 row 9, §2 — the request body is a compact JWS (`Content-Type: application/jwt`, else 415)
 * signed PS256 by the organisation of the client certificate, with a key from that organisation's
 * JWKS in the OFB Directory and nowhere else. Signature-class failures → 400 BAD_SIGNATURE; claim
 * failures (aud, iss, iat, jti) and replays → 403 INVALID_CLIENT. The jti is recorded only after
 * the signature and the claims verified, atomically, per client for 86 400 s. The verified jti and
 * payload go on request.ofb (x-jws-jti upstream, `jws.forward: json`, idempotency).
 */
export const jwsRequestCheck: CheckDefinition = {
  name: 'jws-request',
  phase: 'body',
  validate(route, config) {
    if (route.jws?.request !== true) return [];
    const problems: ConfigProblem[] = [];
    if (config.directory === undefined) problems.push({ path: routeKey(route, 'jws'), message: "jws.request needs a `directory` section (the senders' JWKS)" });
    else if (config.directory.jwksUri === undefined) problems.push({ path: ['directory'], message: "jws.request needs `directory.jwksUri` (the senders' JWKS)" });
    // SPEC §2: the signing organisation is the org_id of the client certificate.
    if (route.mtls !== 'required') problems.push({ path: routeKey(route, 'mtls'), message: "jws.request needs `mtls: required` (the signer is the certificate's organisation)" });
    return problems;
  },
  create(route, deps) {
    if (route.jws?.request !== true) return undefined;
    const directory = ensured(deps.directory, 'deps.directory');
    const store = ensured(deps.replayStore, 'deps.replayStore');
    const publicBaseUrl = deps.config.server.publicBaseUrl;

    return async function verifyJwsRequest(request) {
      const body = request.body;
      const hasBody = Buffer.isBuffer(body) && body.length > 0;
      if (!BODY_METHODS.has(request.method) && !hasBody) return;

      // OFB FAPI "Message Content Signing" item 4; payments OpenAPI declares 415.
      if (mediaTypeOf(request.headers['content-type']) !== 'application/jwt') {
        throw new UnsupportedMediaTypeError('the request body must be a signed JWS with Content-Type application/jwt');
      }
      if (!hasBody) throw new BadSignatureError('the request body is empty: a JWS in compact serialization is required');
      // SPEC §2 / RFC 7515 §7.1: compact serialization, strict JSON header (no repeated member
      // names), JOSE header rules — all before the directory is asked for anything.
      const jws = parseCompactJws(body);

      const identity = request.ofb.identity;
      const orgId = identity?.orgId;
      if (orgId === undefined) throw new ClientCertificateError('the client certificate carries no organisation id (organizationIdentifier or OU)');
      // SPEC §2: the key comes only from the directory JWKS of the certificate's organisation.
      const keys = await directory.keysFor({ orgId, softwareId: identity?.softwareId }, jws.kid);
      const claims = parseClaims(verifyPs256(jws, keys));
      const jti = checkClaims(claims, { aud: audience(request, publicBaseUrl), iss: orgId, nowSeconds: Date.now() / 1000 });

      // OFB FAPI item 9: jti unique per client for 86 400 s → 403. Recorded only now, after the
      // signature and the claims verified, so nobody can burn another client's jti.
      const namespace = request.ofb.clientId ?? orgId;
      const first = await store.setIfAbsent(`jti:${encodeURIComponent(namespace)}:${jti.toLowerCase()}`, '1', REPLAY_TTL_MS);
      if (!first) throw new InvalidClientError('the JWS jti was already used by this client (replay)');

      request.ofb.jwsJti = jti;
      request.ofb.jwsPayload = claims;
    };
  },
};


/** SPEC §2: the exact resource URL — publicBaseUrl (else https://<Host>) + path, no query. */
function audience(request: FastifyRequest, publicBaseUrl: string | undefined): string | undefined {
  const path = request.ofb.path ?? request.url;
  if (publicBaseUrl !== undefined) return publicBaseUrl + path;
  const host = request.headers.host;
  return host === undefined || host === '' ? undefined : `https://${host}${path}`;
}
