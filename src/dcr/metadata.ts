/**
 * SPEC §9 rows 6–10: the client metadata of a registration request against its verified software
 * statement (SSA) and the client certificate. Pure: no I/O, no clock. The AS still applies the SSA's
 * values with precedence (SEC DCR ID3 item 10); the guard refuses what the profile forbids.
 */
import {
  InvalidClientMetadataError,
  InvalidRedirectUriError,
  InvalidWebhookUrisError,
} from '../errors.js';
import { distinguishedNameMatch } from '../tls/dn-match.js';
import { scopesAllowedBy } from './roles.js';

/** RFC 8705 §2.1.2: the SAN-based alternatives to `tls_client_auth_subject_dn`. */
const SAN_MEMBER = /^tls_client_auth_san_/;

/**
 * Check rows 6–10 in order.
 * @param metadata the registration request (a JSON object)
 * @param ssa the verified software statement claims
 * @param subjectDn the client certificate's subject DN (SPEC §3, RFC 4514 string)
 * @throws InvalidClientMetadataError, InvalidRedirectUriError, InvalidWebhookUrisError
 */
export function checkClientMetadata(metadata: Record<string, unknown>, ssa: Record<string, unknown>, subjectDn: string): void {
  // Row 6 / SEC items 4, 5: keys by reference only, at the SSA's own software_jwks_uri.
  if (Object.hasOwn(metadata, 'jwks')) throw new InvalidClientMetadataError('jwks (a key set by value) is not accepted: register keys by reference with jwks_uri');
  if (Object.hasOwn(metadata, 'jwks_uri') && (typeof metadata.jwks_uri !== 'string' || metadata.jwks_uri !== ssa.software_jwks_uri)) {
    throw new InvalidClientMetadataError("jwks_uri must equal the software_statement's software_jwks_uri");
  }

  // Row 7 / SEC item 6: required, and a subset of the SSA's software_redirect_uris.
  const redirects = metadata.redirect_uris;
  if (!Array.isArray(redirects) || redirects.length === 0) throw new InvalidRedirectUriError('redirect_uris is required: a non-empty array of the software_statement\'s software_redirect_uris');
  const allowedRedirects = stringsOf(ssa.software_redirect_uris);
  if (!redirects.every((uri) => typeof uri === 'string' && allowedRedirects.has(uri))) {
    throw new InvalidRedirectUriError("every redirect_uris entry must be one of the software_statement's software_redirect_uris");
  }

  // Row 8 / SEC item 9: scopes fit the SSA's Active regulatory roles.
  if (Object.hasOwn(metadata, 'scope')) {
    const scope = metadata.scope;
    // RFC 6749 §3.3: scope-token *( SP scope-token ).
    const tokens = typeof scope === 'string' ? scope.split(' ') : [];
    if (tokens.length === 0 || tokens.includes('')) throw new InvalidClientMetadataError('scope must be a space-separated list of scopes');
    const allowed = scopesAllowedBy(ssa.software_statement_roles);
    const refused = tokens.filter((token) => !allowed.has(token));
    if (refused.length > 0) {
      throw new InvalidClientMetadataError(`scope ${quoteList(refused)} is not allowed by the Active regulatory roles of the software_statement`);
    }
  }

  // Row 9 / OFB DCR v2.x: webhooks only from the SSA's software_api_webhook_uris.
  if (Object.hasOwn(metadata, 'webhook_uris')) {
    const webhooks = metadata.webhook_uris;
    const allowedWebhooks = stringsOf(ssa.software_api_webhook_uris);
    if (!Array.isArray(webhooks) || !webhooks.every((uri) => typeof uri === 'string' && allowedWebhooks.has(uri))) {
      throw new InvalidWebhookUrisError("every webhook_uris entry must be one of the software_statement's software_api_webhook_uris");
    }
  }

  // Row 10 / SEC items 12, 15, RFC 8705 §2.1.2: the subject DN only, matching the certificate.
  if (metadata.token_endpoint_auth_method === 'tls_client_auth') {
    const dn = metadata.tls_client_auth_subject_dn;
    if (typeof dn !== 'string') throw new InvalidClientMetadataError('tls_client_auth needs tls_client_auth_subject_dn (the client certificate\'s subject DN)');
    if (!distinguishedNameMatch(dn, subjectDn)) {
      throw new InvalidClientMetadataError("tls_client_auth_subject_dn does not match the client certificate's subject DN (RFC 4517 distinguishedNameMatch)");
    }
  }
  // Refused whatever the method: the OFB profile accepts only the subject DN as the indication.
  const san = Object.keys(metadata).find((name) => SAN_MEMBER.test(name));
  if (san !== undefined) throw new InvalidClientMetadataError(`${san} is not accepted: identify the certificate with tls_client_auth_subject_dn only`);
}

/** The strings of an SSA list claim; anything else holds none (fail closed). */
function stringsOf(value: unknown): ReadonlySet<string> {
  return new Set(Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
}

/** Short, printable names only are quoted back. */
function quoteList(values: readonly string[]): string {
  const shown = values.slice(0, 5).map((v) => (/^[\x21-\x7e]{1,64}$/.test(v) ? JSON.stringify(v) : '(unprintable)'));
  return shown.join(', ') + (values.length > 5 ? ', ...' : '');
}
