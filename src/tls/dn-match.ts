/**
 * RFC 4517 §4.2.15 `distinguishedNameMatch` of two RFC 4514 DN strings: what the DCR guard
 * (SPEC §9 row 10) uses to compare a client's `tls_client_auth_subject_dn` with the subject of
 * its certificate (`identity.ts` `rfc4514Dn`), and what `guarita dn CERT --match DN` reports.
 *
 * Outside input, so strict and bounded: a string that does not parse is a DnSyntaxError naming
 * the rule it broke, and {@link distinguishedNameMatch} turns any such string into "no match".
 * `#`-hex values are BER, decoded by asn1js and @peculiar/asn1-x509 (the library that decodes
 * the certificate side), never by hand.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { AttributeValue } from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';
// RFC 4514 §3 descriptors, used to print an attribute back in the OFB form, as identity.ts writes it.
import { OID_UID, SHORT_NAMES } from './identity.js';

/** One attribute type and value of an RDN. */
export interface DnAttribute {
  /** Attribute type as a dotted OID (descriptors resolved). */
  readonly type: string;
  /**
   * The value's text: the unescaped string form, or the decoded string of a `#`-hex BER string
   * value. A `#`-hex value of any other ASN.1 type stays `#` + lowercase hex (see `binary`).
   */
  readonly value: string;
  /** True when `value` is `#`-hex of a non-string BER value (compared byte for byte). */
  readonly binary: boolean;
}

/** A relative distinguished name: a set of attribute-value pairs, in the order written. */
export type Rdn = readonly DnAttribute[];

/** A DN string that is not RFC 4514 (or is beyond the bounds below); `position` is a 0-based index into it. */
export class DnSyntaxError extends Error {
  override name = 'DnSyntaxError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} (at character ${position + 1})`);
  }
}

/** Bounds on outside input: far above any real subject (an OFB DN is ~600 characters and 10 RDNs). */
export const MAX_DN_LENGTH = 4096;
export const MAX_RDNS = 64;
export const MAX_ATTRIBUTES_PER_RDN = 16;


/**
 * Descriptors accepted on input (lower-cased). RFC 4514 §3 lists the ones every implementation
 * knows; the others are RFC 4519 / X.520 names that tools print for the attributes of an OFB
 * subject (OpenSSL: `organizationIdentifier`, `jurisdictionC`, `businessCategory`, `serialNumber`)
 * — SEC DCR ID3 item 11 asks an AS to accept all X.500 attribute names of the OFB profiles.
 * `SN` is surname (RFC 4519 §2.32), never serialNumber.
 */
const DESCRIPTORS: ReadonlyMap<string, string> = new Map([
  // RFC 4514 §3
  ['cn', '2.5.4.3'], ['commonname', '2.5.4.3'],
  ['l', '2.5.4.7'], ['localityname', '2.5.4.7'],
  ['st', '2.5.4.8'], ['stateorprovincename', '2.5.4.8'],
  ['o', '2.5.4.10'], ['organizationname', '2.5.4.10'],
  ['ou', '2.5.4.11'], ['organizationalunitname', '2.5.4.11'],
  ['c', '2.5.4.6'], ['countryname', '2.5.4.6'],
  ['street', '2.5.4.9'], ['streetaddress', '2.5.4.9'],
  ['dc', '0.9.2342.19200300.100.1.25'], ['domaincomponent', '0.9.2342.19200300.100.1.25'],
  ['uid', OID_UID], ['userid', OID_UID],
  // OFB Certificate Standard subject attributes (ofb/requirements.md §5)
  ['serialnumber', '2.5.4.5'],
  ['businesscategory', '2.5.4.15'],
  ['organizationidentifier', '2.5.4.97'],
  ['jurisdictionc', '1.3.6.1.4.1.311.60.2.1.3'], ['jurisdictioncountryname', '1.3.6.1.4.1.311.60.2.1.3'],
  ['jurisdictionst', '1.3.6.1.4.1.311.60.2.1.2'], ['jurisdictionstateorprovincename', '1.3.6.1.4.1.311.60.2.1.2'],
  ['jurisdictionl', '1.3.6.1.4.1.311.60.2.1.1'], ['jurisdictionlocalityname', '1.3.6.1.4.1.311.60.2.1.1'],
  // Other RFC 4519 / PKCS #9 names found in certificate subjects
  ['sn', '2.5.4.4'], ['surname', '2.5.4.4'],
  ['givenname', '2.5.4.42'], ['title', '2.5.4.12'], ['initials', '2.5.4.43'],
  ['generationqualifier', '2.5.4.44'], ['dnqualifier', '2.5.4.46'], ['pseudonym', '2.5.4.65'],
  ['postalcode', '2.5.4.17'], ['emailaddress', '1.2.840.113549.1.9.1'],
]);

