// Properties of the ingress certificate header parser (SPEC §3 ingress mode; STYLE "Parsers of
// outside input"): it never throws, never accepts what SPEC §3 refuses, and round-trips every
// encoding a proxy sends.
import t from 'tap';
import fc from 'fast-check';
import { X509Certificate, createHash, webcrypto } from 'node:crypto';
import { MAX_CERTIFICATE_HEADER_BYTES, XFCC_HEADER, decodeCertificateHeader, type HeaderDecode } from '../../src/tls/certificate-header.js';
import { x509 } from '../../src/x509.js';

const H = 'x-ssl-client-cert';
const EC: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const keys = await webcrypto.subtle.generateKey(EC, false, ['sign', 'verify']);

/** A handful of real certificates (EC P-256: quick to sign), with CNs that need escaping in PEM-free places. */
const certs = await Promise.all(
  ['a.example', 'b, "c"; d=e', 'ç.example'].map(async (cn) => {
    const cert = await x509.X509CertificateGenerator.createSelfSigned({ name: new x509.Name([{ CN: [cn] }]), keys, signingAlgorithm: EC });
    return { pem: cert.toString('pem'), der: Buffer.from(cert.rawData) };
  }),
);
const anyCert = fc.constantFrom(...certs);

/** What every answer must look like: absent, a refusal with a reason, or the DER of exactly one certificate. */
function wellFormed(result: HeaderDecode | undefined): boolean {
  if (result === undefined) return true;
  if (!result.ok) return typeof result.reason === 'string' && result.reason.length > 0;
  // SPEC §3 / RFC 8705 §3.1: the DER is the certificate and nothing more (it is what gets thumbprinted).
  return new X509Certificate(result.der).raw.equals(result.der);
}

/** nginx `$ssl_client_escaped_cert` (ngx_escape_uri NGX_ESCAPE_URI_COMPONENT). */
function nginxEscape(s: string): string {
  const escaped = new Set('"#$%&+,/:;<=>?@[\\]^`{|}');
  return Array.from(s, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0x20 || code >= 0x7f || escaped.has(c) ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : c;
  }).join('');
}

/** The encodings of SPEC §3 ingress mode, as proxies send them. */
const encodings: Record<string, (pem: string, der: Buffer) => string> = {
  nginx: (pem) => nginxEscape(pem),
  encodeURIComponent: (pem) => encodeURIComponent(pem),
  'ALB (+ / = unescaped)': (pem) => encodeURIComponent(pem).replace(/%2B/g, '+').replace(/%2F/g, '/').replace(/%3D/g, '='),
  'PEM, line breaks as spaces': (pem) => pem.trim().replace(/\n/g, ' '),
  'base64 DER': (_, der) => der.toString('base64'),
  'RFC 9440 byte sequence': (_, der) => `:${der.toString('base64')}:`,
};

const headerNames = fc.constantFrom(H, XFCC_HEADER, 'x-client-cert');
const runs = { numRuns: 300 };

t.test('never throws, and every answer is well-formed, on arbitrary strings', async (t) => {
  fc.assert(
    fc.property(headerNames, fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.array(fc.string({ maxLength: 50 }), { maxLength: 3 })), (name, value) =>
      wellFormed(decodeCertificateHeader(name, value)),
    ),
    runs,
  );
  t.pass('300 arbitrary headers');
});

t.test('never throws on random bytes read as Latin-1, base64 or percent-encoding', async (t) => {
  fc.assert(
    fc.property(headerNames, fc.uint8Array({ maxLength: 600 }), fc.constantFrom('latin1', 'base64', 'percent'), (name, bytes, as) => {
      const b = Buffer.from(bytes);
      const value = as === 'percent' ? Array.from(b, (x) => `%${x.toString(16).padStart(2, '0')}`).join('') : b.toString(as as BufferEncoding);
      return wellFormed(decodeCertificateHeader(name, value));
    }),
    runs,
  );
  t.pass('300 random byte headers');
});

