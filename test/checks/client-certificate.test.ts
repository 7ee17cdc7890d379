// SPEC §1 row 2, §3: client certificate per route (mtls: required | optional | none).
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { startTestGateway, serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

t.test('client certificate', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir, pki } = await testPki();
  const gw = await startTestGateway(
    tt,
    `${serverBlock(dir)}routes:
  - path: /required
    upstream: ${upstream.url}
    mtls: required
  - path: /optional
    upstream: ${upstream.url}
    mtls: optional
  - path: /none
    upstream: ${upstream.url}
    mtls: none
`,
  );
  const call = (path: string, cert?: { cert: string; key: string }) =>
    send(gw.port, { path, headers: { 'x-fapi-interaction-id': randomUUID() }, cert, ca: pki.ca.cert });

  const refusals: [string, { cert: string; key: string } | undefined, string][] = [
    ['missing', undefined, 'a client certificate is required on this route (mTLS)'],
    ['expired', pki.expiredClient, 'client certificate has expired'],
    ['untrusted CA', pki.rogueClient, 'client certificate is not issued by a trusted certificate authority'],
  ];
  for (const [what, cert, detail] of refusals) {
    const res = await call('/required/x', cert);
    tt.equal(res.status, 401, `required route, ${what} certificate → 401`);
    tt.equal(res.json().errors[0]?.code, 'INVALID_CLIENT');
    tt.equal(res.json().errors[0]?.detail, detail);
  }
  for (const cert of [pki.expiredClient, pki.rogueClient]) {
    const res = await call('/optional/x', cert);
    tt.equal(res.status, 401, 'optional route: a presented certificate that fails verification is refused, not ignored');
  }
  tt.equal(upstream.requests.length, 0, 'no refused request reached the upstream');

  const ok = await call('/required/x', pki.client2);
  tt.equal(ok.status, 200);
  tt.equal(upstream.requests.at(-1)?.headers['x-org-id'], pki.client2.orgId);

  const anonymous = await call('/optional/x');
  tt.equal(anonymous.status, 200, 'optional route without a certificate');
  tt.notOk(upstream.requests.at(-1)?.headers['x-org-id']);

  const open = await call('/none/x');
  tt.equal(open.status, 200, 'mtls: none');
  tt.equal(upstream.requests.length, 3);
});
