/**
 * RFC 5280 §4.2.1.10 name constraints, evaluated as OpenSSL 3 does (`check_name_constraints()` in
 * x509_vfy.c, `NAME_CONSTRAINTS_check()` and `NAME_CONSTRAINTS_check_CN()` in v3_ncons.c), so
 * that ingress verification refuses exactly the chains the TLS listener refuses (SPEC §3: "the
 * chain's name constraints included").
 *
 * Evaluated: permitted and excluded subtrees of type dNSName, rfc822Name, directoryName,
 * uniformResourceIdentifier and iPAddress, against the subject DN, its emailAddress attributes,
 * every subjectAltName and — on a leaf without a dNSName SAN — every commonName that looks like a
 * host name. A constraint of any other type (otherName, x400Address, ediPartyName, registeredID)
 * that meets a name of the same type cannot be checked and fails (UNSUPPORTED_CONSTRAINT_TYPE),
 * as do subtrees with a minimum other than 0 or any maximum (SUBTREE_MINMAX).
 * One deliberate difference: an SmtpUTF8Mailbox name (RFC 8398) against an rfc822Name constraint
 * whose host has A-labels (`xn--`) is refused (UNSUPPORTED_NAME_SYNTAX) where OpenSSL would
 * convert them to U-labels and compare.
 */
import type { AttributeValue, Name } from '@peculiar/asn1-x509';
import { asciiLower, attributeText, canonicalRdns, type RawGeneralName, type RawGeneralSubtree, type RawNameConstraints } from './general-names.js';

/** OpenSSL verify codes of a name-constraint failure (`X509_V_ERR_*` without the prefix). */
export type NameConstraintCode =
  | 'PERMITTED_VIOLATION'
  | 'EXCLUDED_VIOLATION'
  | 'SUBTREE_MINMAX'
  | 'UNSUPPORTED_CONSTRAINT_TYPE'
  | 'UNSUPPORTED_NAME_SYNTAX'
  | 'PROXY_SUBJECT_NAME_VIOLATION'
  | 'UNSPECIFIED';

/** What name-constraint checking needs from one certificate of the chain. */
export interface NameFacts {
  readonly subjectName: Name;
  readonly issuerName: Name;
  /** Carries an RFC 3820 proxyCertInfo. */
  readonly proxy: boolean;
  /** Subject name equals issuer name (OpenSSL EXFLAG_SI). */
  readonly selfIssued: boolean;
  readonly altNames: readonly RawGeneralName[] | undefined;
  readonly nameConstraints: RawNameConstraints | undefined;
}

/** undefined = the name satisfies the constraint. */
type Outcome = NameConstraintCode | undefined;

const OID_EMAIL_ADDRESS = '1.2.840.113549.1.9.1'; // PKCS #9 emailAddress
const OID_COMMON_NAME = '2.5.4.3';
const OID_SMTP_UTF8_MAILBOX = '1.3.6.1.5.5.7.8.9'; // RFC 8398 id-on-SmtpUTF8Mailbox
/** OpenSSL NAME_CHECK_MAX: names × constraints above this is refused outright (CVE-2016-2178 class of DoS). */
const NAME_CHECK_MAX = 1 << 20;
const IA5_TAG = 22;
const UTF8_TAG = 12;

/**
 * Every certificate is checked against the constraints of every certificate above it, the trust
 * anchor's included (RFC 5280 §6.1.4 (g) and OpenSSL); a self-issued certificate other than the
 * leaf is exempt (§6.1.3 (b)). Errors are appended in OpenSSL's order: the last one is the verdict.
 */
export function checkNameConstraints(chain: readonly NameFacts[], errors: { push(code: NameConstraintCode): unknown }): void {
  for (let i = chain.length - 1; i >= 0; i--) {
    const x = chain[i] as NameFacts;
    if (i !== 0 && x.selfIssued) continue;
    if (x.proxy && !proxySubjectValid(x)) errors.push('PROXY_SUBJECT_NAME_VIOLATION');
    for (let j = i + 1; j < chain.length; j++) {
      const nc = (chain[j] as NameFacts).nameConstraints;
      if (nc === undefined) continue;
      let outcome = checkCertificate(x, nc);
      // RFC 6125 §6.4.4 practice: a leaf with no dNSName SAN is constrained by its host-like CNs.
      if (outcome === undefined && i === 0 && !(x.altNames ?? []).some((g) => g.dNSName !== undefined)) outcome = checkCommonNames(x, nc);
      if (outcome !== undefined) errors.push(outcome);
    }
  }
}

