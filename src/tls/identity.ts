/**
 * Open Finance Brasil client identity, read from an mTLS client certificate.
 *
 * Facts from the OFB Certificate Standard ("Padrão de Certificados Open Finance
 * Brasil"): the participant's org id is in organizationIdentifier (2.5.4.97) as
 * "OFBBR-<org_id>"; certificates issued up to 2022-08-31 carry it in OU
 * instead; the software statement id is in UID. The subject DN a client
 * registers as `tls_client_auth_subject_dn` is the RFC 4514 string described
 * at {@link rfc4514Dn}.
 *
 * Parsing uses @peculiar/asn1-x509 directly (no WebCrypto, no DI container) so
 * it is cheap and synchronous; callers cache the result per certificate.
 */
import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import type { AttributeValue, Name } from '@peculiar/asn1-x509';
import { ClientCertificateError } from '../errors.js';

/** OFB client identity derived from a client certificate. */
export interface ClientIdentity {
  /** Directory organisation id: from organizationIdentifier "OFBBR-<org_id>", else from OU (pre-2022-09 certs). */
  orgId: string | undefined;
  /** Software statement id (UID attribute). */
  softwareId: string | undefined;
  /** Subject common name. */
  commonName: string | undefined;
  /** Subject DN in the OFB RFC 4514 form (see {@link rfc4514Dn}). */
  subjectDn: string;
  /** `x5t#S256` confirmation thumbprint (RFC 8705 §3.1). */
  thumbprint: string;
  /** End of the certificate validity period. */
  notAfter: Date;
}

const OID_CN = '2.5.4.3';
const OID_OU = '2.5.4.11';
/** End of 2022-08-31 (UTC): the last day OFB client certificates carried the org id in OU. */
const LAST_OU_ISSUANCE_MS = Date.UTC(2022, 7, 31, 23, 59, 59);
export const OID_UID = '0.9.2342.19200300.100.1.1';
const OID_ORGANIZATION_IDENTIFIER = '2.5.4.97';

