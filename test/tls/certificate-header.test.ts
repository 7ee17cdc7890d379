// SPEC §3 ingress mode: the client certificate as a TLS-terminating proxy forwards it.
import t, { type Test } from 'tap';
import { X509Certificate, createHash } from 'node:crypto';
import { createDevPki } from '../../src/dev/pki.js';
import { MAX_CERTIFICATE_HEADER_BYTES, decodeCertificateHeader, type HeaderDecode } from '../../src/tls/certificate-header.js';

const pki = await createDevPki();
const pem = pki.client1.cert;
const der = new X509Certificate(pem).raw;
const H = 'x-ssl-client-cert';
const XFCC = 'x-forwarded-client-cert';

/**
 * nginx `$ssl_client_escaped_cert`: ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT) — control characters,
 * bytes ≥ 0x7f and ` "#$%&+,/:;<=>?@[\]^`{|}` become %XX (upper-case hex); letters, digits and
 * `-._~!'()*` stay.
 */
function nginxEscape(s: string): string {
  const escaped = new Set('"#$%&+,/:;<=>?@[\\]^`{|}');
  return Array.from(s, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0x20 || code >= 0x7f || escaped.has(c) ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : c;
  }).join('');
}

function okDer(t: Test, result: HeaderDecode | undefined, what: string): void {
  t.ok(result?.ok, what);
  if (result?.ok) t.ok(result.der.equals(der), `${what}: the client's DER`);
}

function refused(t: Test, result: HeaderDecode | undefined, reason: RegExp | string, what: string): void {
  t.equal(result?.ok, false, what);
  if (result !== undefined && !result.ok) {
    if (typeof reason === 'string') t.equal(result.reason, reason, `${what}: reason`);
    else t.match(result.reason, reason, `${what}: reason`);
  }
}

const NOT_X509 = 'x-ssl-client-cert does not hold an X.509 certificate; send the client certificate as URL-encoded PEM';

t.test('a garbage certificate header does not echo OpenSSL\'s error text in the reason (was: "… (error:0480006C:PEM routines::no start line)")', async (t) => {
  const garbage = encodeURIComponent(`-----BEGIN CERTIFICATE-----\n${Buffer.from('garbage that is not DER').toString('base64')}\n-----END CERTIFICATE-----\n`);
  const result = decodeCertificateHeader(H, garbage);
  refused(t, result, NOT_X509, 'fixed, actionable reason');
  if (result !== undefined && !result.ok) {
    t.notMatch(result.reason, /error:|routines|no start line/i, 'no library text');
    t.type(result.cause, Error, 'the library error is kept as the cause, for the logs');
  }
});

t.test('absent header', async (t) => {
  t.equal(decodeCertificateHeader(H, undefined), undefined);
  t.equal(decodeCertificateHeader(H, []), undefined, 'headersDistinct with no line');
});

t.test('nginx-ingress: URL-encoded PEM', async (t) => {
  const escaped = nginxEscape(pem);
  t.match(escaped, /^-----BEGIN%20CERTIFICATE-----%0A[A-Za-z0-9%]+%0A-----END%20CERTIFICATE-----(%0A)?$/, 'the shape nginx sends');
  okDer(t, decodeCertificateHeader(H, escaped), '$ssl_client_escaped_cert');
  okDer(t, decodeCertificateHeader(H, encodeURIComponent(pem)), 'encodeURIComponent');
  okDer(t, decodeCertificateHeader('X-SSL-Client-Cert', encodeURIComponent(pem)), 'header name in any case');
  okDer(t, decodeCertificateHeader(H, [encodeURIComponent(pem)]), 'one header line from headersDistinct');
  // AWS ALB leaves + / = unescaped: '+' is base64, never a space.
  okDer(t, decodeCertificateHeader('x-amzn-mtls-clientcert', encodeURIComponent(pem).replace(/%2B/g, '+').replace(/%2F/g, '/').replace(/%3D/g, '=')), 'ALB style');
});

t.test('raw PEM whose line breaks became spaces or tabs', async (t) => {
  okDer(t, decodeCertificateHeader(H, pem.trim().replace(/\n/g, ' ')), 'spaces');
  okDer(t, decodeCertificateHeader(H, pem.trim().replace(/\n/g, '\t')), 'tabs');
  okDer(t, decodeCertificateHeader(H, `  ${pem.trim().replace(/\r?\n/g, ' ')}  `), 'surrounding whitespace');
});

t.test('base64 DER', async (t) => {
  okDer(t, decodeCertificateHeader(H, der.toString('base64')), 'bare');
  okDer(t, decodeCertificateHeader('client-cert', `:${der.toString('base64')}:`), 'RFC 9440 byte sequence');
});

