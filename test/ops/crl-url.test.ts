// issue 5: CRLs fetched from URLs; an unreachable CRL URL fails /readyz.
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID, X509Certificate } from 'node:crypto';
import { createCrl } from '../../src/dev/pki.js';
import { startTestGateway, serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

t.test('a CRL fetched from a URL revokes; an unreachable URL makes the gateway not ready', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir, pki } = await testPki();
  const crlPem = await createCrl(pki.ca, [new X509Certificate(pki.client2.cert).serialNumber]);
  // Served as DER, the way CRL distribution points usually publish them.
  const der = Buffer.from(crlPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  let fetches = 0;
  const crlServer = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(der);
  });
  await new Promise<void>((r) => crlServer.listen(0, '127.0.0.1', r));
  tt.teardown(() => new Promise<void>((r) => crlServer.close(() => r())));
  const crlUrl = `http://127.0.0.1:${(crlServer.address() as AddressInfo).port}/ca.crl`;
  const tls = serverBlock(dir).replace(`clientCa: [${dir}/ca.crt]`, `clientCa: [${dir}/ca.crt]\n    crlUrls: [${crlUrl}, http://127.0.0.1:1/gone.crl]`);
  const gw = await startTestGateway(tt, `${tls}admin: { port: 0, host: 127.0.0.1 }\nroutes:\n  - path: /x\n    upstream: ${upstream.url}\n`);
  const call = (cert: { cert: string; key: string }) => send(gw.port, { path: '/x', headers: { 'x-fapi-interaction-id': randomUUID() }, cert, ca: pki.ca.cert });

  let status = 0;
  for (let i = 0; i < 50 && status !== 401; i++) {
    status = (await call(pki.client2)).status;
    if (status !== 401) await new Promise((r) => setTimeout(r, 100));
  }
  tt.equal(status, 401, 'the revoked certificate is refused once the CRL is fetched');
  tt.ok(fetches >= 1);
  tt.equal((await call(pki.client1)).status, 200, 'a certificate the CRL does not list passes');
  const ready = await fetch(`http://127.0.0.1:${gw.gateway.adminPort}/readyz`);
  tt.equal(ready.status, 503, 'an unreachable CRL URL fails /readyz');
  tt.match(JSON.stringify(await ready.json()), /gone\.crl: never fetched/);
});
