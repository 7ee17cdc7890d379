// Properties of RFC 4517 distinguishedNameMatch (SPEC §9 row 10, ofb/requirements.md §8 "DN strings"):
// a DN matches itself in every equivalent spelling (and as identity.ts prints it from a certificate);
// a changed value, a dropped or added RDN, or two different RDNs swapped never match; random strings
// never throw and match exactly when an independent comparison of their parsed RDNs says so.
import t from 'tap';
import fc from 'fast-check';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';
import { DnSyntaxError, distinguishedNameMatch as match, parseDistinguishedName, type Rdn } from '../../src/tls/dn-match.js';
import { rfc4514Dn } from '../../src/tls/identity.js';

const RUNS = Number(process.env.GUARITA_PROPERTY_RUNS ?? 1) * 300;

/** Attribute types with the names a client may write for them (the first is the one identity.ts prints). */
const TYPES: { oid: string; names: string[] }[] = [
  { oid: '2.5.4.3', names: ['CN', 'commonName'] },
  { oid: '2.5.4.10', names: ['O', 'organizationName'] },
  { oid: '2.5.4.11', names: ['OU'] },
  { oid: '2.5.4.7', names: ['L', 'localityName'] },
  { oid: '2.5.4.8', names: ['ST'] },
  { oid: '2.5.4.6', names: ['C', 'countryName'] },
  { oid: '0.9.2342.19200300.100.1.1', names: ['UID', 'userid'] },
  { oid: '0.9.2342.19200300.100.1.25', names: ['DC'] },
  { oid: '2.5.4.9', names: ['STREET'] },
  { oid: '2.5.4.97', names: ['organizationIdentifier'] },
  { oid: '2.5.4.5', names: ['serialNumber'] },
  { oid: '2.5.4.15', names: ['businessCategory'] },
  { oid: '1.3.6.1.4.1.311.60.2.1.3', names: ['jurisdictionC', 'jurisdictionCountryName'] },
  { oid: '1.2.3.4.5', names: [] },
];

interface Ava {
  type: (typeof TYPES)[number];
  text: string;
}
type Model = Ava[][];

/** Text: ASCII, the characters RFC 4514 escapes, spaces, non-ASCII in and beyond the BMP. */
const CHAR = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }).filter((c) => c !== '\u0000'),
  fc.constantFrom(',', '+', '"', '\\', '<', '>', ';', '#', '=', ' ', ' ', '\u0000', 'ã', 'É', 'ß', '中', '😀', '\ufb01'),
);
const text = fc.array(CHAR, { maxLength: 8 }).map((cs) => cs.join(''));
/** Only ASCII and the escaped characters: for properties that need an independent notion of "equal". */
const asciiText = fc.array(fc.constantFrom('a', 'B', 'c', '1', ' ', ',', '+', '#', '\\', '"', '='), { minLength: 1, maxLength: 6 }).map((cs) => cs.join(''));

const modelOf = (value: fc.Arbitrary<string>, minRdns = 1): fc.Arbitrary<Model> =>
  fc.array(
    fc.uniqueArray(fc.record({ type: fc.constantFrom(...TYPES), text: value }), { minLength: 1, maxLength: 3, selector: (a) => a.type.oid }),
    { minLength: minRdns, maxLength: 6 },
  );

/** @peculiar/asn1-x509 AttributeValue member for each string tag. */
const STRING_KINDS: Record<number, string> = { 0x0c: 'utf8String', 0x13: 'printableString', 0x16: 'ia5String', 0x1e: 'bmpString', 0x1c: 'universalString' };
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** DER TLV of a string value (short or long length form). */
function tlv(tag: number, content: Buffer, longForm = false): Buffer {
  const n = content.length;
  const length = n < 128 && !longForm ? [n] : n < 256 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}

