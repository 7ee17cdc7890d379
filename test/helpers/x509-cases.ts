/**
 * Odd certificates and CRLs for verification tests, and the reference verdict: what Node's own TLS
 * server (OpenSSL) says about a client certificate, over a real socket.
 */
import { webcrypto } from 'node:crypto';
import { createServer, connect, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber } from '@peculiar/asn1-x509';
import type { Ca, Pem } from '../../src/dev/pki.js';
import { x509 } from '../../src/x509.js';

const HOUR = 3_600_000;
const RSA: webcrypto.RsaHashedKeyGenParams = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };

/** An extension nobody knows: its value is an opaque DER INTEGER, as content does not matter to a verifier that does not understand it. */
export function unknownExtension(oid: string, critical: boolean): x509.Extension {
  return new x509.Extension(oid, critical, AsnConvert.serialize(new CRLNumber(1)));
}

export interface CustomCertOptions {
  cn?: string;
  /** Self-signed (no issuer, no AKI). */
  selfSigned?: boolean;
  /** basicConstraints (critical); `null` leaves it out. Default `{ ca: false }`. */
  basicConstraints?: { ca: boolean; pathLength?: number } | null;
  /** keyUsage bits (critical); `null` leaves it out. Default digitalSignature. */
  keyUsage?: number | null;
  /** extKeyUsage OIDs; `null` leaves it out. Default clientAuth. */
  extKeyUsage?: string[] | null;
  /** AKI from this key instead of the signer's (to forge a certificate that names another CA). */
  authorityKey?: x509.PublicKey;
  notBefore?: Date;
  notAfter?: Date;
  extra?: x509.Extension[];
}

/** A certificate with exactly the extensions asked for, signed by `issuer` (or self-signed); usable as a CA in turn. */
export async function customCert(issuer: Ca | undefined, opts: CustomCertOptions = {}): Promise<Ca> {
  const keys = await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify']);
  const bc = opts.basicConstraints === undefined ? { ca: false } : opts.basicConstraints;
  const ku = opts.keyUsage === undefined ? x509.KeyUsageFlags.digitalSignature : opts.keyUsage;
  const eku = opts.extKeyUsage === undefined ? [x509.ExtendedKeyUsage.clientAuth] : opts.extKeyUsage;
  const extensions: x509.Extension[] = [
    ...(bc === null ? [] : [new x509.BasicConstraintsExtension(bc.ca, bc.pathLength, true)]),
    ...(ku === null ? [] : [new x509.KeyUsagesExtension(ku, true)]),
    ...(eku === null ? [] : [new x509.ExtendedKeyUsageExtension(eku)]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ...(opts.extra ?? []),
  ];
  const name = new x509.Name([{ CN: [{ utf8String: opts.cn ?? 'custom.client.example' }] }]);
  const validity = { notBefore: opts.notBefore ?? new Date(Date.now() - HOUR), notAfter: opts.notAfter ?? new Date(Date.now() + 24 * HOUR) };
  let certificate: x509.X509Certificate;
  if (opts.selfSigned === true || issuer === undefined) {
    certificate = await x509.X509CertificateGenerator.createSelfSigned({ name, keys, ...validity, extensions });
  } else {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(opts.authorityKey ?? issuer.certificate.publicKey));
    certificate = await x509.X509CertificateGenerator.create({
      subject: name,
      issuer: issuer.certificate.subjectName,
      publicKey: keys.publicKey,
      signingKey: issuer.privateKey,
      ...validity,
      extensions,
    });
  }
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: certificate.toString('pem'), key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), certificate, privateKey: keys.privateKey };
}

export interface CustomCrlOptions {
  /** Serials to revoke, with an optional reason. */
  entries?: { serialNumber: string; reason?: x509.X509CrlReason }[];
  /** Include the AKI extension (default true). */
  aki?: boolean;
  extra?: x509.Extension[];
  thisUpdate?: Date;
  nextUpdate?: Date;
}

/** A PEM ("X509 CRL") CRL of `ca` with exactly the extensions asked for. */
export async function customCrl(ca: Ca, opts: CustomCrlOptions = {}): Promise<string> {
  const thisUpdate = opts.thisUpdate ?? new Date(Date.now() - HOUR);
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subjectName,
    thisUpdate,
    nextUpdate: opts.nextUpdate ?? new Date(thisUpdate.getTime() + 24 * HOUR),
    signingAlgorithm: RSA,
    signingKey: ca.privateKey,
    extensions: [...(opts.aki === false ? [] : [await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey)]), ...(opts.extra ?? [])],
    entries: (opts.entries ?? []).map((e) => ({ serialNumber: e.serialNumber, ...(e.reason === undefined ? {} : { reason: e.reason }) })),
  });
  return x509.PemConverter.encode(crl.rawData, 'X509 CRL');
}

/**
 * What Node's TLS server makes of `client`: 'OK' when authorized, else `socket.authorizationError.code`.
 * The server verifies against `ca` and `crl` exactly as the gateway's mTLS listener does.
 */
export async function tlsVerdict(opts: { server: Pem; ca: readonly string[]; crl?: readonly string[]; client: Pem }): Promise<string> {
  const server = createServer({
    cert: opts.server.cert,
    key: opts.server.key,
    ca: [...opts.ca],
    ...(opts.crl !== undefined && opts.crl.length > 0 ? { crl: [...opts.crl] } : {}),
    requestCert: true,
    rejectUnauthorized: false,
  });
  try {
    const verdict = new Promise<string>((resolve) => {
      server.once('secureConnection', (socket: TLSSocket) => {
        const err = socket.authorizationError as (Error & { code?: string }) | null;
        resolve(socket.authorized ? 'OK' : (err?.code ?? String(err)));
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, rejectUnauthorized: false, cert: opts.client.cert, key: opts.client.key });
    client.on('error', () => {}); // the server may drop the connection first
    try {
      return await verdict;
    } finally {
      client.destroy();
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
