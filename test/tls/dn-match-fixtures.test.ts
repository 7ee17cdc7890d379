// Real OFB sandbox client certificates (test/fixtures/ofb-certs, from the conformance suite and
// specs-seguranca): identity.ts prints the subject DN the suite expects, and distinguishedNameMatch
// (SPEC §9 row 10) matches it, OpenSSL's spelling of it, and nothing with one value changed or two
// RDNs swapped.
import t from 'tap';
import { distinguishedNameMatch, dnMismatch, parseDistinguishedName } from '../../src/tls/dn-match.js';
import { identityFromDer } from '../../src/tls/identity.js';
import { certFixtures as fixtures, changeValue, derOf, rdnStrings, swapRdns } from '../fixtures/ofb-certs/index.js';

t.test('the fixtures are what the README says: five files, four distinct certificates', async (t) => {
  t.equal(fixtures.length, 5);
  const sec = fixtures.find((f) => f.file === 'sec-teste.pem');
  const cs2022 = fixtures.find((f) => f.file === 'cs-2022-organization-identifier.pem');
  t.ok(sec && cs2022);
  t.same(derOf(sec!), derOf(cs2022!), 'specs-seguranca teste.pem is the suite\'s 2022 certificate');
  t.equal(new Set(fixtures.map((f) => derOf(f).toString('hex'))).size, 4);
});

for (const f of fixtures) {
  t.test(f.file, async (t) => {
    const id = identityFromDer(derOf(f));
    // (1) SPEC §3: the OFB RFC 4514 string, exactly as the suite (Java's RFC 2253) prints it.
    t.equal(id.subjectDn, f.subjectDn, 'identity.ts prints the suite\'s expected DN');
    t.equal(id.orgId, f.orgId ?? undefined);
    t.equal(id.softwareId, f.softwareId ?? undefined);

    // (2) SPEC §9 row 10: what the DCR check will call.
    t.ok(distinguishedNameMatch(f.subjectDn, id.subjectDn), 'the expected string matches the certificate');
    t.ok(distinguishedNameMatch(id.subjectDn, f.subjectDn), 'symmetric');
    t.ok(distinguishedNameMatch(f.opensslRfc2253, id.subjectDn), 'OpenSSL\'s descriptors and \\XX escapes match too');
    t.ok(distinguishedNameMatch(f.subjectDn.toLowerCase(), id.subjectDn), 'caseIgnoreMatch: values and hex in lower case');
    t.ok(distinguishedNameMatch(f.subjectDn.toUpperCase(), id.subjectDn), 'caseIgnoreMatch: values and hex in upper case');

    // Every value changed in turn, and every pair of different adjacent RDNs swapped: no match.
    const rdns = parseDistinguishedName(f.subjectDn);
    for (let i = 0; i < rdns.length; i++) {
      const changed = changeValue(f.subjectDn, i);
      t.notOk(distinguishedNameMatch(changed, id.subjectDn), `RDN ${i + 1} changed: ${rdnStrings(changed)[i]}`);
      t.match(dnMismatch(changed, id.subjectDn), { reason: 'rdn', index: i });
      if (i + 1 < rdns.length) {
        t.notOk(distinguishedNameMatch(swapRdns(f.subjectDn, i, i + 1), id.subjectDn), `RDNs ${i + 1} and ${i + 2} swapped`);
      }
    }
    t.notOk(distinguishedNameMatch(rdnStrings(f.subjectDn).slice(1).join(','), id.subjectDn), 'one RDN dropped');
    t.notOk(distinguishedNameMatch(`${f.subjectDn},C=BR`, id.subjectDn), 'one RDN added');
  });
}

t.test('specs-seguranca DCR ID3 JavaScript example, run on its teste.pem: both encodings match once the lengths are right', async (t) => {
  const f = fixtures.find((x) => x.file === 'sec-teste.pem')!;
  const id = identityFromDer(derOf(f));
  // As the example builds it: '#13' or '#0C', a length byte in upper-case hex, the text's char codes in lower-case hex.
  const hexa = (s: string) => [...s].map((c) => c.charCodeAt(0).toString(16)).join('');
  const sec = (encode: string, businessCategoryLength: string) =>
    [
      'UID=10120340-3318-4baf-99e2-0b56729c4ab2',
      `2.5.4.97=${encode}2A${hexa('OFBBR-74e929d9-33b6-4d85-8ba7-c146c867a817')}`,
      `1.3.6.1.4.1.311.60.2.1.3=${encode}02${hexa('UK')}`,
      `2.5.4.15=${encode}${businessCategoryLength}${hexa('Government Entity')}`,
      `2.5.4.5=${encode}0E${hexa('43142666000197')}`,
      'CN=https://web.conformance.directory.openbankingbrasil.org.br,O=Open Banking Brasil,L=LONDON,ST=SP,C=BR',
    ].join(',');
  t.ok(distinguishedNameMatch(sec('#13', '11'), id.subjectDn), 'PrintableString form');
  t.ok(distinguishedNameMatch(sec('#0C', '11'), id.subjectDn), 'UTF8String form of the PrintableString values');
  // The example hard-codes 0x14 (20, the length of "Private Organization") for businessCategory.
  t.notOk(distinguishedNameMatch(sec('#0C', '14'), id.subjectDn), 'as published: a wrong BER length, refused');
  t.match(dnMismatch(sec('#0C', '14'), id.subjectDn), { reason: 'syntax', side: 0, error: { message: /not exactly one BER element/ } });
});