/** RFC 3820 §3.4 (OpenSSL check_name_constraints()): a proxy's subject is its issuer's plus one single-valued CN RDN. */
function proxySubjectValid(x: NameFacts): boolean {
  const entries = x.subjectName.flat();
  const last = x.subjectName[x.subjectName.length - 1];
  if (entries.length < 2 || entries.length !== x.issuerName.flat().length + 1) return false;
  if (last === undefined || last.length !== 1 || last[0]?.type !== OID_COMMON_NAME) return false;
  return JSON.stringify([...canonicalRdns(x.subjectName)].slice(0, -1)) === JSON.stringify([...canonicalRdns(x.issuerName)]);
}

/** OpenSSL NAME_CONSTRAINTS_check(): subject DN, its emailAddress attributes, then each SAN. */
function checkCertificate(x: NameFacts, nc: RawNameConstraints): Outcome {
  const entries = x.subjectName.reduce((n, rdn) => n + rdn.length, 0);
  const names = entries + (x.altNames?.length ?? 0);
  const constraints = (nc.permittedSubtrees?.length ?? 0) + (nc.excludedSubtrees?.length ?? 0);
  if (names > 0 && constraints > Math.floor(NAME_CHECK_MAX / names)) return 'UNSPECIFIED';
  if (entries > 0) {
    const dn = match({ directoryName: x.subjectName }, nc);
    if (dn !== undefined) return dn;
    for (const atv of x.subjectName.flat()) {
      if (atv.type !== OID_EMAIL_ADDRESS) continue;
      const { tag, text } = attributeText(atv.value);
      if (tag !== IA5_TAG || text === undefined) return 'UNSUPPORTED_NAME_SYNTAX';
      const email = match({ rfc822Name: text }, nc);
      if (email !== undefined) return email;
    }
  }
  for (const gen of x.altNames ?? []) {
    const outcome = match(gen, nc);
    if (outcome !== undefined) return outcome;
  }
  return undefined;
}

/** OpenSSL NAME_CONSTRAINTS_check_CN(): CNs that look like DNS names are matched as dNSNames. */
function checkCommonNames(x: NameFacts, nc: RawNameConstraints): Outcome {
  for (const atv of x.subjectName.flat()) {
    if (atv.type !== OID_COMMON_NAME) continue;
    const text = attributeText(atv.value).text?.replace(/\0+$/, '');
    if (text === undefined || text.includes('\0')) return 'UNSUPPORTED_NAME_SYNTAX';
    if (!looksLikeDnsName(text)) continue;
    const outcome = match({ dNSName: text }, nc);
    if (outcome !== undefined) return outcome;
  }
  return undefined;
}

/** OpenSSL cn2dnsid(): letters, digits, `_`, inner `-`, and at least one inner `.` not next to `.` or `-`. */
function looksLikeDnsName(s: string): boolean {
  let dotted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (/[A-Za-z0-9_]/.test(c)) continue;
    const inner = i > 0 && i < s.length - 1;
    if (inner && c === '-') continue;
    if (inner && c === '.' && s[i + 1] !== '.' && s[i - 1] !== '-' && s[i + 1] !== '-') {
      dotted = true;
      continue;
    }
    return false;
  }
  return dotted;
}

type NameType = keyof RawGeneralName;

function typeOf(g: RawGeneralName): NameType | undefined {
  return (Object.keys(g) as NameType[]).find((k) => g[k] !== undefined);
}

/** RFC 8398 §6: an SmtpUTF8Mailbox otherName is matched against rfc822Name constraints. */
function effectiveType(g: RawGeneralName): NameType | undefined {
  return g.otherName?.typeId === OID_SMTP_UTF8_MAILBOX ? 'rfc822Name' : typeOf(g);
}