t.test('a mutated valid header is refused or decodes to a whole certificate, never throws', async (t) => {
  const mutation = fc.record({ at: fc.nat(), cut: fc.nat({ max: 8 }), insert: fc.string({ maxLength: 8 }) });
  fc.assert(
    fc.property(anyCert, fc.constantFrom(...Object.values(encodings)), fc.array(mutation, { minLength: 1, maxLength: 4 }), (c, encode, mutations) => {
      let value = encode(c.pem, c.der);
      for (const m of mutations) {
        const at = m.at % (value.length + 1);
        value = value.slice(0, at) + m.insert + value.slice(at + m.cut);
      }
      const result = decodeCertificateHeader(H, value);
      return wellFormed(result) && (result === undefined || !result.ok || result.der.equals(c.der) || new X509Certificate(result.der).raw.length === result.der.length);
    }),
    runs,
  );
  t.pass('300 mutated headers');
});

t.test('a refusal never echoes the header value', async (t) => {
  fc.assert(
    fc.property(headerNames, fc.string({ minLength: 1, maxLength: 40 }), fc.string({ maxLength: 40 }), (name, before, after) => {
      const value = `${before}SECRET-${after}`;
      const result = decodeCertificateHeader(name, value);
      return result === undefined || result.ok || !result.reason.includes('SECRET');
    }),
    runs,
  );
  t.pass('no echo');
});

t.test('SPEC §3: never accepts several certificates, several header lines or an oversized header', async (t) => {
  fc.assert(
    fc.property(anyCert, anyCert, fc.constantFrom('\n', '', ' ', '\r\n'), fc.constantFrom(...Object.values(encodings)), (a, b, sep, encode) => {
      const two = decodeCertificateHeader(H, encodeURIComponent(`${a.pem}${sep}${b.pem}`));
      const lines = decodeCertificateHeader(H, [encode(a.pem, a.der), encode(b.pem, b.der)]);
      const joined = decodeCertificateHeader(H, `${encode(a.pem, a.der)}, ${encode(b.pem, b.der)}`);
      const big = decodeCertificateHeader(H, encode(a.pem, a.der).padEnd(MAX_CERTIFICATE_HEADER_BYTES + 1, ' '));
      return [two, lines, joined, big].every((r) => r !== undefined && !r.ok);
    }),
    { numRuns: 100 },
  );
  t.pass('refused');
});

t.test('round-trips every proxy encoding to the same DER', async (t) => {
  fc.assert(
    fc.property(anyCert, fc.constantFrom(...Object.keys(encodings)), fc.constantFrom('', ' ', '\t'), (c, encoding, pad) => {
      const result = decodeCertificateHeader(H, `${pad}${(encodings[encoding] as (pem: string, der: Buffer) => string)(c.pem, c.der)}${pad}`);
      return result?.ok === true && result.der.equals(c.der);
    }),
    { numRuns: 100 },
  );
  t.pass('same DER');
});

t.test('round-trips an Envoy XFCC element (Cert= among other fields, in any order, any key case) to the same DER', async (t) => {
  const quoted = (s: string): string => `"${s.replace(/["\\]/g, '\\$&')}"`;
  const otherField = fc.oneof(
    fc.constant('By=spiffe://cluster.local/ns/edge/sa/envoy'),
    fc.constant('URI=spiffe://client'),
    fc.domain().map((d) => `DNS=${d}`),
    fc.string({ maxLength: 30 }).map((s) => `Subject=${quoted(s)}`),
  );
  fc.assert(
    fc.property(anyCert, fc.array(otherField, { maxLength: 4 }), fc.nat(), fc.boolean(), fc.boolean(), fc.constantFrom('Cert', 'cert', 'CERT'), (c, others, at, quote, withHash, key) => {
      const cert = encodeURIComponent(c.pem);
      const fields = [...others];
      if (withHash) fields.push(`Hash=${createHash('sha256').update(c.der).digest('hex')}`);
      fields.splice(at % (fields.length + 1), 0, `${key}=${quote ? `"${cert}"` : cert}`);
      const result = decodeCertificateHeader(XFCC_HEADER, fields.join(';'));
      return result?.ok === true && result.der.equals(c.der);
    }),
    runs,
  );
  t.pass('same DER');
});
