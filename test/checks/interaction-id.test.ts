// SPEC §1 row 1 — FAPI 1.0 Part 1 §6.2.1-11 / §6.2.2: x-fapi-interaction-id.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { startTestGateway, serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

t.test('x-fapi-interaction-id', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir } = await testPki();
  const gw = await startTestGateway(
    tt,
    `${serverBlock(dir)}routes:
  - path: /open-banking/accounts/v2
    upstream: ${upstream.url}
    fapi: true
  - path: /open-data
    upstream: ${upstream.url}
    mtls: none
`,
  );
  const call = (path: string, headers: Record<string, string | string[]> = {}) =>
    send(gw.port, { path, headers, cert: gw.pki.client1, ca: gw.pki.ca.cert });

  await tt.test('missing on a FAPI route → 400 PARAMETRO_INVALIDO with a new UUID v4', async (t2) => {
    const res = await call('/open-banking/accounts/v2/accounts');
    t2.equal(res.status, 400);
    t2.equal(res.json().errors[0]?.code, 'PARAMETRO_INVALIDO');
    t2.equal(res.json().errors[0]?.detail, 'x-fapi-interaction-id header is required');
    t2.match(res.headers['x-fapi-interaction-id'], UUID_V4);
    t2.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    t2.ok(res.headers.date);
  });

  await tt.test('not a UUID → 400 with a newly generated one, not the bad value', async (t2) => {
    for (const bad of ['not-a-uuid', '12345678-1234-1234-1234-1234567890123', '{12345678-1234-1234-1234-123456789012}', '']) {
      const res = await call('/open-banking/accounts/v2/accounts', { 'x-fapi-interaction-id': bad });
      t2.equal(res.status, 400, JSON.stringify(bad));
      t2.equal(res.json().errors[0]?.code, 'PARAMETRO_INVALIDO');
      t2.not(res.headers['x-fapi-interaction-id'], bad);
      t2.match(res.headers['x-fapi-interaction-id'], UUID_V4);
    }
  });

  await tt.test('sent twice → 400 (a header must carry one UUID)', async (t2) => {
    const res = await call('/open-banking/accounts/v2/accounts', { 'x-fapi-interaction-id': [randomUUID(), randomUUID()] });
    t2.equal(res.status, 400);
  });

  tt.equal(upstream.requests.length, 0, 'no refused request reached the upstream');

  await tt.test('valid UUID in upper case is accepted, echoed and forwarded', async (t2) => {
    const id = randomUUID().toUpperCase();
    const res = await call('/open-banking/accounts/v2/accounts', { 'x-fapi-interaction-id': id });
    t2.equal(res.status, 200);
    t2.equal(res.headers['x-fapi-interaction-id'], id);
    t2.equal(upstream.requests.at(-1)?.headers['x-fapi-interaction-id'], id);
  });

  await tt.test('non-FAPI route: a missing id is generated, echoed and forwarded', async (t2) => {
    const res = await call('/open-data/products');
    t2.equal(res.status, 200);
    const id = res.headers['x-fapi-interaction-id'];
    t2.match(id, UUID_V4);
    t2.equal(upstream.requests.at(-1)?.headers['x-fapi-interaction-id'], id);
  });

  await tt.test('conformance-suite headers are never a reason to refuse', async (t2) => {
    const extras: Record<string, string>[] = [
      { 'x-fapi-customer-ip-address': '198.51.100.7' },
      { 'x-fapi-customer-ip-address': '2001:db8::7' },
      { 'x-fapi-auth-date': 'Tue, 11 Sep 2012 19:43:31 GMT' },
      { 'x-customer-user-agent': 'Mozilla/5.0' },
      { accept: 'application/json; charset=utf-8' },
      { accept: '*/*' },
    ];
    for (const headers of extras) {
      const res = await call('/open-banking/accounts/v2/accounts', { 'x-fapi-interaction-id': randomUUID(), ...headers });
      t2.equal(res.status, 200, JSON.stringify(headers));
    }
  });
});