/** RFC 4514 §3 `special`: the characters a backslash may escape as themselves. */
const ESCAPABLE = new Set(['"', '+', ',', ';', '<', '>', '\\', ' ', '#', '=']);
/** RFC 4514 §3: characters that may not appear unescaped in a string value. */
const MUST_ESCAPE = new Set(['"', ';', '<', '>', '\u0000']);

/**
 * Parses an RFC 4514 string into its RDNs, in the order written (for a certificate's subject,
 * the last RDN of the encoding first, RFC 4514 §2.1). The empty string is the empty DN.
 *
 * Accepted beyond the letter of RFC 4514 (harmless for matching, since caseIgnoreMatch drops
 * leading and trailing spaces): spaces around `,`, `+` and `=` (RFC 2253 §4 asks parsers to allow
 * them; SEC DCR ID2 examples have them), unescaped leading or trailing spaces, and the `OID.`
 * prefix before a dotted OID (RFC 1779).
 * @throws DnSyntaxError on malformed input, naming the rule.
 */
export function parseDistinguishedName(text: string): readonly Rdn[] {
  if (typeof text !== 'string') throw new TypeError('a DN must be a string');
  return new Parser(text).parse();
}

/**
 * RFC 4517 §4.2.15 distinguishedNameMatch of two RFC 4514 DN strings; false when either does not
 * parse. The same number of RDNs, matched by position; within an RDN the same set of
 * attribute-value pairs in any order; types by descriptor or dotted OID; values by caseIgnoreMatch
 * (RFC 4517 §4.2.11, see {@link prepareValue}) after `#`-hex BER string values are decoded, so
 * `#0C…`, `#13…`, hex case and the plain string all match; other BER values byte for byte.
 * An empty DN matches nothing: it names no one. Never throws.
 */
export function distinguishedNameMatch(a: string, b: string): boolean {
  try {
    return dnMismatch(a, b) === undefined;
  } catch {
    return false;
  }
}

/** Why two DN strings do not match; `side` 0 is the first argument, 1 the second. */
export type DnMismatch =
  | { readonly reason: 'syntax'; readonly side: 0 | 1; readonly error: DnSyntaxError }
  | { readonly reason: 'empty'; readonly side: 0 | 1 }
  | { readonly reason: 'rdn-count'; readonly counts: readonly [number, number] }
  /** `index` is 0-based, counting RDNs as written (from the left). */
  | { readonly reason: 'rdn'; readonly index: number; readonly rdns: readonly [Rdn, Rdn] };

/**
 * The first reason `a` and `b` do not match by {@link distinguishedNameMatch}, or undefined when
 * they match: for messages (the CLI, a refusal's description).
 */
export function dnMismatch(a: string, b: string): DnMismatch | undefined {
  const parsed: (readonly Rdn[])[] = [];
  for (const side of [0, 1] as const) {
    try {
      parsed.push(parseDistinguishedName(side === 0 ? a : b));
    } catch (err) {
      if (err instanceof DnSyntaxError) return { reason: 'syntax', side, error: err };
      if (typeof (side === 0 ? a : b) !== 'string') return { reason: 'syntax', side, error: new DnSyntaxError('not a string', 0) };
      throw err;
    }
  }
  const [x = [], y = []] = parsed;
  if (x.length === 0) return { reason: 'empty', side: 0 };
  if (y.length === 0) return { reason: 'empty', side: 1 };
  // RFC 4517 §4.2.15: "same number of RDNs", and RDNs "in the same position" match.
  if (x.length !== y.length) return { reason: 'rdn-count', counts: [x.length, y.length] };
  for (let i = 0; i < x.length; i++) {
    const [r, s] = [x[i] ?? [], y[i] ?? []];
    if (!sameSet(r.map(matchKey), s.map(matchKey))) return { reason: 'rdn', index: i, rdns: [r, s] };
  }
  return undefined;
}

