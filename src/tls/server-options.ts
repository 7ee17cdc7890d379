/**
 * TLS settings of the mTLS listener (SPEC §3; FAPI 1.0 Advanced §8.5; OFB FAPI profile "Secure Use of TLS").
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:crypto';
import { parsePem } from './pem.js';
import { createSecureContext, type SecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';

/** FAPI 1.0 Advanced §8.5(1): below TLS 1.3, only these four suites. */
export const FAPI_TLS12_CIPHERS = [
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
] as const;

/** TLS 1.3 suites (RFC 8446 / BCP 195); FAPI §8.5 does not restrict them. */
export const TLS13_CIPHERS = ['TLS_AES_256_GCM_SHA384', 'TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256'] as const;

/**
 * OFB FAPI profile: disable TLS renegotiation and session resumption. SSL_OP_NO_TICKET turns off
 * stateless tickets; Node's server session cache never stores sessions (no internal store and no
 * `newSession` listener), so session ids cannot be resumed either. Compression off (CRIME).
 */
const SECURE_OPTIONS = constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_NO_TICKET | constants.SSL_OP_NO_COMPRESSION | constants.SSL_OP_CIPHER_SERVER_PREFERENCE;

export interface TlsFiles {
  readonly certificates: readonly { readonly cert: string; readonly key: string; readonly hostnames?: readonly string[] | undefined }[];
  readonly clientCa: readonly string[];
  readonly crl: readonly string[];
}

/**
 * Node reads only the first CRL of each string it is given, so a bundle file (one CRL per CA of an
 * ICP-Brasil chain) is split into one entry per CRL — otherwise the others would be silently ignored.
 */
function splitCrls(text: string, file: string): string[] {
  const parsed = parsePem(text);
  if (!parsed.ok) throw new TypeError(`${file}: ${parsed.reason}`);
  const crls = parsed.blocks.filter((b) => b.label === 'X509 CRL');
  if (crls.length === 0) throw new TypeError(`${file}: no "X509 CRL" PEM block`);
  return crls.map((b) => `-----BEGIN X509 CRL-----\n${b.der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END X509 CRL-----\n`);
}

/** Options shared by every secure context of the listener (default and per-SNI). */
function contextOptions(files: TlsFiles, cert: { cert: string; key: string }, fetchedCrls: readonly string[]): SecureContextOptions {
  const crl = [...files.crl.flatMap((f) => splitCrls(readFileSync(f, 'utf8'), f)), ...fetchedCrls.flatMap((pem) => splitCrls(pem, 'fetched CRL'))];
  return {
    cert: readFileSync(cert.cert),
    key: readFileSync(cert.key),
    ca: files.clientCa.length > 0 ? files.clientCa.map((f) => readFileSync(f)) : undefined,
    crl: crl.length > 0 ? crl : undefined,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: [...TLS13_CIPHERS, ...FAPI_TLS12_CIPHERS].join(':'),
    honorCipherOrder: true,
    // FAPI §8.5(3): DHE only with ≥ 2048-bit groups; 'auto' picks a group matching the RSA key size.
    dhparam: 'auto',
    secureOptions: SECURE_OPTIONS,
  };
}

/** The listener's TLS material, built from files; rebuilt on reload without replacing the server. */
export interface BuiltTls {
  /** Options of the default secure context (for createServer and setSecureContext). */
  readonly defaults: SecureContextOptions;
  /** Secure contexts by lower-case SNI hostname. */
  readonly sni: ReadonlyMap<string, SecureContext>;
}

/** Read every file and build the contexts; throws when any of them cannot be used. */
export function buildTls(files: TlsFiles, fetchedCrls: readonly string[] = []): BuiltTls {
  const defaultCert = files.certificates.find((c) => c.hostnames === undefined) ?? files.certificates[0];
  if (defaultCert === undefined) throw new TypeError('no server certificate configured');
  const defaults = contextOptions(files, defaultCert, fetchedCrls);
  createSecureContext(defaults); // fail here, not at the next handshake
  const sni = new Map<string, SecureContext>();
  for (const c of files.certificates) {
    if (c.hostnames === undefined) continue;
    const ctx = createSecureContext(contextOptions(files, c, fetchedCrls));
    for (const h of c.hostnames) sni.set(h.toLowerCase(), ctx);
  }
  return { defaults, sni };
}

/**
 * The listener's TLS state: `serverOptions()` for `https.createServer`, `reload()` to swap in new
 * material (Kubernetes secret rotation) with `setSecureContext` — open connections are untouched.
 * Client certificates are requested and verified against `clientCa`, but a missing or failed
 * certificate does not end the handshake: the per-route `mtls` setting decides, so the refusal is
 * an OFB error body naming the reason (SPEC §1 row 2).
 */
export class ServerTls {
  #built: BuiltTls;
  /** CRLs fetched from `crlUrls` (PEM), applied with the files on every rebuild. */
  #fetchedCrls: readonly string[] = [];
  #server: { setSecureContext(options: SecureContextOptions): void } | undefined;

  constructor(private readonly files: TlsFiles) {
    this.#built = buildTls(files);
  }

  serverOptions(): TlsOptions {
    return {
      ...this.#built.defaults,
      requestCert: true,
      rejectUnauthorized: false,
      SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => {
        // undefined → the server's default context (the one setSecureContext replaces).
        cb(null, this.#built.sni.get(servername.toLowerCase()));
      },
    };
  }

  /** Once listening: later reloads are applied to this server with `setSecureContext`. */
  attach(server: { setSecureContext(options: SecureContextOptions): void }): void {
    this.#server = server;
  }

  /**
   * Rebuild from the files (and the fetched CRLs, replaced when given) and apply to the attached
   * server; throws, keeping the old material in service, when anything cannot be used.
   */
  reload(fetchedCrls: readonly string[] = this.#fetchedCrls): void {
    const next = buildTls(this.files, fetchedCrls);
    this.#server?.setSecureContext(next.defaults);
    this.#built = next;
    this.#fetchedCrls = fetchedCrls;
  }
}
