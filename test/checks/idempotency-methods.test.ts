// SPEC §1 row 10 applies to every body-carrying method a route accepts (regression: PUT was forwarded without a key).
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { startTestGateway, serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

t.test('idempotency on PUT', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir, pki } = await testPki();
  const gw = await startTestGateway(tt, `${serverBlock(dir)}routes:\n  - path: /open-banking/enrollments/v2\n    methods: [POST, PUT]\n    upstream: ${upstream.url}\n    fapi: true\n    idempotency: true\n`);
  const put = (headers: Record<string, string>) =>
    send(gw.port, { method: 'PUT', path: '/open-banking/enrollments/v2/e1', headers: { 'x-fapi-interaction-id': randomUUID(), 'content-type': 'application/json', ...headers }, body: '{"data":{"a":1}}', cert: pki.client1, ca: pki.ca.cert });
  const missing = await put({});
  tt.equal(missing.status, 422);
  tt.equal(missing.json().errors[0]?.code, 'PARAMETRO_NAO_INFORMADO');
  tt.equal(upstream.requests.length, 0, 'not forwarded without a key');
  tt.equal((await put({ 'x-idempotency-key': 'k1' })).status, 200);
  tt.equal((await put({ 'x-idempotency-key': 'k1' })).status, 200, 'replayed');
  tt.equal(upstream.requests.length, 1, 'the replay did not reach the upstream');
});