/** An RDN written back as RFC 4514 text for messages: RFC 4514 §3 descriptors, else dotted OIDs; string values as text. */
export function formatRdn(rdn: Rdn): string {
  return rdn
    .map((atv) => {
      const type = SHORT_NAMES.get(atv.type) ?? atv.type;
      return `${type}=${atv.binary ? atv.value : escapeValue(atv.value)}`;
    })
    .join('+');
}

/**
 * RFC 4517 §4.2.11 caseIgnoreMatch preparation, RFC 4518 simplified: whitespace characters
 * become SPACE (§2.2), case folded (§2.2; upper-then-lower case, which also folds ß to ss and,
 * more loosely than Unicode case folding, dotless ı to i), NFKC (§2.3), then
 * insignificant space handling (§2.6.1): leading and trailing spaces dropped, inner runs as one.
 * Not done: mapping controls and zero-width characters to nothing and refusing prohibited code
 * points (§2.2, §2.4) — values that differ only there do not match, which fails closed.
 */
function prepareValue(value: string): string {
  return value
    .replace(/[\t\n\v\f\r\u0085\u2028\u2029\p{Zs}]/gu, ' ')
    .normalize('NFKC')
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC')
    .replace(/ {2,}/g, ' ')
    .replace(/^ | $/g, '');
}

/** The form two attribute-value pairs share exactly when they match. */
function matchKey(atv: DnAttribute): string {
  return `${atv.type}\u0000${atv.binary ? `b${atv.value}` : `s${prepareValue(atv.value)}`}`;
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((k, i) => k === sb[i]);
}

