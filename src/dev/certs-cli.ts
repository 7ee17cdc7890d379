/**
 * `node dist/src/dev/certs-cli.js certs [DIR]` (npm run certs): writes a fresh
 * dev PKI into DIR (default `certs/`) and prints what a developer needs to
 * register the clients: org ids, software ids, OFB subject DNs, thumbprints.
 */
import { X509Certificate } from 'node:crypto';
import { createDevPki, writeBankSigningKey, writeDevPki } from './pki.js';
import type { ClientPem } from './pki.js';
import { identityFromDer } from '../tls/identity.js';

async function main(argv: string[]): Promise<number> {
  const [command, dir = 'certs', ...extra] = argv;
  if (command !== 'certs' || extra.length > 0) {
    console.error('usage: certs-cli certs [DIR]');
    return 2;
  }
  const pki = await createDevPki();
  const written = { ...(await writeDevPki(dir, pki)), 'signing.key': await writeBankSigningKey(dir) };
  console.log(`Dev PKI written to ${dir} (valid for 30 days; for development only):`);
  for (const path of Object.values(written)) console.log(`  ${path}`);
  for (const [name, client] of [['client1', pki.client1], ['client2', pki.client2]] as [string, ClientPem][]) {
    const id = identityFromDer(new X509Certificate(client.cert).raw);
    console.log(`\n${name}:`);
    console.log(`  org_id:       ${client.orgId}`);
    console.log(`  software_id:  ${client.softwareId}`);
    console.log(`  subject DN:   ${id.subjectDn}`);
    console.log(`  x5t#S256:     ${id.thumbprint}`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
