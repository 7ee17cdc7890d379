/**
 * SPEC §9 rows 3–5: the software statement (SSA) is a compact JWS signed PS256 by the OFB Directory
 * with a key of its `openbanking.jwks` (never one the JWS names or carries), issued at most 300 s
 * ago, for the organisation and software of the client certificate. Reuses the SPEC §2 JWS parser
 * and the one Directory JWKS client; every failure is 400 `invalid_software_statement`, a Directory
 * that cannot say 503 `temporarily_unavailable`.
 */
import type { DirectoryJwks } from '../clients/directory-jwks.js';
import { GatewayError, InvalidSoftwareStatementError, RegistrationUnavailableError } from '../errors.js';
import { parseClaims, parseCompactJws, verifyPs256 } from '../jws/compact.js';

/** SEC DCR ID3 item 3: issued not more than 5 minutes before the request. */
export const SSA_MAX_AGE_SECONDS = 300;
/** The clock skew allowed ahead (SPEC §9 row 4), as for signed bodies (SPEC §2). */
export const SSA_MAX_FUTURE_SECONDS = 60;

/** Who presented the SSA: the client certificate's identity (SPEC §3). */
export interface Presenter {
  readonly orgId: string | undefined;
  readonly softwareId: string | undefined;
}

/**
 * Verify `statement` and return its claims.
 * @throws InvalidSoftwareStatementError (rows 3–5), RegistrationUnavailableError (Directory down, nothing cached).
 */
export async function verifySoftwareStatement(statement: string, directory: DirectoryJwks, presenter: Presenter, nowSeconds: number): Promise<Record<string, unknown>> {
  let claims: Record<string, unknown>;
  try {
    // Row 3 / SEC item 2: alg PS256 and a kid; jku, x5u, jwk, x5c and crit refused, never followed.
    const jws = parseCompactJws(statement);
    // The key only from the Directory's SSA key set (cached, refetched on an unknown kid).
    const keys = await directory.ssaKeysFor(jws.kid);
    claims = parseClaims(verifyPs256(jws, keys));
  } catch (err) {
    throw asRegistrationError(err);
  }
  checkIssuedAt(claims, nowSeconds);
  // Row 5 / SEC items 13, 14: the certificate's UID is the SSA's software_id, its
  // organizationIdentifier (or pre-2022-09 OU) the SSA's org_id.
  if (presenter.orgId === undefined || claims.org_id !== presenter.orgId) {
    throw new InvalidSoftwareStatementError("the software_statement's org_id is not the organisation of the client certificate");
  }
  if (presenter.softwareId === undefined || claims.software_id !== presenter.softwareId) {
    throw new InvalidSoftwareStatementError("the software_statement's software_id is not the UID of the client certificate");
  }
  return claims;
}

/** Row 4 / SEC item 3; `exp` and `nbf`, when present, hold too (RFC 7519 §4.1.4, §4.1.5). */
function checkIssuedAt(claims: Record<string, unknown>, now: number): void {
  const { iat, exp, nbf } = claims;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new InvalidSoftwareStatementError('the software_statement has no numeric iat');
  if (now - iat > SSA_MAX_AGE_SECONDS) {
    throw new InvalidSoftwareStatementError(`the software_statement was issued more than ${SSA_MAX_AGE_SECONDS} seconds ago: fetch a fresh one from the Directory`);
  }
  if (iat - now > SSA_MAX_FUTURE_SECONDS) throw new InvalidSoftwareStatementError(`the software_statement iat is more than ${SSA_MAX_FUTURE_SECONDS} seconds in the future`);
  if (exp !== undefined && !(typeof exp === 'number' && exp + SSA_MAX_FUTURE_SECONDS >= now)) throw new InvalidSoftwareStatementError('the software_statement has expired (exp)');
  if (nbf !== undefined && !(typeof nbf === 'number' && nbf - SSA_MAX_FUTURE_SECONDS <= now)) throw new InvalidSoftwareStatementError('the software_statement is not yet valid (nbf)');
}

/**
 * The SPEC §2 parser and the Directory client speak of signed bodies: their signature-class
 * refusals become `invalid_software_statement` (in the SSA's words), an outage `temporarily_unavailable`.
 */
function asRegistrationError(err: unknown): GatewayError {
  if (!(err instanceof GatewayError)) return new InvalidSoftwareStatementError('the software_statement cannot be verified', { cause: err });
  if (err.statusCode === 503) return new RegistrationUnavailableError({ cause: err.cause ?? err });
  if (err.internalCode === 'JWS_BAD_SIGNATURE') return new InvalidSoftwareStatementError(ssaWording(err.detail), { cause: err });
  return err;
}

/** A signed-body detail reworded for the software statement. */
function ssaWording(detail: string): string {
  return detail
    .replace(/\bthe request body\b/g, 'the software_statement')
    .replace(/\bthe JWS\b/g, 'the software_statement')
    .replace(/the organisation's JWKS in the directory|the organisation's key for this kid|the signing keys the organisation publishes in the directory/g, "the Directory's software statement keys");
}
