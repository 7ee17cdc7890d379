// RFC 4517 §4.2.15 distinguishedNameMatch of RFC 4514 strings (SPEC §9 row 10, ofb/requirements.md §8
// "DN strings"): the spellings that must match, the differences that must not, and the strings
// that do not parse (fail closed, with the rule named).
import t from 'tap';
import { DnSyntaxError, MAX_ATTRIBUTES_PER_RDN, MAX_DN_LENGTH, MAX_RDNS, distinguishedNameMatch, dnMismatch, formatRdn, parseDistinguishedName } from '../../src/tls/dn-match.js';

const match = distinguishedNameMatch;

t.test('RFC 4514 §4 examples parse to their RDNs', async (t) => {
  t.same(parseDistinguishedName('UID=jsmith,DC=example,DC=net'), [
    [{ type: '0.9.2342.19200300.100.1.1', value: 'jsmith', binary: false }],
    [{ type: '0.9.2342.19200300.100.1.25', value: 'example', binary: false }],
    [{ type: '0.9.2342.19200300.100.1.25', value: 'net', binary: false }],
  ]);
  t.same(parseDistinguishedName('OU=Sales+CN=J.  Smith,DC=example,DC=net')[0], [
    { type: '2.5.4.11', value: 'Sales', binary: false },
    { type: '2.5.4.3', value: 'J.  Smith', binary: false },
  ]);
  t.same(parseDistinguishedName('CN=James \\"Jim\\" Smith\\, III,DC=example,DC=net')[0], [{ type: '2.5.4.3', value: 'James "Jim" Smith, III', binary: false }]);
  t.same(parseDistinguishedName('CN=Before\\0dAfter,DC=example,DC=net')[0], [{ type: '2.5.4.3', value: 'Before\rAfter', binary: false }]);
  // An OCTET STRING is no string type: kept as BER, compared byte for byte.
  t.same(parseDistinguishedName('1.3.6.1.4.1.1466.0=#04024869,DC=example,DC=com')[0], [{ type: '1.3.6.1.4.1.1466.0', value: '#04024869', binary: true }]);
  t.same(parseDistinguishedName('CN=Lu\\C4\\8Di\\C4\\87')[0], [{ type: '2.5.4.3', value: 'Lučić', binary: false }]);
});

t.test('attribute types: RFC 4514 descriptors in any case, long names, dotted OIDs, OID. prefix', async (t) => {
  const spellings = ['CN=x', 'cn=x', 'Cn=x', 'commonName=x', '2.5.4.3=x', 'OID.2.5.4.3=x', 'oid.2.5.4.3=x'];
  for (const s of spellings) t.ok(match(s, 'CN=x'), s);
  const ofb: [string, string][] = [
    ['UID', '0.9.2342.19200300.100.1.1'],
    ['organizationIdentifier', '2.5.4.97'],
    ['serialNumber', '2.5.4.5'],
    ['businessCategory', '2.5.4.15'],
    ['jurisdictionC', '1.3.6.1.4.1.311.60.2.1.3'],
    ['jurisdictionCountryName', '1.3.6.1.4.1.311.60.2.1.3'],
    ['DC', '0.9.2342.19200300.100.1.25'],
    ['STREET', '2.5.4.9'],
  ];
  for (const [name, oid] of ofb) t.ok(match(`${name}=v`, `${oid}=v`), `${name} is ${oid}`);
  t.notOk(match('SN=13353236000189', 'serialNumber=13353236000189'), 'SN is surname (RFC 4519), never serialNumber');
  t.notOk(match('CN=x', 'O=x'), 'different types');
  t.notOk(match('2.5.4.3=x', '2.5.4.30=x'));
});

