// SPEC §1 row 0: longest path-prefix match, then method; unknown → 404, never contacting an upstream.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { startTestGateway, serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

t.test('routing', async (tt) => {
  const broad = await startUpstream(tt);
  const narrow = await startUpstream(tt);
  const { dir } = await testPki();
  const gw = await startTestGateway(
    tt,
    `${serverBlock(dir)}routes:
  - path: /open-banking/payments/v4
    methods: [GET]
    upstream: ${broad.url}
    mtls: required
  - path: /open-banking/payments/v4/pix/payments
    methods: [POST]
    upstream: ${narrow.url}
    mtls: required
`,
  );
  const call = (method: string, path: string) =>
    send(gw.port, { method, path, headers: { 'x-fapi-interaction-id': randomUUID() }, cert: gw.pki.client1, ca: gw.pki.ca.cert });

  tt.equal((await call('POST', '/open-banking/payments/v4/pix/payments')).status, 200);
  tt.equal(narrow.requests.length, 1, 'longest prefix wins');
  const sub = await call('GET', '/open-banking/payments/v4/pix/payments/abc');
  tt.equal(sub.status, 405, 'the longest prefix decides: a GET under the POST-only route never falls back to the shorter GET route');
  tt.equal(sub.headers.allow, 'POST');
  tt.equal(sub.json().errors[0]?.code, 'METODO_NAO_PERMITIDO');
  tt.equal(broad.requests.length, 0, 'nothing reached the shorter prefix');
  tt.equal((await call('GET', '/open-banking/payments/v4/consents/abc')).status, 200, 'a GET elsewhere under the shorter prefix');
  tt.equal((await call('GET', '/open-banking/payments/v4')).status, 200, 'the prefix itself matches');

  const notFound = await call('GET', '/open-banking/payments/v4x');
  tt.equal(notFound.status, 404, 'prefixes match whole segments only');
  tt.equal(notFound.json().errors[0]?.code, 'NAO_ENCONTRADO');
  tt.match(notFound.headers['x-fapi-interaction-id'], /^[0-9a-f-]{36}$/, '404 still carries an interaction id');
  tt.ok(notFound.headers.date);

  const elsewhere = await call('GET', '/open-banking/accounts/v2/accounts');
  tt.equal(elsewhere.status, 404);

  const wrongMethod = await call('DELETE', '/open-banking/payments/v4/pix/payments');
  tt.equal(wrongMethod.status, 405);
  tt.match(wrongMethod.headers.allow, /POST/);

  for (const path of ['/open-banking/payments/v4/../../accounts/v2', '/open-banking/payments/v4/%2e%2e/x', '/open-banking/payments/v4/a\\b']) {
    const res = await call('GET', path);
    tt.equal(res.status, 400, `${path}: dot segments refused`);
    tt.equal(res.json().errors[0]?.code, 'PARAMETRO_INVALIDO');
  }
  tt.equal(broad.requests.length, 2, 'nothing else reached the broad upstream');

  const badUrl = await call('GET', '/open-banking/payments/v4/%zz');
  tt.equal(badUrl.status, 400, 'a malformed URL gets the OFB body too');
  tt.equal(badUrl.json().errors[0]?.code, 'PARAMETRO_INVALIDO');
  tt.match(badUrl.headers['x-fapi-interaction-id'], /^[0-9a-f-]{36}$/);
  tt.equal(badUrl.headers['content-type'], 'application/json; charset=utf-8');

  const expect = await send(gw.port, { path: '/open-banking/payments/v4', headers: { 'x-fapi-interaction-id': randomUUID(), expect: 'something-else' }, cert: gw.pki.client1, ca: gw.pki.ca.cert });
  tt.equal(expect.status, 417);
  tt.equal(expect.json().errors[0]?.code, 'PARAMETRO_INVALIDO');
  tt.equal(broad.requests.length, 2);
  tt.equal(narrow.requests.length, 1, 'nothing else reached the narrow upstream');
});