/** RFC 4514 §3: the only attribute types printed by short name; all others are dotted OIDs (dn-match.ts prints with it too). */
export const SHORT_NAMES: ReadonlyMap<string, string> = new Map([
  [OID_CN, 'CN'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.10', 'O'],
  [OID_OU, 'OU'],
  ['2.5.4.6', 'C'],
  ['2.5.4.9', 'STREET'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  [OID_UID, 'UID'],
]);

/**
 * `x5t#S256` of a certificate: base64url (no padding) of SHA-256 over its DER
 * encoding (RFC 8705 §3.1). Hashes exactly the bytes given.
 */
export function thumbprintOf(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64url');
}

/**
 * Extracts the OFB client identity from a DER certificate (e.g.
 * `socket.getPeerCertificate().raw`). Parses once; does not cache.
 * The thumbprint covers exactly `der`: pass the certificate's own bytes
 * (bytes trailing a valid certificate are not rejected, but then change the
 * thumbprint so a `cnf` binding cannot match).
 * @throws ClientCertificateError if `der` is not a DER-encoded X.509 certificate (the ASN.1
 *   library's message is its `cause`, never its `detail`).
 */
export function identityFromDer(der: Uint8Array): ClientIdentity {
  const tbs = parseCertificate(der).tbsCertificate;
  const subject = tbs.subject;
  // organizationIdentifier wins whenever present, even if malformed: falling
  // back to OU then would let a second attribute override the primary one.
  const orgIdentifiers = attributeValues(subject, OID_ORGANIZATION_IDENTIFIER);
  // SPEC §3 / OFB Certificate Standard: OU carries the org id only on certificates issued up to
  // 2022-08-31; a newer certificate without organizationIdentifier has no org id.
  const orgId = orgIdentifiers.length > 0
    ? orgIdFromOrganizationIdentifier(single(orgIdentifiers))
    : tbs.validity.notBefore.getTime().getTime() <= LAST_OU_ISSUANCE_MS
      ? single(attributeValues(subject, OID_OU))
      : undefined;
  return {
    orgId,
    softwareId: single(attributeValues(subject, OID_UID)),
    commonName: single(attributeValues(subject, OID_CN)),
    subjectDn: rfc4514Dn(subject),
    thumbprint: thumbprintOf(der),
    notAfter: tbs.validity.notAfter.getTime(),
  };
}

/** Subject DN of a DER certificate in the OFB RFC 4514 form (see {@link rfc4514Dn}). */
export function ofbSubjectDn(der: Uint8Array): string {
  return rfc4514Dn(parseCertificate(der).tbsCertificate.subject);
}

/**
 * RFC 4514 string form of a Name, as used for OFB `tls_client_auth_subject_dn`.
 *
 * - RDN order: RFC 4514 §2.1 starts with the LAST RDN of the encoded
 *   sequence, so the output is the reverse of the certificate's encoding. A
 *   subject encoded in the OFB standard layout (businessCategory,
 *   jurisdictionC, serialNumber, C, O, ST, L, organizationIdentifier, UID, CN)
 *   prints as the standard's documented `CN=…,UID=…,2.5.4.97=#0c…,L=…,ST=…,
 *   O=…,C=BR,2.5.4.5=#13…,1.3.6.1.4.1.311.60.2.1.3=#13…,2.5.4.15=#0c…`.
 * - Multi-valued RDNs are joined with `+` in encoded order (§2.2).
 * - Types with an RFC 4514 §3 short name use it; others are dotted OIDs whose
 *   value is `#` + lowercase hex of the DER AttributeValue (§2.4), as the OFB
 *   standard shows (e.g. `2.5.4.97=#0c…` for a UTF8String).
 * - Short-name string values are escaped per §2.4.
 */
export function rfc4514Dn(name: Name): string {
  const rdns: string[] = [];
  for (let i = name.length - 1; i >= 0; i--) {
    const rdn = name[i] ?? [];
    rdns.push(rdn.map((atv) => {
      const short = SHORT_NAMES.get(atv.type);
      const text = short === undefined ? undefined : directoryString(atv.value);
      // §2.4: values without a string form (and all dotted-OID types) go as hex.
      return text === undefined
        ? `${short ?? atv.type}=#${Buffer.from(AsnConvert.serialize(atv.value)).toString('hex')}`
        : `${short}=${escapeValue(text)}`;
    }).join('+'));
  }
  return rdns.join(',');
}

function parseCertificate(der: Uint8Array): Certificate {
  try {
    return AsnConvert.parse(der, Certificate);
  } catch (err) {
    // SPEC §3: error details never echo a library's error text.
    throw new ClientCertificateError('invalid client certificate: not a DER-encoded X.509 certificate', { cause: err });
  }
}

/** The value as text if it is one of the string types a DN attribute can carry. */
function directoryString(v: AttributeValue): string | undefined {
  // `??` (not `||`): an empty string is still a string value.
  return v.utf8String ?? v.printableString ?? v.ia5String ?? v.bmpString ?? v.universalString ?? v.teletexString;
}

/** Text of every `oid` attribute in the name; undefined for non-string values. */
function attributeValues(name: Name, oid: string): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  for (const rdn of name) {
    for (const atv of rdn) if (atv.type === oid) out.push(directoryString(atv.value));
  }
  return out;
}

/**
 * The one non-empty value, or undefined if absent, empty, not a string or
 * ambiguous (several different values): identity must never depend on which
 * of two conflicting attributes we happened to read first.
 */
function single(values: (string | undefined)[]): string | undefined {
  const first = values[0];
  if (!first || values.some((v) => v !== first)) return undefined;
  return first;
}

/** "OFBBR-<org_id>" -> "<org_id>": split on the first '-' whatever the prefix. */
function orgIdFromOrganizationIdentifier(value: string | undefined): string | undefined {
  const dash = value?.indexOf('-') ?? -1;
  return dash < 0 ? undefined : value?.slice(dash + 1) || undefined;
}

/** RFC 4514 §2.4 escaping of a string attribute value. */
function escapeValue(value: string): string {
  return value
    .replace(/[,+"\\<>;]/g, '\\$&')
    .replace(/\0/g, '\\00')
    // Trailing space before leading, so a lone " " is escaped once, as a leading space.
    .replace(/(?<!^) $/, '\\ ')
    .replace(/^[ #]/, '\\$&');
}