t.test('#hex BER values: every string type and hex case give the plain text', async (t) => {
  const abc = ['#0c03616263', '#0C03616263', '#1303616263', '#1603616263', '#1e06006100620063', '#1c0c000000610000006200000063', '#1403616263'];
  for (const v of abc) t.ok(match(`O=${v}`, 'O=abc'), `${v} (${v.slice(1, 3)})`);
  t.ok(match('O=#0c03616263', 'O=#1303414243'), 'UTF8String and PrintableString of the same text, in different case');
  // Non-ASCII: UTF-8 in a UTF8String against the raw text (Java) and \XX escapes (OpenSSL).
  t.ok(match('L=#0c0a53c3a36f205061756c6f', 'L=São Paulo'));
  t.ok(match('L=S\\C3\\A3o Paulo', 'L=São Paulo'));
  t.ok(match('L=S\\c3\\a3O PAULO', 'l=são paulo'));
  // SEC DCR ID3 "Certificate Distinguished Name Parsing": its examples, upper-case hex and #0C/#13.
  t.ok(match('2.5.4.15=#0C1450726976617465204F7267616E697A6174696F6E', 'businessCategory=Private Organization'));
  t.ok(match('2.5.4.15=#0C1450726976617465204F7267616E697A6174696F6E', '2.5.4.15=#131450726976617465204f7267616e697a6174696f6e'));
  t.ok(match('2.5.4.15=#0C0F427573696E65737320456E74697479', 'businessCategory=business entity'));
  t.ok(match('2.5.4.97=#132A4F464242522D36376335373838322D303433622D313165632D396130332D303234326163313330303033', 'organizationIdentifier=OFBBR-67c57882-043b-11ec-9a03-0242ac130003'));
  t.notOk(match('2.5.4.97=#132A4F464242522D36376335373838322D303433622D313165632D396130332D303234326163313330303033', 'organizationIdentifier=OFBBR-67c57882-043b-11ec-9a03-0242ac130004'));
  // A BER long-form length is still BER (RFC 4514 §2.4 says BER, not DER).
  t.ok(match('O=#0c8103616263', 'O=abc'));
});

t.test('non-string BER values match only the same bytes, never a string', async (t) => {
  t.ok(match('1.2.3=#0203010001', '1.2.3=#0203010001'));
  t.ok(match('1.2.3=#0203010001', '1.2.3=#0203010001 '), 'trailing space after hex');
  t.ok(match('1.2.3=#0403ab4869', '1.2.3=#0403AB4869'), 'hex case');
  t.notOk(match('1.2.3=#0203010001', '1.2.3=#0203010002'));
  t.notOk(match('1.2.3=#04024869', '1.2.3=Hi'), 'an OCTET STRING is not the string it holds');
  t.notOk(match('CN=#0203010001', 'CN=\\#0203010001'), 'an escaped # is text');
  t.ok(match('CN=\\#0203010001', 'CN=\\230203010001'), '\\# and \\23 are the same text');
});

t.test('caseIgnoreMatch (RFC 4517 §4.2.11, RFC 4518): case, spaces, NFKC', async (t) => {
  t.ok(match('O=Open Banking Brasil', 'O=OPEN BANKING BRASIL'));
  t.ok(match('O=Open Banking Brasil', 'O=\\ \\ Open   Banking Brasil\\ '), 'leading/trailing spaces dropped, inner run as one');
  t.ok(match('O=Open Banking Brasil', 'O =  Open Banking Brasil  '), 'unescaped spaces around = and at the ends');
  t.ok(match('CN=a,O=b', 'CN=a , O=b'), 'spaces around , (RFC 2253 §4)');
  t.ok(match('CN=a+O=b', 'CN=a + O=b'), 'spaces around +');
  t.ok(match('O=a\tb', 'O=a b'), 'TAB is a space (RFC 4518 §2.2)');
  t.ok(match('O=a\u00a0b', 'O=a b'), 'NO-BREAK SPACE is a space');
  t.ok(match('O=\ufb01ne', 'O=fine'), 'NFKC: the fi ligature');
  t.ok(match('O=\uff21\uff22', 'O=ab'), 'NFKC: full-width letters');
  t.ok(match('O=Jose\u0301', 'O=Jos\u00e9'), 'NFKC: decomposed and composed é');
  t.ok(match('O=Stra\u00dfe', 'O=STRASSE'), 'case folding: ß');
  t.notOk(match('O=Open Banking', 'O=OpenBanking'), 'an inner space is significant');
  t.notOk(match('O=São Paulo', 'O=Sao Paulo'), 'accents are significant');
  t.notOk(match('O=a\\00b', 'O=ab'), 'controls are not mapped away (fails closed)');
  t.notOk(match('O=a\u0001b', 'O=ab'));
});

