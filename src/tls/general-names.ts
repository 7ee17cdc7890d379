/**
 * X.509 names as OpenSSL compares them, for chain verification (verify-chain.ts) and name
 * constraints (name-constraints.ts). Decoding is @peculiar/asn1-x509's and asn1js's; this module
 * only defines a GeneralName schema that keeps iPAddress as bytes and reproduces OpenSSL's
 * canonical form of a distinguished name.
 */
import { AsnArray, AsnConvert, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes } from '@peculiar/asn1-schema';
import { EDIPartyName, Name, OtherName, type AttributeValue } from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';

/**
 * RFC 5280 §4.2.1.6 GeneralName. @peculiar/asn1-x509's own class turns iPAddress into text and
 * loses a non-contiguous mask (`255.0.255.0`), which OpenSSL applies byte by byte; this one keeps
 * the OCTET STRING. The schema is declared by calling the library's decorators directly.
 */
export class RawGeneralName {
  otherName?: OtherName;
  rfc822Name?: string;
  dNSName?: string;
  x400Address?: ArrayBuffer;
  directoryName?: Name;
  ediPartyName?: EDIPartyName;
  uniformResourceIdentifier?: string;
  iPAddress?: ArrayBuffer;
  registeredID?: string;
}
AsnProp({ type: OtherName, context: 0, implicit: true })(RawGeneralName.prototype, 'otherName');
AsnProp({ type: AsnPropTypes.IA5String, context: 1, implicit: true })(RawGeneralName.prototype, 'rfc822Name');
AsnProp({ type: AsnPropTypes.IA5String, context: 2, implicit: true })(RawGeneralName.prototype, 'dNSName');
AsnProp({ type: AsnPropTypes.Any, context: 3, implicit: true })(RawGeneralName.prototype, 'x400Address');
AsnProp({ type: Name, context: 4, implicit: false })(RawGeneralName.prototype, 'directoryName');
AsnProp({ type: EDIPartyName, context: 5 })(RawGeneralName.prototype, 'ediPartyName');
AsnProp({ type: AsnPropTypes.IA5String, context: 6, implicit: true })(RawGeneralName.prototype, 'uniformResourceIdentifier');
AsnProp({ type: AsnPropTypes.OctetString, context: 7, implicit: true })(RawGeneralName.prototype, 'iPAddress');
AsnProp({ type: AsnPropTypes.ObjectIdentifier, context: 8, implicit: true })(RawGeneralName.prototype, 'registeredID');
AsnType({ type: AsnTypeTypes.Choice })(RawGeneralName);

/** RFC 5280 §4.2.1.6 GeneralNames (the subjectAltName value). */
export class RawGeneralNames extends AsnArray<RawGeneralName> {}
AsnType({ type: AsnTypeTypes.Sequence, itemType: RawGeneralName })(RawGeneralNames);

/** RFC 5280 §4.2.1.10 GeneralSubtree. */
export class RawGeneralSubtree {
  base = new RawGeneralName();
  minimum = 0;
  maximum?: number;
}
AsnProp({ type: RawGeneralName })(RawGeneralSubtree.prototype, 'base');
AsnProp({ type: AsnPropTypes.Integer, context: 0, defaultValue: 0, implicit: true })(RawGeneralSubtree.prototype, 'minimum');
AsnProp({ type: AsnPropTypes.Integer, context: 1, optional: true, implicit: true })(RawGeneralSubtree.prototype, 'maximum');

export class RawGeneralSubtrees extends AsnArray<RawGeneralSubtree> {}
AsnType({ type: AsnTypeTypes.Sequence, itemType: RawGeneralSubtree })(RawGeneralSubtrees);

/** RFC 5280 §4.2.1.10 NameConstraints. */
export class RawNameConstraints {
  permittedSubtrees?: RawGeneralSubtrees;
  excludedSubtrees?: RawGeneralSubtrees;
}
AsnProp({ type: RawGeneralSubtrees, context: 0, optional: true, implicit: true })(RawNameConstraints.prototype, 'permittedSubtrees');
AsnProp({ type: RawGeneralSubtrees, context: 1, optional: true, implicit: true })(RawNameConstraints.prototype, 'excludedSubtrees');

