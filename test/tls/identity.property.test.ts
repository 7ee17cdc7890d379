// Properties of the OFB identity / subject-DN parser (SPEC §3 "Identity", ofb/requirements.md §5):
// it throws nothing but the catalogue's ClientCertificateError on any input, and the RFC 4514 DN it
// prints parses back (RFC 4514 §3) to exactly the certificate's RDNs.
import t from 'tap';
import fc from 'fast-check';
import { webcrypto } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, Name } from '@peculiar/asn1-x509';
import { ClientCertificateError } from '../../src/errors.js';
import { identityFromDer, ofbSubjectDn, rfc4514Dn } from '../../src/tls/identity.js';
import { x509 } from '../../src/x509.js';

const EC: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const keys = await webcrypto.subtle.generateKey(EC, false, ['sign', 'verify']);
const runs = { numRuns: 200 };

async function certWith(subject: x509.JsonNameParams, notBefore?: Date): Promise<Uint8Array> {
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ name: new x509.Name(subject), keys, signingAlgorithm: EC, ...(notBefore ? { notBefore } : {}) });
  return new Uint8Array(cert.rawData);
}

/** Only ClientCertificateError (the SPEC §1 row 2 catalogue entry) may escape, with its fixed detail. */
function onlyCatalogueErrors(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch (err) {
    return err instanceof ClientCertificateError && err.detail === 'invalid client certificate: not a DER-encoded X.509 certificate';
  }
}

const sample = await certWith([{ CN: ['tpp.example.com.br'] }, { '2.5.4.97': [{ utf8String: 'OFBBR-org' }] }]);

t.test('throws only the catalogue error on random bytes', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 800 }), (bytes) => onlyCatalogueErrors(() => identityFromDer(bytes)) && onlyCatalogueErrors(() => ofbSubjectDn(bytes))),
    runs,
  );
  t.pass('random bytes');
});

t.test('throws only the catalogue error on a mutated certificate (bytes flipped, cut, inserted)', async (t) => {
  const mutation = fc.record({ at: fc.nat(), flip: fc.integer({ min: 1, max: 255 }), cut: fc.nat({ max: 4 }), insert: fc.uint8Array({ maxLength: 4 }) });
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 5 }), (mutations) => {
      let der = Buffer.from(sample);
      for (const m of mutations) {
        const at = m.at % der.length;
        der[at] = (der[at] as number) ^ m.flip;
        der = Buffer.concat([der.subarray(0, at), Buffer.from(m.insert), der.subarray(at + m.cut)]);
        if (der.length === 0) der = Buffer.from([0]);
      }
      return onlyCatalogueErrors(() => identityFromDer(der));
    }),
    { numRuns: 300 },
  );
  t.pass('mutations');
});

// RFC 4514 §3 descriptors identity.ts prints; every other type is a dotted OID with a #hex value.
const SHORT: Record<string, string> = { CN: '2.5.4.3', L: '2.5.4.7', ST: '2.5.4.8', O: '2.5.4.10', OU: '2.5.4.11', C: '2.5.4.6', STREET: '2.5.4.9', DC: '0.9.2342.19200300.100.1.25', UID: '0.9.2342.19200300.100.1.1' };

/** A small RFC 4514 §3 parser, the test's oracle: DN string → RDNs of [OID, text | '#hex']. */
function parseRfc4514(dn: string): [string, string][][] {
  const rdns: [string, string][][] = [[]];
  let i = 0;
  while (i < dn.length) {
    const eq = dn.indexOf('=', i);
    if (eq < 0) throw new Error(`not an RFC 4514 attribute at ${i}: ${dn}`);
    const type = dn.slice(i, eq);
    i = eq + 1;
    let value = '';
    if (dn[i] === '#') {
      const m = /^#[0-9a-f]+/.exec(dn.slice(i));
      if (m === null) throw new Error(`not a #hex value at ${i}: ${dn}`);
      value = m[0];
      i += value.length;
    } else {
      const bytes: number[] = [];
      for (; i < dn.length && dn[i] !== ',' && dn[i] !== '+'; i++) {
        if (dn[i] === '\\') {
          const hex = /^[0-9a-fA-F]{2}/.exec(dn.slice(i + 1));
          if (hex) bytes.push(parseInt(hex[0], 16));
          else bytes.push(...Buffer.from(dn[i + 1] as string));
          i += hex ? 2 : 1;
        } else {
          const cp = dn.codePointAt(i) as number;
          bytes.push(...Buffer.from(String.fromCodePoint(cp)));
          if (cp > 0xffff) i++;
        }
      }
      value = Buffer.from(bytes).toString('utf8');
    }
    (rdns[rdns.length - 1] as [string, string][]).push([SHORT[type] ?? type, value]);
    if (dn[i] === ',') rdns.push([]);
    i++;
  }
  return rdns;
}

// Values: any Unicode text in any DirectoryString type, with the characters RFC 4514 §2.4 escapes over-represented.
const specials = fc.constantFrom(',', '+', '"', '\\', '<', '>', ';', '#', ' ', '=', '\0', '\n');
const value = fc.array(fc.oneof(specials, fc.string({ unit: 'grapheme', maxLength: 3 })), { maxLength: 8 }).map((parts) => parts.join(''));
const type = fc.constantFrom(...Object.keys(SHORT), '2.5.4.97', '2.5.4.5', '2.5.4.15', '1.3.6.1.4.1.311.60.2.1.3');
const stringType = fc.constantFrom('utf8String', 'bmpString', 'printableString', 'ia5String', 'universalString');
const rdn = fc.array(fc.tuple(type, value, stringType), { minLength: 1, maxLength: 2 });

t.test('RFC 4514: the printed subject DN parses back to the certificate\'s RDNs, in reverse order', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(rdn, { minLength: 1, maxLength: 4 }), async (rdns) => {
      const der = await certWith(rdns.map((atvs) => Object.fromEntries(atvs.map(([ty, v, st]) => [SHORT[ty] ?? ty, [{ [st]: v }]]))));
      const dn = ofbSubjectDn(der);
      const name = AsnConvert.parse(AsnConvert.serialize(AsnConvert.parse(der, Certificate).tbsCertificate.subject), Name);
      // Stable: printing the re-encoded Name gives the same string.
      if (rfc4514Dn(name) !== dn) return false;
      // Faithful: RFC 4514 §2.1 prints the last RDN first; short names carry the text, OIDs the DER as #hex.
      const expected = [...name].reverse().map((r) =>
        r.map((atv): [string, string] => {
          const v = atv.value;
          const text = v.utf8String ?? v.printableString ?? v.ia5String ?? v.bmpString ?? v.universalString ?? v.teletexString;
          const short = Object.values(SHORT).includes(atv.type);
          return [atv.type, short && text !== undefined ? text : `#${Buffer.from(AsnConvert.serialize(atv.value)).toString('hex')}`];
        }),
      );
      return JSON.stringify(parseRfc4514(dn)) === JSON.stringify(expected);
    }),
    runs,
  );
  t.pass('round trip');
});

t.test('ofb/requirements.md §5: org_id is what follows the first "-" of organizationIdentifier; software_id is the UID', async (t) => {
  const id = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('OFBBR', 'X'), id, id, async (prefix, orgId, softwareId) => {
      const der = await certWith([{ '0.9.2342.19200300.100.1.1': [{ utf8String: softwareId }] }, { '2.5.4.97': [{ utf8String: `${prefix}-${orgId}` }] }]);
      const identity = identityFromDer(der);
      return identity.orgId === orgId && identity.softwareId === softwareId;
    }),
    { numRuns: 100 },
  );
  t.pass('org_id and software_id');
});