t.test('Envoy x-forwarded-client-cert', async (t) => {
  const hash = createHash('sha256').update(der).digest('hex');
  const cert = encodeURIComponent(pem);
  okDer(t, decodeCertificateHeader(XFCC, `By=spiffe://x;Hash=${hash};Cert="${cert}";Subject="CN=x";URI=spiffe://client`), 'quoted Cert');
  okDer(t, decodeCertificateHeader(XFCC, `By=spiffe://x;Cert=${cert};Subject="CN=x,O=Example\\, Inc.";DNS=a.example;DNS=b.example`), 'unquoted Cert, commas inside quotes');
  okDer(t, decodeCertificateHeader('X-Forwarded-Client-Cert', `cert="${cert}"`), 'keys in any case');

  refused(t, decodeCertificateHeader(XFCC, `By=spiffe://proxy1;Cert="${cert}",By=spiffe://proxy2;Cert="${cert}"`), /2 elements \(one per proxy hop\).*SANITIZE_SET/, 'two elements');
  refused(t, decodeCertificateHeader(XFCC, `By=spiffe://x;Hash=${hash};Subject="CN=x"`), 'x-forwarded-client-cert has no Cert field; configure the proxy to forward the certificate (Envoy set_current_client_cert_details: { cert: true })', 'no Cert');
  refused(t, decodeCertificateHeader(XFCC, `Hash=${'0'.repeat(64)};Cert="${cert}"`), 'x-forwarded-client-cert Hash field does not match its Cert field', 'Hash of another certificate');
  refused(t, decodeCertificateHeader(XFCC, `Cert="${cert}";Cert="${cert}"`), /more than one Cert field/, 'two Cert fields');
  refused(t, decodeCertificateHeader(XFCC, `Cert="${cert}`), /unterminated quoted value/, 'open quote');
  refused(t, decodeCertificateHeader(XFCC, 'Cert=""'), /empty Cert field/, 'empty Cert');
  refused(t, decodeCertificateHeader(XFCC, `Cert="${encodeURIComponent(encodeURIComponent(pem))}"`), /^x-forwarded-client-cert Cert field is URL-encoded twice/, 'the Cert field is decoded like the other headers');
});

t.test('refusals name the problem and never echo the header', async (t) => {
  const body = pem.split('\n').slice(1, -2).join(''); // base64 without line breaks
  refused(t, decodeCertificateHeader(H, ['a', 'b']), 'x-ssl-client-cert was sent 2 times; exactly one is expected', 'several header lines');
  refused(t, decodeCertificateHeader(H, `${encodeURIComponent(pem)}, ${encodeURIComponent(pem)}`), /several comma-separated values/, 'lines Node joined with ", "');
  refused(t, decodeCertificateHeader(H, ''), 'x-ssl-client-cert is empty', 'empty');
  refused(t, decodeCertificateHeader(H, '   '), 'x-ssl-client-cert is empty', 'blank');
  refused(t, decodeCertificateHeader(H, 'A'.repeat(MAX_CERTIFICATE_HEADER_BYTES + 1)), `x-ssl-client-cert is ${MAX_CERTIFICATE_HEADER_BYTES + 1} bytes; the limit is 16384`, 'oversized');
  refused(t, decodeCertificateHeader(H, encodeURIComponent(pem).replace('%0A', '%0')), 'x-ssl-client-cert has malformed percent-encoding', 'broken escape');
  refused(t, decodeCertificateHeader(H, '%E0%A4%A'), 'x-ssl-client-cert has malformed percent-encoding', 'truncated UTF-8 escape');
  refused(t, decodeCertificateHeader(H, encodeURIComponent(encodeURIComponent(pem))), 'x-ssl-client-cert is URL-encoded twice; configure the proxy to encode the certificate once', 'double-encoded (%252F…)');
  refused(t, decodeCertificateHeader(H, encodeURIComponent(pem.slice(0, pem.indexOf('-----END')))), 'x-ssl-client-cert: a "BEGIN CERTIFICATE" line has no matching "END CERTIFICATE" line (truncated?)', 'no END line');
  refused(t, decodeCertificateHeader(H, encodeURIComponent(pem.slice(pem.indexOf('\n') + 1))), /"END" line without its "BEGIN" line/, 'no BEGIN line');
  refused(t, decodeCertificateHeader(H, `-----BEGIN CERTIFICATE-----\n${body.slice(0, 401)}\n-----END CERTIFICATE-----`), 'x-ssl-client-cert: the body of the CERTIFICATE block is not base64', 'cut mid-quantum');
  refused(t, decodeCertificateHeader(H, `-----BEGIN CERTIFICATE-----\n${body.slice(0, 400)}\n-----END CERTIFICATE-----`), NOT_X509, 'cut on a base64 quantum');
  refused(t, decodeCertificateHeader(H, encodeURIComponent(`${pem}\n${pki.ca.cert}`)), 'x-ssl-client-cert holds 2 PEM blocks; send only the client (leaf) certificate', 'leaf and CA');
  refused(t, decodeCertificateHeader(H, encodeURIComponent(pki.client1.key)), 'x-ssl-client-cert holds a "PRIVATE KEY" PEM block, not a CERTIFICATE', 'a private key');
  refused(t, decodeCertificateHeader(H, `hello ${pem}`), 'x-ssl-client-cert has text outside its PEM block', 'text around the block');
  refused(t, decodeCertificateHeader(H, 'SECRET garbage!'), 'x-ssl-client-cert is neither a PEM certificate nor base64 DER', 'garbage');
  const notACert = decodeCertificateHeader(H, Buffer.from('SECRET bytes that are no certificate').toString('base64'));
  refused(t, notACert, NOT_X509, 'base64 that is not X.509');
  t.notMatch(notACert !== undefined && !notACert.ok ? notACert.reason : '', /SECRET/, 'the value is not echoed');
  refused(t, decodeCertificateHeader(H, Buffer.concat([der, Buffer.from([0, 0, 0])]).toString('base64')), 'x-ssl-client-cert has data after the certificate', 'trailing bytes');
});
