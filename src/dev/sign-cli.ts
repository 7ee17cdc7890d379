/**
 * `npm run sandbox:sign -- [--org 1|2] [--certs DIR] [--gateway URL] [--amount 100.00]`: signs a
 * Pix payment the way an OFB participant does, with the client organisation's signing key that
 * `npm run sandbox` publishes in its mock directory (certs/<client>-signing.key), and prints a
 * ready curl command for the gateway of the shipped routes.yaml (mTLS with the client's
 * certificate, x-fapi-interaction-id, x-idempotency-key, the sandbox's payments token).
 * Development only.
 */
import { X509Certificate, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { orgKeyFromDir, signAsOrg } from './mock-directory.js';
import { sandboxTokenValue } from './sandbox.js';
import { identityFromDer } from '../tls/identity.js';

/** The payments route of the shipped routes.yaml. */
export const PAYMENTS_PATH = '/open-banking/payments/v4/pix/payments';

export interface SignOptions {
  /** The dev PKI directory written by `npm run certs` (default `certs`). */
  readonly certDir?: string;
  /** 1 = client1, 2 = client2 (default 1). */
  readonly org?: 1 | 2;
  /** The gateway's public base URL, `server.publicBaseUrl` (default https://localhost:8443). */
  readonly gatewayUrl?: string;
  /** The payment amount (default 100.00). */
  readonly amount?: string;
}

export interface SignedPayment {
  /** The compact JWS (the request body, content-type application/jwt). */
  readonly jws: string;
  /** The URL the payment is posted to, and the JWS `aud`. */
  readonly url: string;
  readonly orgId: string;
  readonly kid: string;
  /** The sandbox access token for this client (payments scope, bound to its certificate). */
  readonly token: string;
  readonly interactionId: string;
  readonly idempotencyKey: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  /** A shell command that sends the payment. */
  readonly curl: string;
}

/** A minimal Pix payment body (the `data` the bank API receives). */
export function pixPayment(amount: string): Record<string, unknown> {
  return {
    data: {
      endToEndId: `E00000000${new Date().toISOString().replace(/\D/g, '').slice(0, 12)}${randomUUID().replace(/-/g, '').slice(0, 11)}`,
      localInstrument: 'DICT',
      payment: { amount, currency: 'BRL' },
      creditorAccount: { ispb: '12345678', issuer: '0001', number: '1234567890', accountType: 'CACC' },
      proxy: '12345678901',
      cnpjInitiator: '50685362000135',
    },
  };
}

/** Sign a payment as `client<org>` of the dev PKI in `certDir`. */
export async function signPayment(options: SignOptions = {}): Promise<SignedPayment> {
  const certDir = resolve(options.certDir ?? 'certs');
  const client = `client${options.org ?? 1}`;
  const certFile = join(certDir, `${client}.crt`);
  if (!existsSync(certFile)) throw new Error(`no dev PKI in ${certDir}: run \`npm run certs\` first`);
  const identity = identityFromDer(new X509Certificate(readFileSync(certFile)).raw);
  if (identity.orgId === undefined) throw new Error(`${certFile} has no OFB org_id`);
  const key = await orgKeyFromDir(certDir, client, identity.orgId);
  const url = `${(options.gatewayUrl ?? 'https://localhost:8443').replace(/\/+$/, '')}${PAYMENTS_PATH}`;
  const jws = await signAsOrg(key, url, pixPayment(options.amount ?? '100.00'));
  const token = sandboxTokenValue(options.org === 2 ? 'client2-payments' : 'payments');
  const interactionId = randomUUID();
  const idempotencyKey = randomUUID();
  const keyFile = join(certDir, `${client}.key`);
  const caFile = join(certDir, 'ca.crt');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const curl = [
    `curl -i --cacert ${q(caFile)} --cert ${q(certFile)} --key ${q(keyFile)}`,
    `  -H 'content-type: application/jwt' -H 'x-fapi-interaction-id: ${interactionId}' -H 'x-idempotency-key: ${idempotencyKey}'`,
    `  -H 'Authorization: Bearer ${token}'`,
    `  --data-binary ${q(jws)}`,
    `  ${q(url)}`,
  ].join(' \\\n');
  return { jws, url, orgId: identity.orgId, kid: key.kid, token, interactionId, idempotencyKey, certFile, keyFile, caFile, curl };
}

const USAGE = 'usage: npm run sandbox:sign -- [--org 1|2] [--certs DIR] [--gateway URL] [--amount 100.00]';

export function parseArgs(argv: readonly string[]): SignOptions {
  const out: { certDir?: string; org?: 1 | 2; gatewayUrl?: string; amount?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(USAGE);
    i++;
    if (flag === '--org' && (value === '1' || value === '2')) out.org = Number(value) as 1 | 2;
    else if (flag === '--certs') out.certDir = value;
    else if (flag === '--gateway') out.gatewayUrl = value;
    else if (flag === '--amount' && /^\d{1,16}\.\d{2}$/.test(value)) out.amount = value;
    else throw new Error(USAGE);
  }
  return out;
}

async function main(argv: readonly string[]): Promise<number> {
  let options: SignOptions;
  try {
    options = parseArgs(argv);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const signed = await signPayment(options);
  console.log(`# Pix payment signed by org ${signed.orgId} (PS256, kid ${signed.kid}), aud ${signed.url}`);
  console.log('# needs `npm run sandbox` and `npx guarita routes.yaml` running; the JWS and its jti are single-use.');
  console.log('# the token is static in the sandbox (its mock authorization server knows it from the start).\n');
  console.log(signed.curl);
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
