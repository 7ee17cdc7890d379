import { TextDecoder } from 'node:util';
import { mediaTypeOf } from '../edge/media-type.js';
import { findJsonFlaw } from '../jws/strict-json.js';
import { ClientCertificateError, InvalidClientMetadataError, InvalidSoftwareStatementError } from '../errors.js';
import { routeKey, type ConfigProblem } from '../config/problems.js';
import { verifySoftwareStatement } from '../dcr/software-statement.js';
import { checkClientMetadata } from '../dcr/metadata.js';
import { ensured, type CheckDefinition } from './types.js';

/** RFC 7591 register (POST) and RFC 7592 read, update, delete: the methods of a `dcr` route. */
export const DCR_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;

/** Register and update carry client metadata; GET and DELETE need only the certificate (the AS checks the registration access token). */
const CHECKED_METHODS = new Set(['POST', 'PUT']);

/** RFC 8259 §8.1: UTF-8; invalid sequences refused, a BOM kept (so refused by the grammar). */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * SPEC §9 — the DCR guard on `dcr: true` routes, after the client certificate (SPEC §1 row 2):
 * every POST and PUT to the route's path or below must be a JSON object (row 1) carrying a
 * Directory-signed software statement for the certificate's organisation and software, issued at
 * most 300 s ago (rows 2–5), and client metadata the OFB DCR profile and that statement allow
 * (rows 6–10). Refusals are RFC 7591 §3.2.2 bodies; a passing request is forwarded unchanged with
 * `x-dcr-verified: true`.
 */
export const dcrCheck: CheckDefinition = {
  name: 'dcr',
  phase: 'body',
  validate(route, config) {
    if (route.dcr !== true) return [];
    const problems: ConfigProblem[] = [];
    // SEC DCR ID3 item 1: registration only over mTLS, and rows 5 and 10 read the certificate.
    if (route.mtls !== 'required') problems.push({ path: routeKey(route, 'mtls'), message: 'dcr needs `mtls: required` (the software statement is checked against the client certificate)' });
    // The AS checks the registration access token (RFC 7592 §3); the gateway introspects none.
    if (route.auth !== undefined) problems.push({ path: routeKey(route, 'auth'), message: 'dcr excludes `auth`: the authorization server checks the registration access token itself' });
    if (route.jws !== undefined) problems.push({ path: routeKey(route, 'jws'), message: 'dcr excludes `jws`: registration bodies are JSON, the software statement inside is verified instead' });
    if (route.idempotency) problems.push({ path: routeKey(route, 'idempotency'), message: 'dcr excludes `idempotency`' });
    const extra = route.methods?.filter((m) => !(DCR_METHODS as readonly string[]).includes(m)) ?? [];
    if (extra.length > 0) problems.push({ path: routeKey(route, 'methods'), message: `dcr routes accept only ${DCR_METHODS.join(', ')} (RFC 7591, RFC 7592), not ${extra.join(', ')}` });
    if (config.directory === undefined) {
      problems.push({ path: routeKey(route, 'dcr'), message: 'dcr needs a `directory` section (directory.ssaJwksUri: the Directory\'s software statement keys; production by default)' });
    }
    return problems;
  },
  create(route, deps) {
    if (route.dcr !== true) return undefined;
    const directory = ensured(deps.directory, 'deps.directory');

    return async function verifyRegistration(request) {
      if (!CHECKED_METHODS.has(request.method)) return;
      const metadata = registrationBody(request.headers['content-type'], request.body);

      // Row 2 / SEC item 2.
      const statement = metadata.software_statement;
      if (statement === undefined) throw new InvalidSoftwareStatementError('software_statement is required: a software statement assertion from the Directory');
      if (typeof statement !== 'string') throw new InvalidSoftwareStatementError('software_statement must be a string (a signed JWT)');

      const identity = request.ofb.identity;
      if (identity === undefined) throw new ClientCertificateError('a client certificate is required on this route (mTLS)');
      // Rows 3–5.
      const ssa = await verifySoftwareStatement(statement, directory, identity, Math.floor(Date.now() / 1000));
      // Rows 6–10.
      checkClientMetadata(metadata, ssa, identity.subjectDn);
      request.ofb.dcrVerified = true;
    };
  },
};

/**
 * Row 1 / RFC 7591 §3.1: the request is a JSON object sent as `application/json` (parameters such
 * as charset allowed), strict (a repeated member name is refused: the AS may read the other one).
 */
function registrationBody(contentType: unknown, body: unknown): Record<string, unknown> {
  if (mediaTypeOf(contentType) !== 'application/json') throw new InvalidClientMetadataError('the registration request must be sent as Content-Type application/json');
  if (!Buffer.isBuffer(body) || body.length === 0) throw new InvalidClientMetadataError('the registration request has no body: a JSON object is required');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch (err) {
    throw new InvalidClientMetadataError('the registration request is not valid UTF-8', { cause: err });
  }
  const flaw = findJsonFlaw(text);
  if (flaw?.kind === 'duplicate') throw new InvalidClientMetadataError('the registration request repeats a JSON member name');
  if (flaw !== undefined) throw new InvalidClientMetadataError('the registration request is not JSON');
  const value = JSON.parse(text) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidClientMetadataError('the registration request must be a JSON object');
  return value as Record<string, unknown>;
}