function sameType(type: NameType | undefined, gen: RawGeneralName, base: RawGeneralName): boolean {
  return type === typeOf(base) && (type !== 'otherName' || gen.otherName?.typeId === base.otherName?.typeId);
}

/** RFC 5280 §4.2.1.10: minimum MUST be 0 and maximum absent; OpenSSL refuses anything else. */
function minMaxValid(sub: RawGeneralSubtree): boolean {
  return sub.maximum === undefined && sub.minimum === 0;
}

/** OpenSSL nc_match(): one permitted subtree of the name's type must match; no excluded one may. */
function match(gen: RawGeneralName, nc: RawNameConstraints): Outcome {
  const type = effectiveType(gen);
  let state: 'none' | 'unmatched' | 'matched' = 'none';
  for (const sub of nc.permittedSubtrees ?? []) {
    if (!sameType(type, gen, sub.base)) continue;
    if (!minMaxValid(sub)) return 'SUBTREE_MINMAX';
    if (state === 'matched') continue;
    state = 'unmatched';
    const outcome = matchSingle(type, gen, sub.base);
    if (outcome === undefined) state = 'matched';
    else if (outcome !== 'PERMITTED_VIOLATION') return outcome;
  }
  if (state === 'unmatched') return 'PERMITTED_VIOLATION';
  for (const sub of nc.excludedSubtrees ?? []) {
    if (!sameType(type, gen, sub.base)) continue;
    if (!minMaxValid(sub)) return 'SUBTREE_MINMAX';
    const outcome = matchSingle(type, gen, sub.base);
    if (outcome === undefined) return 'EXCLUDED_VIOLATION';
    if (outcome !== 'PERMITTED_VIOLATION') return outcome;
  }
  return undefined;
}

/** OpenSSL nc_match_single(): PERMITTED_VIOLATION means "not within this subtree". */
function matchSingle(type: NameType | undefined, gen: RawGeneralName, base: RawGeneralName): Outcome {
  if (gen.otherName !== undefined) return type === 'rfc822Name' ? matchSmtpUtf8(gen.otherName.value, base.rfc822Name ?? '') : 'UNSUPPORTED_CONSTRAINT_TYPE';
  if (gen.directoryName !== undefined && base.directoryName !== undefined) return matchDn(gen.directoryName, base.directoryName);
  if (gen.dNSName !== undefined) return matchDns(gen.dNSName, base.dNSName ?? '');
  if (gen.rfc822Name !== undefined) return matchEmail(gen.rfc822Name, base.rfc822Name ?? '');
  if (gen.uniformResourceIdentifier !== undefined) return matchUri(gen.uniformResourceIdentifier, base.uniformResourceIdentifier ?? '');
  if (gen.iPAddress !== undefined && base.iPAddress !== undefined) return matchIp(Buffer.from(gen.iPAddress), Buffer.from(base.iPAddress));
  return 'UNSUPPORTED_CONSTRAINT_TYPE';
}

/** RFC 5280 §4.2.1.10 directoryName: the constraint's RDNs are the first RDNs of the name (OpenSSL compares canonical forms). */
function matchDn(name: Name, base: Name): Outcome {
  const n = canonicalRdns(name);
  const b = canonicalRdns(base);
  return b.length <= n.length && b.every((rdn, i) => rdn === n[i]) ? undefined : 'PERMITTED_VIOLATION';
}

/** RFC 5280 §4.2.1.10 dNSName: the name ends with the constraint, on a label boundary; empty matches all. */
function matchDns(dns: string, base: string): Outcome {
  if (base.length === 0) return undefined;
  if (dns.length < base.length) return 'PERMITTED_VIOLATION';
  const tail = dns.slice(dns.length - base.length);
  if (dns.length > base.length && !base.startsWith('.') && dns[dns.length - base.length - 1] !== '.') return 'PERMITTED_VIOLATION';
  return asciiLower(tail) === asciiLower(base) ? undefined : 'PERMITTED_VIOLATION';
}

