// SPEC §4 request hygiene and proxy headers, on real TLS sockets and a real upstream: what the
// client sends in header names the upstream could misread never reaches it.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { startTestGateway, serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

async function setup(tt: { teardown(fn: () => unknown): void }, upstreamUrl: string, serverExtra = '') {
  const { dir } = await testPki();
  return startTestGateway(
    tt,
    `${serverBlock(dir, serverExtra)}routes:
  - path: /open-banking/accounts/v2
    upstream: ${upstreamUrl}
    mtls: required
    fapi: true
`,
  );
}

t.test('regression: header names with an underscore reached the upstream (x_org_id read as x-org-id by CGI/WSGI/Rack/PHP)', async (tt) => {
  const upstream = await startUpstream(tt);
  const gw = await setup(tt, upstream.url);
  const res = await send(gw.port, {
    path: '/open-banking/accounts/v2/accounts',
    headers: {
      'x-fapi-interaction-id': randomUUID(),
      x_org_id: 'spoofed-org',
      x_jws_verified: 'true',
      x_client_id: 'spoofed-client',
      'x-fapi_interaction-id': 'spoofed',
      _: 'x',
      'x-business-header': 'kept',
    },
    cert: gw.pki.client1,
    ca: gw.pki.ca.cert,
  });
  tt.equal(res.status, 200, 'dropped, not refused (as nginx does by default)');
  tt.equal(upstream.requests.length, 1);
  const h = upstream.requests[0]!.headers;
  for (const name of Object.keys(h)) tt.notOk(name.includes('_'), `${name}: no name with an underscore is forwarded`);
  tt.equal(h['x-org-id'], gw.pki.client1.orgId, 'the gateway value');
  tt.notOk(h['x-jws-verified']);
  tt.notOk(h['x-client-id']);
  tt.equal(h['x-business-header'], 'kept', 'other headers still pass');
});

t.test('regression: x-forwarded-host was the client Host despite server.publicBaseUrl; client x-real-ip, forwarded and x-forwarded-* passed through', async (tt) => {
  const upstream = await startUpstream(tt);
  const gw = await setup(tt, upstream.url, '  publicBaseUrl: https://matls-api.bank.example\n');
  const res = await send(gw.port, {
    path: '/open-banking/accounts/v2/accounts',
    headers: {
      'x-fapi-interaction-id': randomUUID(),
      'x-forwarded-host': 'evil.example',
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-proto': 'http',
      'x-forwarded-port': '80',
      'x-forwarded-prefix': '/admin',
      'x-forwarded-server': 'evil',
      'x-forwarded-ssl': 'off',
      'x-real-ip': '6.6.6.6',
      forwarded: 'for=6.6.6.6;host=evil.example;proto=http',
    },
    cert: gw.pki.client1,
    ca: gw.pki.ca.cert,
  });
  tt.equal(res.status, 200);
  const h = upstream.requests[0]!.headers;
  tt.equal(h['x-forwarded-host'], 'matls-api.bank.example', 'SPEC §4: the host of server.publicBaseUrl');
  tt.equal(h['x-forwarded-for'], '127.0.0.1', 'the peer address, not the client claim (not a trusted proxy)');
  tt.equal(h['x-forwarded-proto'], 'https');
  tt.notOk(h['x-real-ip'], 'x-real-ip is never passed on');
  tt.notOk(h.forwarded, 'forwarded is never passed on');
  const forwardedNames = Object.keys(h)
    .filter((n) => n.startsWith('x-forwarded-'))
    .sort();
  tt.same(forwardedNames, ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'], 'only the x-forwarded-* the gateway sets');
});

t.test('SPEC §4: without server.publicBaseUrl, x-forwarded-host is the Host the request was routed on', async (tt) => {
  const upstream = await startUpstream(tt);
  const gw = await setup(tt, upstream.url);
  const res = await send(gw.port, {
    path: '/open-banking/accounts/v2/accounts',
    headers: { 'x-fapi-interaction-id': randomUUID(), host: 'api.bank.example', 'x-forwarded-host': 'evil.example' },
    cert: gw.pki.client1,
    ca: gw.pki.ca.cert,
  });
  tt.equal(res.status, 200);
  tt.equal(upstream.requests[0]!.headers['x-forwarded-host'], 'api.bank.example');
});