t.test('RDNs by position; within an RDN, a set', async (t) => {
  t.ok(match('CN=a+O=b,C=BR', 'O=b+CN=a,C=BR'), 'multi-valued RDN in any order');
  t.ok(match('CN=a+O=b+OU=c', 'OU=c+cn=A+2.5.4.10=B'));
  t.notOk(match('CN=a,C=BR', 'C=BR,CN=a'), 'RDNs swapped');
  t.notOk(match('CN=a+O=b', 'CN=a,O=b'), 'one multi-valued RDN is not two RDNs');
  t.notOk(match('CN=a+O=b', 'CN=a'), 'a subset is not the set');
  t.notOk(match('CN=a,C=BR', 'CN=a'), 'an RDN fewer');
  t.notOk(match('CN=a,C=BR', 'CN=a,C=BR,C=BR'), 'an RDN more');
  t.ok(match('CN=a+CN=b', 'CN=b+CN=a'), 'two values of one type');
});

t.test('the empty DN names no one: it matches nothing', async (t) => {
  t.same(parseDistinguishedName(''), []);
  t.same(parseDistinguishedName('   '), []);
  t.notOk(match('', ''));
  t.notOk(match('', 'CN=a'));
  t.match(dnMismatch('CN=a', ''), { reason: 'empty', side: 1 });
});

