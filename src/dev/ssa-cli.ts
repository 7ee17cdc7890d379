/**
 * `npm run sandbox:ssa -- [--org 1|2] [--certs DIR] [--gateway URL] [--directory URL] [--age SECONDS]`:
 * mints a software statement assertion (SSA) for a client of the dev PKI, signed with the key the
 * sandbox's mock Directory publishes at /openbanking.jwks (certs/directory-ssa-signing.key), and
 * prints it with a ready curl command registering a client through the gateway's DCR guard
 * (`/register`, `dcr: true` in the shipped routes.yaml). `--age 400` mints a stale one. Development only.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { orgKeyFromDir, signSoftwareStatement, softwareStatementClaims, type OrgSigningKey } from './mock-directory.js';
import { identityFromDer } from '../tls/identity.js';

/** The file stem of the sandbox Directory's SSA key in the dev PKI directory (`directory-ssa-signing.key`). */
export const SSA_KEY_STEM = 'directory-ssa';

/** The sandbox Directory's SSA signing key, kept in the dev PKI directory (written when missing). */
export function sandboxSsaKey(certDir: string): Promise<OrgSigningKey> {
  return orgKeyFromDir(certDir, SSA_KEY_STEM, 'directory');
}

export interface MintOptions {
  readonly certDir?: string;
  readonly org?: 1 | 2;
  readonly gatewayUrl?: string;
  /** The mock Directory's origin (default https://localhost:9200, `npm run sandbox`). */
  readonly directoryUrl?: string;
  /** Seconds since issue (default 0). */
  readonly age?: number;
}

export interface MintedSsa {
  readonly ssa: string;
  readonly registration: Record<string, unknown>;
  readonly curl: string;
}

/** Mint an SSA and a registration request for `client<org>`. */
export async function mintSoftwareStatement(options: MintOptions = {}): Promise<MintedSsa> {
  const certDir = resolve(options.certDir ?? 'certs');
  const client = `client${options.org ?? 1}`;
  const certFile = join(certDir, `${client}.crt`);
  if (!existsSync(certFile)) throw new Error(`no dev PKI in ${certDir}: run \`npm run certs\` first`);
  const identity = identityFromDer(new X509Certificate(readFileSync(certFile)).raw);
  if (identity.orgId === undefined || identity.softwareId === undefined) throw new Error(`${certFile} has no OFB org_id/software_id`);
  const claims = softwareStatementClaims(options.directoryUrl ?? 'https://localhost:9200', { orgId: identity.orgId, softwareId: identity.softwareId }, {
    iat: Math.floor(Date.now() / 1000) - (options.age ?? 0),
  });
  const ssa = await signSoftwareStatement(await sandboxSsaKey(certDir), claims);
  const registration = {
    software_statement: ssa,
    redirect_uris: [(claims.software_redirect_uris as string[])[0]],
    jwks_uri: claims.software_jwks_uri,
    token_endpoint_auth_method: 'tls_client_auth',
    tls_client_auth_subject_dn: identity.subjectDn,
    grant_types: ['authorization_code', 'client_credentials', 'refresh_token'],
    response_types: ['code id_token'],
    scope: 'openid accounts payments',
  };
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const curl = [
    `curl -i --cacert ${q(join(certDir, 'ca.crt'))} --cert ${q(certFile)} --key ${q(join(certDir, `${client}.key`))}`,
    `  -H 'content-type: application/json' --data-binary ${q(JSON.stringify(registration))}`,
    `  ${q(`${(options.gatewayUrl ?? 'https://localhost:8443').replace(/\/+$/, '')}/register`)}`,
  ].join(' \\\n');
  return { ssa, registration, curl };
}

const USAGE = 'usage: npm run sandbox:ssa -- [--org 1|2] [--certs DIR] [--gateway URL] [--directory URL] [--age SECONDS]';

export function parseArgs(argv: readonly string[]): MintOptions {
  const out: { certDir?: string; org?: 1 | 2; gatewayUrl?: string; directoryUrl?: string; age?: number } = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(USAGE);
    if (flag === '--org' && (value === '1' || value === '2')) out.org = Number(value) as 1 | 2;
    else if (flag === '--certs') out.certDir = value;
    else if (flag === '--gateway') out.gatewayUrl = value;
    else if (flag === '--directory') out.directoryUrl = value;
    else if (flag === '--age' && /^-?\d{1,9}$/.test(value)) out.age = Number(value);
    else throw new Error(USAGE);
  }
  return out;
}

async function main(argv: readonly string[]): Promise<number> {
  let options: MintOptions;
  try {
    options = parseArgs(argv);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const minted = await mintSoftwareStatement(options);
  console.log('# software statement (PS256, signed with the key the sandbox Directory publishes at /openbanking.jwks; valid 300 s):');
  console.log(minted.ssa);
  console.log('\n# register through the DCR guard (needs `npm run sandbox` and `npx guarita routes.yaml` running):');
  console.log(minted.curl);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