/** RFC 4514 §2.4 escaping, as identity.ts writes values. */
function escapeValue(value: string): string {
  return value
    .replace(/[,+"\\<>;]/g, '\\$&')
    .replace(/\0/g, '\\00')
    .replace(/(?<!^) $/, '\\ ')
    .replace(/^[ #]/, '\\$&');
}

/** One left-to-right pass over the string; `i` is the index of the next character. */
class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): Rdn[] {
    const s = this.s;
    if (s.length > MAX_DN_LENGTH) throw new DnSyntaxError(`longer than ${MAX_DN_LENGTH} characters`, MAX_DN_LENGTH);
    // A lone UTF-16 surrogate is no Unicode text at all: its UTF-8 form would be a substitute.
    const lone = /[\uD800-\uDFFF]/u.exec(s);
    if (lone) throw new DnSyntaxError('an unpaired UTF-16 surrogate is not text', lone.index);
    this.skipSpaces();
    // RFC 4514 §2.1: the empty string is the empty RDNSequence.
    if (this.i === s.length) return [];
    const rdns: Rdn[] = [];
    let rdn: DnAttribute[] = [];
    let keys = new Set<string>();
    for (;;) {
      const atv = this.attribute();
      const key = matchKey(atv);
      // An RDN is a SET: the same pair twice would make "the same set" ambiguous.
      if (keys.has(key)) throw new DnSyntaxError('an RDN repeats the same attribute value', this.i);
      keys.add(key);
      rdn.push(atv);
      if (rdn.length > MAX_ATTRIBUTES_PER_RDN) throw new DnSyntaxError(`more than ${MAX_ATTRIBUTES_PER_RDN} attributes in one RDN`, this.i);
      this.skipSpaces();
      if (this.i === s.length) break;
      const sep = s[this.i];
      this.i++;
      if (sep === ',') {
        rdns.push(rdn);
        rdn = [];
        keys = new Set();
        if (rdns.length >= MAX_RDNS) throw new DnSyntaxError(`more than ${MAX_RDNS} RDNs`, this.i);
      } else if (sep !== '+') {
        // RFC 4514 §3: RDNs are separated by ',' and multi-valued RDN members by '+' (no ';' as in RFC 2253 §4).
        throw new DnSyntaxError(`expected ',' or '+' after a value, found '${sep}'`, this.i - 1);
      }
      this.skipSpaces();
      if (this.i === s.length) throw new DnSyntaxError(`nothing after '${sep}'`, this.i);
    }
    rdns.push(rdn);
    return rdns;
  }

  private skipSpaces(): void {
    while (this.s[this.i] === ' ') this.i++;
  }

  /** RFC 4514 §3 attributeTypeAndValue. */
  private attribute(): DnAttribute {
    const type = this.attributeType();
    this.skipSpaces();
    if (this.s[this.i] !== '=') throw new DnSyntaxError(`expected '=' after the attribute type`, this.i);
    this.i++;
    this.skipSpaces();
    return this.s[this.i] === '#' ? this.hexValue(type) : { type, value: this.stringValue(), binary: false };
  }

  /** RFC 4514 §3 attributeType: a descriptor (RFC 4512 keystring) or numericoid, optionally `OID.`-prefixed. */
  private attributeType(): string {
    const start = this.i;
    const rest = this.s.slice(start, start + 130);
    const oid = /^(?:oid\.)?((?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+)(?![0-9A-Za-z.-])/i.exec(rest);
    if (oid) {
      this.i += oid[0].length;
      return oid[1] as string;
    }
    const key = /^[A-Za-z][A-Za-z0-9-]*(?![0-9A-Za-z.-])/.exec(rest);
    if (key) {
      const resolved = DESCRIPTORS.get(key[0].toLowerCase());
      if (resolved === undefined) throw new DnSyntaxError(`unknown attribute type '${key[0]}' (write it as a dotted OID)`, start);
      this.i += key[0].length;
      return resolved;
    }
    // RFC 4512 §1.4 numericoid: no leading zeros, at least two arcs.
    throw new DnSyntaxError('expected an attribute type (a descriptor such as CN, or a dotted OID such as 2.5.4.3)', start);
  }

  /** RFC 4514 §3 `#` hexstring: the BER encoding of the value (§2.4). */
  private hexValue(type: string): DnAttribute {
    const start = this.i;
    const hex = /^#([0-9A-Fa-f]*)/.exec(this.s.slice(start))?.[1] ?? '';
    this.i += 1 + hex.length;
    if (hex.length === 0 || hex.length % 2 !== 0) throw new DnSyntaxError("'#' must be followed by an even number of hex digits", start);
    const next = this.s[this.i];
    if (next !== undefined && next !== ',' && next !== '+' && next !== ' ') throw new DnSyntaxError(`'${next}' inside a #hex value`, this.i);
    return { type, ...decodeBer(new Uint8Array(Buffer.from(hex, 'hex')), start) };
  }

  /** RFC 4514 §3 `string`, unescaped; `\XX` pairs are UTF-8 octets (§2.4). */
  private stringValue(): string {
    const s = this.s;
    const start = this.i;
    // Runs of plain characters are copied as they are; only escapes are collected as bytes.
    const parts: Buffer[] = [];
    let run = this.i;
    let escaped = false;
    while (this.i < s.length) {
      const c = s[this.i] as string;
      if (c === ',' || c === '+') break;
      if (c === '\\') {
        parts.push(Buffer.from(s.slice(run, this.i), 'utf8'));
        escaped = true;
        const next = s[this.i + 1];
        const pair = s.slice(this.i + 1, this.i + 3);
        if (/^[0-9A-Fa-f]{2}$/.test(pair)) {
          parts.push(Buffer.from([parseInt(pair, 16)]));
          this.i += 3;
        } else if (next !== undefined && ESCAPABLE.has(next)) {
          parts.push(Buffer.from(next));
          this.i += 2;
        } else {
          throw new DnSyntaxError(`'\\' must be followed by two hex digits or one of "+,;<>\\ #= (RFC 4514 §3)`, this.i);
        }
        run = this.i;
        continue;
      }
      if (MUST_ESCAPE.has(c)) throw new DnSyntaxError(`'${c === '\u0000' ? '\\0' : c}' must be escaped in a value (RFC 4514 §3)`, this.i);
      this.i++;
    }
    // No unpaired surrogates here (checked first), so a plain run is already Unicode text.
    if (!escaped) return s.slice(start, this.i);
    parts.push(Buffer.from(s.slice(run, this.i), 'utf8'));
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Buffer.concat(parts));
    } catch {
      throw new DnSyntaxError('the \\XX escapes of this value are not UTF-8 (RFC 4514 §2.4)', start);
    }
  }
}

/** The string types a DN attribute value may have whose content must be checked before use. */
const UTF8_STRING = 12;
const ASCII_STRINGS = new Set([19 /* PrintableString */, 22 /* IA5String */]);
const UNIVERSAL_STRING = 28;
const BMP_STRING = 30;
const CHECKED_STRINGS = new Set([UTF8_STRING, ...ASCII_STRINGS, UNIVERSAL_STRING, BMP_STRING]);

/**
 * A `#`-hex value: exactly one BER element (asn1js), whose string form comes from the same
 * @peculiar/asn1-x509 AttributeValue that decodes certificate subjects, so both sides agree.
 */
function decodeBer(ber: Uint8Array, position: number): { value: string; binary: boolean } {
  let result: asn1js.AsnType | undefined;
  try {
    const decoded = asn1js.fromBER(ber);
    if (decoded.offset === ber.byteLength && !decoded.result.error) result = decoded.result;
  } catch {
    // asn1js throws, rather than reports, on some bad contents (an odd-length BMPString).
  }
  if (result === undefined) throw new DnSyntaxError('the #hex value is not exactly one BER element (RFC 4514 §2.4)', position);
  const id = result.idBlock;
  const content = (result.valueBlock as { valueHexView?: Uint8Array }).valueHexView;
  if (id.tagClass === 1 && CHECKED_STRINGS.has(id.tagNumber)) {
    // Where the ASN.1 library's decoding is lossy, two different encodings would compare equal:
    // it reads invalid UTF-8 and 8-bit bytes in an ASCII type as Latin-1, keeps only the low 16
    // bits of each UniversalString character and drops the odd byte of a BMPString. Fail closed.
    if (id.isConstructed || content === undefined) throw new DnSyntaxError('a constructed string encoding in a #hex value', position);
    if (id.tagNumber === UTF8_STRING && !isUtf8(content)) throw new DnSyntaxError('a #hex UTF8String that is not UTF-8', position);
    if (ASCII_STRINGS.has(id.tagNumber) && content.some((b) => b > 0x7f)) throw new DnSyntaxError('a #hex PrintableString or IA5String with non-ASCII bytes', position);
    if (id.tagNumber === BMP_STRING && content.length % 2 !== 0) throw new DnSyntaxError('a #hex BMPString of an odd number of bytes', position);
    if (id.tagNumber === UNIVERSAL_STRING && !isBmpUcs4(content)) throw new DnSyntaxError('a #hex UniversalString beyond the BMP (not supported)', position);
  }
  let parsed: AttributeValue;
  try {
    parsed = AsnConvert.parse(ber, AttributeValue);
  } catch {
    throw new DnSyntaxError('the #hex value is not a BER attribute value (RFC 4514 §2.4)', position);
  }
  const text = parsed.utf8String ?? parsed.printableString ?? parsed.ia5String ?? parsed.bmpString ?? parsed.universalString ?? parsed.teletexString;
  // A BMPString can hold half a surrogate pair: no Unicode text, so nothing to compare.
  if (text !== undefined && /[\uD800-\uDFFF]/u.test(text)) throw new DnSyntaxError('a #hex string value with an unpaired UTF-16 surrogate', position);
  return text === undefined ? { value: `#${Buffer.from(ber).toString('hex')}`, binary: true } : { value: text, binary: false };
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** UCS-4 of characters in the BMP only (what the ASN.1 library decodes without loss); no surrogates. */
function isBmpUcs4(bytes: Uint8Array): boolean {
  if (bytes.length % 4 !== 0) return false;
  for (let k = 0; k < bytes.length; k += 4) {
    if (bytes[k] !== 0 || bytes[k + 1] !== 0) return false;
    const unit = ((bytes[k + 2] as number) << 8) | (bytes[k + 3] as number);
    if (unit >= 0xd800 && unit <= 0xdfff) return false;
  }
  return true;
}