t.test('strings that do not parse: DnSyntaxError naming the rule; never a match, never a throw', async (t) => {
  const bad: [string, RegExp][] = [
    ['foo=bar', /unknown attribute type 'foo'/],
    ['CN', /expected '='/],
    ['CN=a;O=b', /';' must be escaped/],
    ['CN=a"b', /'"' must be escaped/],
    ['CN=a<b', /'<' must be escaped/],
    ['CN=a>b', /'>' must be escaped/],
    ['CN=a\u0000b', /'\\0' must be escaped/],
    ['CN=a\\qb', /'\\' must be followed by two hex digits/],
    ['CN=a\\', /'\\' must be followed by two hex digits/],
    ['CN=\\C3', /not UTF-8/],
    ['CN=\\FF\\FE', /not UTF-8/],
    ['CN=#', /even number of hex digits/],
    ['CN=#0c0', /even number of hex digits/],
    ['CN=#0c01zz', /'z' inside a #hex value/],
    ['CN=#0c016162', /not exactly one BER element/],
    ['CN=#0c05616263', /not exactly one BER element/],
    ['CN=#0c02c328', /UTF8String that is not UTF-8/],
    ['CN=#1304616263ff', /PrintableString or IA5String with non-ASCII/],
    ['CN=#2c050c03616263', /constructed string encoding/],
    ['CN=#1e02d800', /unpaired UTF-16 surrogate/],
    // asn1js throws a RangeError of its own on this one.
    ['CN=#1e03006100', /not exactly one BER element/],
    // The ASN.1 library would read U+1F600 as U+F600: refused rather than confused.
    ['CN=#1c040001f600', /UniversalString beyond the BMP/],
    ['CN=#1c080000d83d0000de00', /UniversalString beyond the BMP/],
    ['CN=a\ud800', /unpaired UTF-16 surrogate/],
    ['2.5.4.03=x', /expected an attribute type/],
    ['2=x', /expected an attribute type/],
    ['=x', /expected an attribute type/],
    ['CN=a,', /nothing after ','/],
    ['CN=a+', /nothing after '\+'/],
    ['CN=a,,O=b', /expected an attribute type/],
    ['CN=a+CN=A', /repeats the same attribute value/],
  ];
  for (const [dn, message] of bad) {
    // Names as JSON: a raw control character in the TAP output made CI's log a binary file to grep.
    t.throws(() => parseDistinguishedName(dn), DnSyntaxError, JSON.stringify(dn));
    t.throws(() => parseDistinguishedName(dn), { message }, JSON.stringify(dn));
    t.equal(match(dn, dn), false, `no match: ${JSON.stringify(dn)}`);
    t.equal(match('CN=a', dn), false);
    t.match(dnMismatch(dn, 'CN=a'), { reason: 'syntax', side: 0 });
  }
  t.equal(match(undefined as unknown as string, 'CN=a'), false, 'not a string: false, no throw');
  t.equal(match('CN=a', { toString: () => 'CN=a' } as unknown as string), false);
});

t.test('bounded: length, RDNs and attributes per RDN', async (t) => {
  const long = `CN=${'a'.repeat(MAX_DN_LENGTH - 3)}`;
  t.equal(long.length, MAX_DN_LENGTH);
  t.ok(match(long, long), 'at the length limit');
  t.throws(() => parseDistinguishedName(`${long}a`), { message: /longer than 4096 characters/ });
  t.notOk(match(`${long}a`, `${long}a`));

  const rdns = (n: number) => Array.from({ length: n }, (_, i) => `CN=${i}`).join(',');
  t.ok(match(rdns(MAX_RDNS), rdns(MAX_RDNS)), `${MAX_RDNS} RDNs`);
  t.throws(() => parseDistinguishedName(rdns(MAX_RDNS + 1)), { message: /more than 64 RDNs/ });

  const avas = (n: number) => Array.from({ length: n }, (_, i) => `CN=${i}`).join('+');
  t.ok(match(avas(MAX_ATTRIBUTES_PER_RDN), avas(MAX_ATTRIBUTES_PER_RDN)), `${MAX_ATTRIBUTES_PER_RDN} attributes in an RDN`);
  t.throws(() => parseDistinguishedName(avas(MAX_ATTRIBUTES_PER_RDN + 1)), { message: /more than 16 attributes/ });
});

t.test('dnMismatch says why; formatRdn prints an RDN back as RFC 4514 text', async (t) => {
  t.equal(dnMismatch('CN=a,O=b', 'cn=A,o=B'), undefined);
  t.match(dnMismatch('CN=a,O=b', 'CN=a'), { reason: 'rdn-count', counts: [2, 1] });
  const m = dnMismatch('CN=a,O=b\\, c+2.5.4.97=#0c0141', 'CN=a,O=d');
  t.match(m, { reason: 'rdn', index: 1 });
  if (m?.reason === 'rdn') {
    t.equal(formatRdn(m.rdns[0]), 'O=b\\, c+2.5.4.97=A');
    t.equal(formatRdn(m.rdns[1]), 'O=d');
  }
  t.equal(formatRdn(parseDistinguishedName('1.2.3=#0203010001+CN=\\ #x ')[0] ?? []), '1.2.3=#0203010001+CN=\\ #x\\ ');
  const e = dnMismatch('CN=a', 'CN=a;O=b');
  t.match(e, { reason: 'syntax', side: 1 });
  if (e?.reason === 'syntax') t.equal(e.error.position, 4);
});

t.test('hostile strings at the bounds cost milliseconds, not seconds', async (t) => {
  const worst = {
    'every RDN full of attributes': Array.from({ length: MAX_RDNS }, () => Array.from({ length: MAX_ATTRIBUTES_PER_RDN }, (_, i) => `C=${String.fromCharCode(97 + i)}`).join('+')).join(','),
    'NFKC expanding each character 18-fold': `CN=${'\ufdfa'.repeat(MAX_DN_LENGTH - 3)}`,
    'one long run of \\XX escapes': `CN=${'\\c3\\a3'.repeat(Math.floor((MAX_DN_LENGTH - 3) / 6))}`,
  };
  // Not one BER element (the end-of-contents octets are short): refused, after asn1js walked it.
  const nested = `CN=#${'3080'.repeat(1000)}${'0000'.repeat(23)}`;
  for (const [what, dn] of [...Object.entries(worst), ['nested indefinite-length BER', nested] as const]) {
    t.ok(dn.length <= MAX_DN_LENGTH, `${what}: within the length bound`);
    const started = performance.now();
    t.equal(match(dn, dn), dn !== nested, `${what}: ${dn === nested ? 'refused' : 'parses and matches itself'}`);
    // Generous for a loaded CI machine; a quadratic parser takes seconds here.
    t.ok(performance.now() - started < 500, `${what}: ${(performance.now() - started).toFixed(1)} ms`);
  }
});