function encodeAs(tag: number, s: string): Buffer {
  if (tag === 0x1e) return Buffer.from(s, 'utf16le').swap16();
  if (tag === 0x1c) return Buffer.concat([...s].map((c) => Buffer.from([0, (c.codePointAt(0)! >> 16) & 0xff, (c.codePointAt(0)! >> 8) & 0xff, c.codePointAt(0)! & 0xff])));
  return Buffer.from(s, 'utf8');
}

/** The string types that can hold `s` (RFC 4514 §2.4: the `#` form is the BER of the value, any string type). */
function stringTags(s: string): number[] {
  const tags = [0x0c];
  if (PRINTABLE.test(s)) tags.push(0x13);
  if ([...s].every((c) => c !== '\u0000' && c.charCodeAt(0) < 0x80)) tags.push(0x16);
  // The ASN.1 library decodes BMPString and UniversalString correctly only within the BMP.
  if ([...s].every((c) => c.codePointAt(0)! <= 0xffff)) tags.push(0x1e, 0x1c);
  return tags;
}

/** RFC 4514 §2.4 minimal escaping (the reference spelling). */
const escape = (v: string) =>
  v.replace(/[,+"\\<>;]/g, '\\$&').replace(/\0/g, '\\00').replace(/(?<!^) $/, '\\ ').replace(/^[ #]/, '\\$&');

function canonical(model: Model): string {
  return model.map((rdn) => rdn.map((a) => `${a.type.names[0] ?? a.type.oid}=${escape(a.text)}`).join('+')).join(',');
}

const MUST_ESCAPE = new Set([',', '+', '"', '\\', '<', '>', ';', '\u0000', '#']);
const ESCAPABLE = new Set([',', '+', '"', '\\', '<', '>', ';', '#', '=', ' ']);

const hexPairs = (bytes: Buffer, upper: boolean) => [...bytes].map((b) => `\\${b.toString(16).padStart(2, '0')}`).map((h) => (upper ? h.toUpperCase() : h)).join('');

/** Random ASCII case, and every space possibly a run of spaces: caseIgnoreMatch ignores both. */
function caseAndSpaces(g: fc.GeneratorValue, s: string): string {
  return [...s]
    .map((c) => {
      if (c === ' ') return ' '.repeat(g(fc.integer, { min: 1, max: 3 }));
      if (/[a-z]/i.test(c) && g(fc.boolean)) return c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
      return c;
    })
    .join('');
}

/** One equivalent spelling of the model, every choice drawn from `g`. */
function spell(g: fc.GeneratorValue, model: Model): string {
  const rdns = model.map((rdn) => {
    const avas = g(fc.shuffledSubarray, rdn, { minLength: rdn.length, maxLength: rdn.length }).map((a) => {
      const names = [a.type.oid, `OID.${a.type.oid}`, ...a.type.names];
      const name = g(fc.constantFrom, ...names);
      const type = g(fc.boolean) ? name : name.toLowerCase();
      const pad = (side: string) => (g(fc.boolean) ? side : '');
      let value: string;
      const textual = caseAndSpaces(g, a.text);
      // Leading and trailing spaces are insignificant (RFC 4518 §2.6.1): add some, escaped or raw.
      const withEnds = `${' '.repeat(g(fc.nat, 2))}${textual}${' '.repeat(g(fc.nat, 2))}`;
      if (g(fc.boolean)) {
        const tag = g(fc.constantFrom, ...stringTags(withEnds));
        const hex = tlv(tag, encodeAs(tag, withEnds), g(fc.boolean)).toString('hex');
        value = `#${g(fc.boolean) ? hex.toUpperCase() : hex}`;
      } else {
        value = [...withEnds]
          .map((c) => {
            const how = g(fc.nat, 2);
            if (how === 0 && !MUST_ESCAPE.has(c)) return c;
            if (how === 1 && ESCAPABLE.has(c)) return `\\${c}`;
            return hexPairs(Buffer.from(c, 'utf8'), g(fc.boolean));
          })
          .join('');
      }
      return `${type}${pad(' ')}=${pad(' ')}${value}`;
    });
    return avas.join(g(fc.constantFrom, '+', ' + '));
  });
  return rdns.join(g(fc.constantFrom, ',', ' , ', ', '));
}

t.test('a DN matches itself in every equivalent spelling', async (t) => {
  fc.assert(
    fc.property(modelOf(text), fc.gen(), (model, g) => {
      const a = spell(g, model);
      const b = spell(g, model);
      return match(a, b) && match(canonical(model), a) && match(b, canonical(model));
    }),
    { numRuns: RUNS },
  );
  t.pass('equivalent spellings match');
});

t.test('as identity.ts prints it from a certificate, a DN matches every spelling of it', async (t) => {
  fc.assert(
    fc.property(modelOf(text), fc.gen(), (model, g) => {
      // RFC 4514 §2.1: the string starts with the last RDN of the encoded Name.
      const name = new Name(
        [...model].reverse().map(
          (rdn) =>
            new RelativeDistinguishedName(
              rdn.map((a) => {
                const kind = g(fc.constantFrom, ...stringTags(a.text).map((tag) => STRING_KINDS[tag] as string));
                return new AttributeTypeAndValue({ type: a.type.oid, value: new AttributeValue({ [kind]: a.text }) });
              }),
            ),
        ),
      );
      const decoded = AsnConvert.parse(AsnConvert.serialize(name), Name);
      const printed = rfc4514Dn(decoded);
      return match(printed, spell(g, model)) && match(canonical(model), printed) && match(printed, printed);
    }),
    { numRuns: RUNS },
  );
  t.pass('certificate side and client spellings agree');
});

/** Sets of (type, value) compared with only ASCII case folding and space rules: independent of the module. */
function sameRdn(a: Rdn, b: Rdn): boolean {
  const key = (r: Rdn) => r.map((x) => `${x.type} ${x.binary} ${x.value.toLowerCase().replace(/ +/g, ' ').trim()}`).sort().join('\n');
  return key(a) === key(b);
}

t.test('a changed value, a dropped or added RDN, two different RDNs swapped: no match', async (t) => {
  fc.assert(
    fc.property(modelOf(text), fc.gen(), (model, g) => {
      const i = g(fc.nat, model.length - 1);
      const rdn = model[i]!;
      const j = g(fc.nat, rdn.length - 1);
      // Appending text never leaves the prepared value as it was.
      const changed = model.map((r, ri) => r.map((a, aj) => (ri === i && aj === j ? { ...a, text: `${a.text}${g(fc.constantFrom, 'q', '7', 'ã', ',')}` } : a)));
      const dropped = model.filter((_, ri) => ri !== i);
      const added = [...model.slice(0, i), [{ type: TYPES[0]!, text: 'x' }], ...model.slice(i)];
      const spelt = spell(g, model);
      return !match(spell(g, changed), spelt) && !match(canonical(changed), spelt) && !match(spell(g, dropped), spelt) && !match(canonical(added), spelt);
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(modelOf(asciiText, 2), fc.gen(), (model, g) => {
      const i = g(fc.nat, model.length - 1);
      const j = (i + 1 + g(fc.nat, model.length - 2)) % model.length;
      const [ri, rj] = [parseDistinguishedName(canonical([model[i]!]))[0]!, parseDistinguishedName(canonical([model[j]!]))[0]!];
      // Two equal RDNs swapped leave the DN as it was: nothing to assert then.
      if (sameRdn(ri, rj)) return true;
      const swapped = model.map((r, k) => (k === i ? model[j]! : k === j ? model[i]! : r));
      return !match(spell(g, swapped), spell(g, model));
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(modelOf(asciiText), asciiText, fc.gen(), (model, other, g) => {
      const i = g(fc.nat, model.length - 1);
      const a = model[i]![0]!;
      const fold = (s: string) => s.toLowerCase().replace(/ +/g, ' ').trim();
      if (fold(other) === fold(a.text)) return true;
      const changed = model.map((r, ri) => (ri === i ? [{ ...a, text: other }, ...r.slice(1)] : r));
      return !match(spell(g, changed), spell(g, model));
    }),
    { numRuns: RUNS },
  );
  t.pass('differences never match');
});

/** Pieces of DN strings, valid and not, in the ASCII range where a plain comparison is exact. */
const TOKEN = fc.constantFrom(
  'CN=', 'cn =', 'O=', '2.5.4.3=', 'OID.2.5.4.10=', '2.5.4.97=', 'foo=', '=', ',', ',', ' , ', '+', '+', ' ', 'a', 'A', 'b', '1',
  '\\,', '\\2c', '\\2C', '\\+', '\\', '\\5c', '\\41', '\\c3\\a9', '\\c3', 'é', 'É', '"', ';', '<', '#', '#0c0161', '#130141', '#0C0141',
  '#0c02c3a9', '#0203010001', '#0c', '#0c0261', '\\#', '\\ ', '\u0000', '\\00', '\ud800', '#1e0400610062', '#1c0400000061',
);
/** A `#` and BER of random content under a string (or other) tag with a right length, or random bytes. */
const RANDOM_HEX = fc
  .oneof(
    fc.tuple(fc.constantFrom(0x0c, 0x13, 0x14, 0x16, 0x1c, 0x1e, 0x02, 0x04, 0x2c, 0x30), fc.uint8Array({ maxLength: 8 })).map(([tag, c]) => Buffer.from([tag, c.length, ...c])),
    fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => Buffer.from(b)),
  )
  .map((b) => `#${b.toString('hex')}`);
const HEX_ATTRIBUTE = fc.tuple(fc.constantFrom('CN=', '2.5.4.97=', ',O=', '+1.2.3='), RANDOM_HEX).map(([a, h]) => a + h);
const dnLike = fc.array(fc.oneof({ arbitrary: TOKEN, weight: 8 }, { arbitrary: RANDOM_HEX, weight: 1 }, { arbitrary: HEX_ATTRIBUTE, weight: 1 }), { maxLength: 14 }).map((ts) => ts.join(''));

/** The oracle: both parse, non-empty, same length, each RDN the same set (ASCII case and spaces folded). */
function oracle(a: string, b: string): boolean {
  let x: readonly Rdn[];
  let y: readonly Rdn[];
  try {
    x = parseDistinguishedName(a);
    y = parseDistinguishedName(b);
  } catch {
    return false;
  }
  return x.length > 0 && x.length === y.length && x.every((r, i) => sameRdn(r, y[i]!));
}

t.test('random strings: never a throw; a match exactly when the parsed RDNs are equal', async (t) => {
  const anyString = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 60 }));
  fc.assert(
    fc.property(anyString, anyString, (a, b) => typeof match(a, b) === 'boolean' && match(a, a) === oracle(a, a)),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(dnLike, fc.array(fc.tuple(fc.nat(), TOKEN), { maxLength: 2 }), (a, edits) => {
      // b: a with a few tokens' worth of text replaced, so that both often parse and differ a little.
      let b = a;
      for (const [at, token] of edits) {
        const k = b.length === 0 ? 0 : at % b.length;
        b = b.slice(0, k) + token + b.slice(k + 1);
      }
      return match(a, b) === oracle(a, b) && match(a, a) === oracle(a, a);
    }),
    { numRuns: RUNS * 4 },
  );
  // STYLE.md "Parsers of outside input": nothing but the module's own error escapes the parser.
  fc.assert(
    fc.property(fc.oneof(dnLike, anyString, HEX_ATTRIBUTE), (a) => {
      try {
        parseDistinguishedName(a);
        return true;
      } catch (err) {
        return err instanceof DnSyntaxError;
      }
    }),
    { numRuns: RUNS * 4 },
  );
  t.pass('no throw, and match agrees with the oracle');
});
