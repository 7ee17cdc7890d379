// issue 5: CRLs fetched from URLs; SPEC §7: each URL is a /readyz dependency, failing it when listed.
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
  const withUrls = (urls: string, required: readonly string[] = []) =>
    `${serverBlock(dir).replace(`clientCa: [${dir}/ca.crt]`, `clientCa: [${dir}/ca.crt]\n    crlUrls: [${urls}]`)}admin: { port: 0, host: 127.0.0.1, readinessDependencies: ${JSON.stringify(required)} }\nroutes:\n  - path: /x\n    upstream: ${upstream.url}\n`;
  const gw = await startTestGateway(tt, withUrls(crlUrl));
  const call = (cert: { cert: string; key: string }) => send(gw.port, { path: '/x', headers: { 'x-fapi-interaction-id': randomUUID() }, cert, ca: pki.ca.cert });

  tt.ok(fetches >= 1, 'fetched before listening');
  const revoked = await call(pki.client2);
  tt.equal(revoked.status, 401, 'the revoked certificate is refused from the first request');
  tt.equal(revoked.json().errors[0]?.detail, 'client certificate has been revoked');
  tt.equal((await call(pki.client1)).status, 200, 'a certificate the CRL does not list passes');
  const fresh = await fetch(`http://127.0.0.1:${gw.gateway.adminPort}/readyz`);
  tt.equal(fresh.status, 200);
  const freshBody = (await fresh.json()) as { dependencies: Record<string, { up: boolean; detail: string }> };
  tt.equal(freshBody.dependencies[crlUrl]?.up, true, 'the CRL URL is a dependency, up');
  tt.match(freshBody.dependencies[crlUrl]?.detail, new RegExp(`^${crlUrl.replaceAll('.', '\\.')}: last good CRL fetched \\d+ s ago$`));

  // A CRL URL that never answered: revocation status unknown → refused (fail closed), and not ready.
  const down = await startTestGateway(tt, withUrls(`${crlUrl}, http://127.0.0.1:1/gone.crl`));
  const unknown = await send(down.port, { path: '/x', headers: { 'x-fapi-interaction-id': randomUUID() }, cert: pki.client1, ca: pki.ca.cert });
  tt.equal(unknown.status, 401);
  tt.match(unknown.json().errors[0]?.detail, /revocation status is unknown/);
  const ready = await fetch(`http://127.0.0.1:${down.gateway.adminPort}/readyz`);
  tt.equal(ready.status, 200, 'an unreachable CRL URL not listed in readinessDependencies leaves the replica ready');
  const body = (await ready.json()) as { dependencies: Record<string, { up: boolean; detail: string }> };
  tt.equal(body.dependencies['http://127.0.0.1:1/gone.crl']?.up, false);
  tt.match(body.dependencies['http://127.0.0.1:1/gone.crl']?.detail, /^http:\/\/127\.0\.0\.1:1\/gone\.crl: never fetched; last attempt failed: /);
  tt.equal(body.dependencies[crlUrl]?.up, true);

  const gone = 'http://127.0.0.1:1/gone.crl';
  const listed = await startTestGateway(tt, withUrls(`${crlUrl}, ${gone}`, [gone]));
  const failing = await fetch(`http://127.0.0.1:${listed.gateway.adminPort}/readyz`);
  tt.equal(failing.status, 503, 'listed in readinessDependencies, the unreachable CRL URL fails /readyz');
  tt.equal(((await failing.json()) as { status: string }).status, 'unavailable');
  tt.equal(upstream.requests.length, 1, 'only the one accepted request reached the upstream');
});