/** Decodes an extension value with `schema`; throws what the ASN.1 library throws. */
export function decodeExtension<T>(value: ArrayBuffer, schema: new () => T): T {
  return AsnConvert.parse(value, schema);
}

// ASN.1 universal tags of the string types an attribute value can carry (X.680 §8.6).
const TAG = { utf8: 12, numeric: 18, printable: 19, teletex: 20, ia5: 22, visible: 26, general: 27, universal: 28, bmp: 30 } as const;

/** An attribute value's universal tag and, for a character string, its text (8-bit types as Latin-1, as OpenSSL reads them). */
export interface AttributeText {
  readonly tag: number;
  readonly text: string | undefined;
  /** DER of the value, for values compared as bytes. */
  readonly der: string;
}

/** Reads an AttributeValue as OpenSSL's ASN1_STRING: its type and, when it has one, its text. */
export function attributeText(v: AttributeValue): AttributeText {
  const der = Buffer.from(AsnConvert.serialize(v)).toString('hex');
  if (v.utf8String !== undefined) return { tag: TAG.utf8, text: v.utf8String, der };
  if (v.printableString !== undefined) return { tag: TAG.printable, text: v.printableString, der };
  if (v.teletexString !== undefined) return { tag: TAG.teletex, text: v.teletexString, der };
  if (v.ia5String !== undefined) return { tag: TAG.ia5, text: v.ia5String, der };
  if (v.bmpString !== undefined) return { tag: TAG.bmp, text: v.bmpString, der };
  if (v.universalString !== undefined) return { tag: TAG.universal, text: v.universalString, der };
  // Types @peculiar leaves as `anyValue` (NumericString, VisibleString, GeneralString, non-strings),
  // and otherName values handed in as one.
  const parsed = v.anyValue === undefined ? undefined : asn1js.fromBER(v.anyValue).result;
  const tag = parsed !== undefined && parsed.idBlock.tagClass === 1 ? parsed.idBlock.tagNumber : -1;
  const stringTypes: readonly number[] = [TAG.utf8, TAG.numeric, TAG.visible, TAG.general];
  const text = stringTypes.includes(tag) ? (parsed?.valueBlock as { value?: unknown } | undefined)?.value : undefined;
  return { tag, text: typeof text === 'string' ? text : undefined, der };
}

/** OpenSSL ASN1_MASK_CANON: the string types whose values are compared case- and space-insensitively. */
const CANON_TAGS: ReadonlySet<number> = new Set([TAG.utf8, TAG.bmp, TAG.universal, TAG.printable, TAG.teletex, TAG.ia5, TAG.visible]);
const SPACE = /[ \t\n\v\f\r]+/g;

/**
 * OpenSSL `x509_name_canon()`: one string per RDN, its attributes sorted; string values of the
 * ASN1_MASK_CANON types trimmed, inner white space collapsed, ASCII lower-cased; other values by
 * their DER. Two names are equal (X509_NAME_cmp) when these lists are equal, and a directoryName
 * constraint holds when its list is a prefix of the name's (RFC 5280 §4.2.1.10, `nc_dn()`).
 */
export function canonicalRdns(name: Name): string[] {
  return name.map((rdn) =>
    rdn
      .map((atv) => {
        const { tag, text, der } = attributeText(atv.value);
        const value = text !== undefined && CANON_TAGS.has(tag) ? `s:${asciiLower(text.replace(SPACE, ' ').replace(/^ | $/g, ''))}` : `x:${der}`;
        return JSON.stringify([atv.type, value]);
      })
      .sort()
      .join('+'),
  );
}

/** A key equal for names OpenSSL's X509_NAME_cmp() finds equal. */
export function canonicalName(name: Name): string {
  return JSON.stringify(canonicalRdns(name));
}

/** OpenSSL's ossl_tolower(): ASCII letters only. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
