/**
 * The files routes.yaml names: resolved against the configuration file's directory, readable now,
 * and — for the listener's TLS material — usable now, not at the first handshake.
 */
import { readFileSync, accessSync, constants as fsConstants } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { resolve } from 'node:path';
import { createTrustStore } from '../tls/verify-chain.js';
import type { RawConfig } from './schema.js';
import type { ConfigProblem, KeyPath } from './problems.js';

/**
 * Replaces every relative file path by an absolute one (relative to `baseDir`, the configuration
 * file's directory); the first file that cannot be read is the problem returned.
 */
export function resolveFiles(config: RawConfig, baseDir: string): ConfigProblem | undefined {
  let problem: ConfigProblem | undefined;
  const check = (path: KeyPath, file: string): string => {
    const abs = resolve(baseDir, file);
    try {
      accessSync(abs, fsConstants.R_OK);
    } catch {
      problem ??= { path, message: `file ${file} does not exist or is not readable` };
    }
    return abs;
  };
  const tls = config.server.tls;
  tls.certificates.forEach((c, i) => {
    c.cert = check(['server', 'tls', 'certificates', i, 'cert'], c.cert);
    c.key = check(['server', 'tls', 'certificates', i, 'key'], c.key);
  });
  tls.clientCa = tls.clientCa.map((f, i) => check(['server', 'tls', 'clientCa', i], f));
  tls.crl = tls.crl.map((f, i) => check(['server', 'tls', 'crl', i], f));
  const intro = config.introspection;
  if (intro) {
    for (const k of ['clientCert', 'clientKey', 'ca'] as const) {
      const v = intro[k];
      if (v !== undefined) intro[k] = check(['introspection', k], v);
    }
  }
  if (config.directory?.ca !== undefined) config.directory.ca = check(['directory', 'ca'], config.directory.ca);
  if (config.signing) config.signing.key = check(['signing', 'key'], config.signing.key);
  return problem;
}

/** Each server certificate loads with its key and has not expired. */
export function serverCertificates(config: RawConfig): readonly ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.server.tls.certificates.forEach((c, i) => {
    const at = ['server', 'tls', 'certificates', i];
    try {
      createSecureContext({ cert: readFileSync(c.cert), key: readFileSync(c.key) });
    } catch (err) {
      problems.push({ path: at, message: `certificate or key cannot be used: ${(err as Error).message}` });
    }
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(readFileSync(c.cert));
    } catch (err) {
      problems.push({ path: [...at, 'cert'], message: `not a PEM certificate: ${(err as Error).message}` });
      return;
    }
    if (Date.parse(leaf.validTo) < Date.now()) problems.push({ path: [...at, 'cert'], message: `server certificate expired on ${leaf.validTo}` });
  });
  return problems;
}

/** Each client trust anchor is a PEM certificate. */
export function clientCas(config: RawConfig): readonly ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.server.tls.clientCa.forEach((f, i) => {
    try {
      createSecureContext({ ca: readFileSync(f) });
      new X509Certificate(readFileSync(f));
    } catch (err) {
      problems.push({ path: ['server', 'tls', 'clientCa', i], message: `not a PEM certificate: ${(err as Error).message}` });
    }
  });
  return problems;
}

/** Each CRL file is a PEM CRL the trust store of the client trust anchors accepts. */
export function crls(config: RawConfig): readonly ConfigProblem[] {
  const tls = config.server.tls;
  const problems: ConfigProblem[] = [];
  tls.crl.forEach((f, i) => {
    try {
      createSecureContext({ crl: readFileSync(f) });
      createTrustStore(tls.clientCa.map((ca) => readFileSync(ca)), [readFileSync(f)]);
    } catch (err) {
      problems.push({ path: ['server', 'tls', 'crl', i], message: `not a usable PEM CRL: ${(err as Error).message}` });
    }
  });
  return problems;
}
