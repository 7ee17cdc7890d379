// SPEC §1 row 2 / §3: a CRL revokes a certificate; after the CRL file changes, the next connection with it is refused.
import t from 'tap';
import { randomUUID, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCrl } from '../../src/dev/pki.js';
import { startTestGateway, serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

t.test('CRL reload revokes a certificate in use', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir, pki } = await testPki();
  const crlFile = join(dir, `crl-${randomUUID()}.pem`);
  writeFileSync(crlFile, await createCrl(pki.ca, []));
  const gw = await startTestGateway(tt, `${serverBlock(dir).replace(`clientCa: [${dir}/ca.crt]`, `clientCa: [${dir}/ca.crt]\n    crl: [${crlFile}]`)}routes:\n  - path: /x\n    upstream: ${upstream.url}\n`);
  const call = (cert: { cert: string; key: string }) => send(gw.port, { path: '/x', headers: { 'x-fapi-interaction-id': randomUUID() }, cert, ca: pki.ca.cert });

  tt.equal((await call(pki.client2)).status, 200, 'not revoked yet');
  const serial = new X509Certificate(pki.client2.cert).serialNumber;
  writeFileSync(crlFile, await createCrl(pki.ca, [serial], { crlNumber: 2 }));
  let status = 0;
  for (let i = 0; i < 50 && status !== 401; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await call(pki.client2)).status;
  }
  tt.equal(status, 401, 'the next connection with the revoked certificate is refused');
  const before = upstream.requests.length;
  const refused = await call(pki.client2);
  tt.equal(refused.json().errors[0]?.detail, 'client certificate has been revoked');
  tt.equal(upstream.requests.length, before, 'the revoked certificate never reaches the upstream');
  tt.equal((await call(pki.client1)).status, 200, 'other certificates still pass');
});