/** RFC 5280 §4.2.1.10 rfc822Name: a mailbox (local part case-sensitive), a host, or `.domain` for any host below it. */
function matchEmail(email: string, base: string): Outcome {
  const emailAt = email.lastIndexOf('@');
  const baseAt = base.lastIndexOf('@');
  if (emailAt < 0) return 'UNSUPPORTED_NAME_SYNTAX';
  if (baseAt < 0 && base.startsWith('.')) {
    return email.length > base.length && asciiLower(email.slice(email.length - base.length)) === asciiLower(base) ? undefined : 'PERMITTED_VIOLATION';
  }
  let baseHost = base;
  if (baseAt >= 0) {
    if (baseAt > 0) {
      if (baseAt !== emailAt) return 'PERMITTED_VIOLATION';
      if (base.slice(0, baseAt).includes('\0') || email.slice(0, emailAt).includes('\0')) return 'UNSUPPORTED_NAME_SYNTAX';
      if (base.slice(0, baseAt) !== email.slice(0, emailAt)) return 'PERMITTED_VIOLATION';
    }
    baseHost = base.slice(baseAt + 1);
  }
  return asciiLower(baseHost) === asciiLower(email.slice(emailAt + 1)) ? undefined : 'PERMITTED_VIOLATION';
}

/** RFC 8398 §6 (OpenSSL nc_email_eai()), for ASCII constraint hosts only: see the file header. */
function matchSmtpUtf8(value: ArrayBuffer, base: string): Outcome {
  if (base.includes('\0') || /(^|[.@])xn--/i.test(base)) return 'UNSUPPORTED_NAME_SYNTAX';
  // The otherName value must be a UTF8String.
  const { tag, text: email } = attributeText({ anyValue: value } as AttributeValue);
  if (tag !== UTF8_TAG || email === undefined) return 'UNSUPPORTED_NAME_SYNTAX';
  const at = email.lastIndexOf('@');
  if (at < 0) return 'UNSUPPORTED_NAME_SYNTAX';
  if (base.startsWith('.')) {
    return email.length > base.length && asciiLower(email.slice(email.length - base.length)) === asciiLower(base) ? undefined : 'PERMITTED_VIOLATION';
  }
  const baseAt = base.indexOf('@');
  if (baseAt > 0 && base.slice(0, baseAt) !== email.slice(0, at)) return 'PERMITTED_VIOLATION';
  return asciiLower(base.slice(baseAt + 1)) === asciiLower(email.slice(at + 1)) ? undefined : 'PERMITTED_VIOLATION';
}

/** RFC 5280 §4.2.1.10 URI: the host part (after `scheme://`, before `:` or `/`) equals the constraint, or ends with a `.domain` one. */
function matchUri(uri: string, base: string): Outcome {
  const colon = uri.indexOf(':');
  if (colon < 0 || uri.length - colon < 3 || uri[colon + 1] !== '/' || uri[colon + 2] !== '/') return 'UNSUPPORTED_NAME_SYNTAX';
  const rest = uri.slice(colon + 3);
  const end = rest.indexOf(':') >= 0 ? rest.indexOf(':') : rest.indexOf('/');
  const host = end < 0 ? rest : rest.slice(0, end);
  if (host.length === 0) return 'UNSUPPORTED_NAME_SYNTAX';
  if (base.startsWith('.')) {
    return host.length > base.length && asciiLower(host.slice(host.length - base.length)) === asciiLower(base) ? undefined : 'PERMITTED_VIOLATION';
  }
  return asciiLower(host) === asciiLower(base) ? undefined : 'PERMITTED_VIOLATION';
}

/** RFC 5280 §4.2.1.10 iPAddress: address and mask (8 or 32 octets); the address under the mask equals the constraint's. */
function matchIp(ip: Buffer, base: Buffer): Outcome {
  if (ip.length !== 4 && ip.length !== 16) return 'UNSUPPORTED_NAME_SYNTAX';
  if (base.length !== 8 && base.length !== 32) return 'UNSUPPORTED_NAME_SYNTAX';
  if (ip.length * 2 !== base.length) return 'PERMITTED_VIOLATION'; // IPv4 never matches IPv6
  for (let i = 0; i < ip.length; i++) {
    const mask = base[ip.length + i] as number;
    if (((ip[i] as number) & mask) !== ((base[i] as number) & mask)) return 'PERMITTED_VIOLATION';
  }
  return undefined;
}
