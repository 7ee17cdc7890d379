/**
 * `npm run sandbox`: the sandbox on the ports the shipped routes.yaml uses — mock bank API :9001,
 * mock authorization server :9100, mock directory :9200 — with the dev PKI from `npm run certs`.
 * Prints the tokens it knows and a request to try. Ctrl-C stops it.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sandboxPcmYaml, startSandbox } from './sandbox.js';
import { orgKeyFromDir } from './mock-directory.js';
import { sandboxSsaKey } from './ssa-cli.js';
import { identityFromDer } from '../tls/identity.js';

async function main(certDir: string): Promise<void> {
  if (!existsSync(join(certDir, 'client1.crt'))) {
    console.error(`no dev PKI in ${certDir}: run \`npm run certs\` first`);
    process.exitCode = 2;
    return;
  }
  const read = (name: string) => readFileSync(join(certDir, name), 'utf8');
  const client = (name: string) => {
    const cert = read(`${name}.crt`);
    const id = identityFromDer(new X509Certificate(cert).raw);
    if (id.orgId === undefined || id.softwareId === undefined) throw new Error(`${name}.crt has no OFB org_id/software_id`);
    return { cert, key: read(`${name}.key`), orgId: id.orgId, softwareId: id.softwareId };
  };
  const [client1, client2] = [client('client1'), client('client2')];
  // The signing keys `npm run sandbox:sign` signs with (written into certs/ when missing).
  const orgKeys = { client1: await orgKeyFromDir(certDir, 'client1', client1.orgId), client2: await orgKeyFromDir(certDir, 'client2', client2.orgId) };
  const sandbox = await startSandbox(
    { ca: { cert: read('ca.crt'), key: '' }, server: { cert: read('server.crt'), key: read('server.key') }, client1, client2 },
    { bank: 9001, as: 9100, directory: 9200, pcm: 9300 },
    orgKeys,
    // The SSA key `npm run sandbox:ssa` mints with.
    await sandboxSsaKey(certDir),
  );
  console.log(`sandbox up: bank API ${sandbox.bank.url}, authorization server ${sandbox.as.url}, directory ${sandbox.directory.url}, PCM ${sandbox.pcm.url}`);
  console.log('tokens the authorization server knows (bound to the certificates in certs/):');
  for (const [name, token] of Object.entries(sandbox.tokens)) console.log(`  ${name.padEnd(16)} ${token}`);
  console.log(`\nstart the gateway in another terminal:  npx guarita routes.yaml\nthen try:
  curl --cacert ${certDir}/ca.crt --cert ${certDir}/client1.crt --key ${certDir}/client1.key \\
       -H "x-fapi-interaction-id: $(node -p 'crypto.randomUUID()')" -H "Authorization: Bearer ${sandbox.tokens.accounts}" \\
       https://localhost:8443/open-banking/accounts/v2/accounts
a signed payment:  npm run sandbox:sign   (prints the curl command; --org 2 signs as client2)
a client registration through the DCR guard:  npm run sandbox:ssa   (mints a software statement; --age 400 a stale one)
PCM reports (docs/pcm.md): add this section to routes.yaml; the mock PCM prints each batch it receives:
${sandboxPcmYaml('certs', sandbox.pcm.url, '.guarita-pcm-spool')}`);
  let printed = 0;
  setInterval(() => {
    for (const batch of sandbox.pcm.batches.slice(printed)) console.log(`PCM ${batch.kind} batch (${batch.status}): ${JSON.stringify(batch.reports)}`);
    printed = sandbox.pcm.batches.length;
  }, 1000).unref();
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main(resolve(process.argv[2] ?? 'certs'));
