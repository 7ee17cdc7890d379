// SPEC §4 forwarding, on real TLS sockets and a real upstream.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { startTestGateway, serverBlock, testPki } from '../helpers/gateway.js';
import { freePort, startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

async function setup(tt: { teardown(fn: () => unknown): void }, upstreamUrl: string, routeExtra = '') {
  const { dir } = await testPki();
  return startTestGateway(
    tt,
    `${serverBlock(dir)}routes:
  - path: /open-banking/accounts/v2
    upstream: ${upstreamUrl}
    mtls: required
    fapi: true
${routeExtra}`,
  );
}

t.test('SPEC §4: accepted request keeps method, path and query and carries the verified identity', async (tt) => {
  const upstream = await startUpstream(tt);
  const gw = await setup(tt, upstream.url);
  const id = randomUUID();
  const res = await send(gw.port, {
    path: '/open-banking/accounts/v2/accounts?page=2&page-size=25',
    headers: { 'x-fapi-interaction-id': id },
    cert: gw.pki.client1,
    ca: gw.pki.ca.cert,
  });
  tt.equal(res.status, 200);
  tt.equal(res.headers['x-fapi-interaction-id'], id, 'FAPI 1 Part 1 §6.2.1-11: echoed');
  tt.ok(res.headers.date, 'FAPI 1 Part 1 §6.2.1-10: Date');
  tt.equal(res.headers['x-upstream'], 'yes', 'upstream headers pass through');
  tt.same(res.json(), { data: { path: '/open-banking/accounts/v2/accounts?page=2&page-size=25' } });
  tt.equal(upstream.requests.length, 1);
  const seen = upstream.requests[0]!;
  tt.equal(seen.method, 'GET');
  tt.equal(seen.url, '/open-banking/accounts/v2/accounts?page=2&page-size=25');
  tt.equal(seen.headers['x-fapi-interaction-id'], id);
  tt.equal(seen.headers['x-org-id'], gw.pki.client1.orgId);
  tt.equal(seen.headers['x-software-id'], gw.pki.client1.softwareId);
  tt.match(seen.headers['x-client-cert-thumbprint'], /^[A-Za-z0-9_-]{43}$/);
  tt.equal(seen.headers['x-forwarded-proto'], 'https');
  tt.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  tt.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${gw.port}`);
});

t.test('SPEC §4: the upstream status, headers and body pass through; interaction id overrides the upstream one', async (tt) => {
  const upstream = await startUpstream(tt, (_req, res) => {
    res.writeHead(422, { 'content-type': 'application/json; charset=utf-8', 'x-fapi-interaction-id': 'upstream-made-this-up', 'x-custom': 'kept' });
    res.end('{"errors":[{"code":"X"}]}');
  });
  const gw = await setup(tt, upstream.url);
  const id = randomUUID().toUpperCase();
  const res = await send(gw.port, { path: '/open-banking/accounts/v2/x', headers: { 'x-fapi-interaction-id': id }, cert: gw.pki.client1, ca: gw.pki.ca.cert });
  tt.equal(res.status, 422);
  tt.equal(res.headers['x-custom'], 'kept');
  tt.equal(res.headers['x-fapi-interaction-id'], id, 'SPEC §1: the request value, any hex case, echoed unchanged');
  tt.equal(res.body, '{"errors":[{"code":"X"}]}');
});

t.test('SPEC §4: request bodies stream through byte for byte, whatever their content type', async (tt) => {
  const upstream = await startUpstream(tt);
  const gw = await setup(tt, upstream.url);
  const bodies: [string | undefined, Buffer][] = [
    ['application/jwt', Buffer.from('eyJhbGciOiJQUzI1NiJ9.eyJkYXRhIjp7fX0.c2ln')],
    ['application/json', Buffer.from('{ "data" : { "a" : 1 } }')],
    ['application/octet-stream', Buffer.from([0, 1, 2, 255, 254])],
    [undefined, Buffer.from('no content type')],
  ];
  for (const [type, body] of bodies) {
    const res = await send(gw.port, {
      method: 'POST',
      path: '/open-banking/accounts/v2/x',
      headers: { 'x-fapi-interaction-id': randomUUID(), ...(type ? { 'content-type': type } : {}) },
      body,
      cert: gw.pki.client1,
      ca: gw.pki.ca.cert,
    });
    tt.equal(res.status, 200, `${type ?? 'no content type'} accepted`);
    const seen = upstream.requests.at(-1)!;
    tt.same(seen.body, body, `${type ?? 'no content type'} forwarded unchanged`);
    tt.equal(seen.method, 'POST');
  }
});

t.test('SPEC §4: identity, certificate and hop-by-hop headers sent by the client are stripped', async (tt) => {
  const upstream = await startUpstream(tt);
  const gw = await setup(tt, upstream.url);
  const res = await send(gw.port, {
    path: '/open-banking/accounts/v2/accounts',
    headers: {
      'x-fapi-interaction-id': randomUUID(),
      'x-client-id': 'spoofed-client',
      'x-org-id': 'spoofed-org',
      'x-consent-id': 'urn:spoofed',
      'x-token-scope': 'accounts payments',
      'x-ssl-client-cert': '-----BEGIN%20CERTIFICATE-----spoofed',
      'x-forwarded-client-cert': 'Hash=spoofed',
      'x-jws-verified': 'true',
      'x-forwarded-for': '6.6.6.6',
      connection: 'keep-alive, x-drop-me',
      'x-drop-me': 'hop',
      'x-business-header': 'kept',
    },
    cert: gw.pki.client1,
    ca: gw.pki.ca.cert,
  });
  tt.equal(res.status, 200);
  const h = upstream.requests[0]!.headers;
  tt.equal(h['x-org-id'], gw.pki.client1.orgId, 'x-org-id is the certificate org, not the client claim');
  tt.notOk(h['x-client-id'], 'x-client-id stripped (no token on this route)');
  tt.notOk(h['x-consent-id']);
  tt.notOk(h['x-token-scope']);
  tt.notOk(h['x-ssl-client-cert']);
  tt.notOk(h['x-forwarded-client-cert']);
  tt.notOk(h['x-jws-verified']);
  tt.notOk(h['x-drop-me'], 'headers named in Connection are hop-by-hop');
  tt.equal(h['x-forwarded-for'], '127.0.0.1');
  tt.equal(h['x-business-header'], 'kept');
});

t.test('SPEC §4: upstream refusing connections → 502 OFB body', async (tt) => {
  const port = await freePort();
  const gw = await setup(tt, `http://127.0.0.1:${port}`);
  const id = randomUUID();
  const res = await send(gw.port, { path: '/open-banking/accounts/v2/accounts', headers: { 'x-fapi-interaction-id': id }, cert: gw.pki.client1, ca: gw.pki.ca.cert });
  tt.equal(res.status, 502);
  tt.equal(res.json().errors[0]?.code, 'BAD_GATEWAY');
  tt.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  tt.equal(res.headers['x-fapi-interaction-id'], id);
  tt.match(res.json().meta.requestDateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

t.test('SPEC §4: upstream resetting the connection → 502', async (tt) => {
  const upstream = await startUpstream(tt, (req) => req.socket.destroy());
  const gw = await setup(tt, upstream.url);
  const res = await send(gw.port, { path: '/open-banking/accounts/v2/accounts', headers: { 'x-fapi-interaction-id': randomUUID() }, cert: gw.pki.client1, ca: gw.pki.ca.cert });
  tt.equal(res.status, 502);
  tt.equal(res.json().errors[0]?.code, 'BAD_GATEWAY');
});

t.test('SPEC §4: upstream never answering → 504 after timeoutMs', async (tt) => {
  const upstream = await startUpstream(tt, () => {
    /* never answers */
  });
  const gw = await setup(tt, upstream.url, '    timeoutMs: 300\n');
  const started = Date.now();
  const res = await send(gw.port, { path: '/open-banking/accounts/v2/accounts', headers: { 'x-fapi-interaction-id': randomUUID() }, cert: gw.pki.client1, ca: gw.pki.ca.cert });
  tt.equal(res.status, 504);
  tt.equal(res.json().errors[0]?.code, 'GATEWAY_TIMEOUT');
  tt.ok(Date.now() - started < 5000, 'bounded by the route timeout');
});

t.test('SPEC §4: large bodies stream both ways; HEAD works; a client asking to close is not told keep-alive', async (tt) => {
  const upstream = await startUpstream(tt, (req, res, body) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', connection: 'keep-alive', 'keep-alive': 'timeout=5' });
    res.end(req.method === 'HEAD' ? undefined : Buffer.concat([body, body]));
  });
  const gw = await setup(tt, upstream.url);
  const big = Buffer.alloc(3 * 1024 * 1024, 7);
  const res = await send(gw.port, {
    method: 'PUT',
    path: '/open-banking/accounts/v2/upload',
    headers: { 'x-fapi-interaction-id': randomUUID(), 'content-type': 'application/octet-stream', connection: 'close' },
    body: big,
    cert: gw.pki.client1,
    ca: gw.pki.ca.cert,
  });
  tt.equal(res.status, 200);
  tt.equal(upstream.requests[0]!.body.length, big.length, 'the upload arrived whole (beyond bodyLimit: streamed, not buffered)');
  tt.equal(res.body.length, 2 * big.length, 'the download arrived whole');
  tt.equal(res.headers.connection, 'close', 'hop-by-hop headers of the upstream are not passed on');
  tt.notOk(res.headers['keep-alive']);
  const head = await send(gw.port, { method: 'HEAD', path: '/open-banking/accounts/v2/x', headers: { 'x-fapi-interaction-id': randomUUID() }, cert: gw.pki.client1, ca: gw.pki.ca.cert });
  tt.equal(head.status, 200);
  tt.equal(upstream.requests[1]!.method, 'HEAD');
});

t.test('SPEC §4: small, unsized, typeless and bodiless (204, 304, HEAD) responses pass through; a small body broken off → 502, never a truncated 200', async (tt) => {
  const json = Buffer.from(JSON.stringify({ data: { id: 'x'.repeat(500) } }));
  const upstream = await startUpstream(tt, (req, res) => {
    if (req.url === '/open-banking/accounts/v2/sized') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(json.length) });
      res.end(req.method === 'HEAD' ? undefined : json);
    } else if (req.url === '/open-banking/accounts/v2/typeless') {
      res.writeHead(201, { 'content-length': '3' });
      res.end('abc');
    } else if (req.url === '/open-banking/accounts/v2/unsized') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":');
      setTimeout(() => res.end('[1,2,3]}'), 20);
    } else if (req.url === '/open-banking/accounts/v2/no-content') {
      res.writeHead(204, { etag: '"v0"' });
      res.end();
    } else if (req.url === '/open-banking/accounts/v2/not-modified') {
      res.writeHead(304, { 'content-type': 'application/json', 'content-length': String(json.length), etag: '"v1"' });
      res.end();
    } else if (req.url === '/open-banking/accounts/v2/broken') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100', 'content-encoding': 'gzip', etag: '"v2"' });
      res.write('{"data":');
      setTimeout(() => res.socket?.destroy(), 20);
    }
  });
  const gw = await setup(tt, upstream.url);
  const get = (path: string, method = 'GET') =>
    send(gw.port, { method, path: `/open-banking/accounts/v2/${path}`, headers: { 'x-fapi-interaction-id': randomUUID() }, cert: gw.pki.client1, ca: gw.pki.ca.cert });

  const sized = await get('sized');
  tt.equal(sized.status, 200);
  tt.equal(sized.body, json.toString(), 'the JSON body, byte for byte');
  tt.equal(sized.headers['content-type'], 'application/json', 'no charset added');
  tt.equal(sized.headers['content-length'], String(json.length));
  const head = await get('sized', 'HEAD');
  tt.equal(head.headers['content-length'], String(json.length), 'HEAD keeps the length of the body it does not carry');
  tt.equal(head.body.length, 0);
  const typeless = await get('typeless');
  tt.equal(typeless.status, 201);
  tt.equal(typeless.body, 'abc');
  tt.notOk(typeless.headers['content-type'], 'no content type invented');
  const unsized = await get('unsized');
  tt.equal(unsized.body, '{"data":[1,2,3]}', 'a body of unknown length streams whole');
  const broken = await get('broken');
  tt.equal(broken.status, 502, 'the upstream broke off before the declared length');
  tt.equal(broken.json().errors[0]?.code, 'BAD_GATEWAY');
  tt.notOk(broken.headers['content-encoding'], 'the OFB error carries none of the upstream headers');
  tt.notOk(broken.headers.etag);
  const notModified = await get('not-modified');
  tt.equal(notModified.status, 304);
  tt.equal(notModified.headers.etag, '"v1"');
  tt.equal(notModified.headers['content-length'], String(json.length), 'a 304 keeps the length of the representation it does not carry');
  tt.equal(notModified.body, '');
  const noContent = await get('no-content');
  tt.equal(noContent.status, 204);
  tt.equal(noContent.headers.etag, '"v0"');
  tt.notOk(noContent.headers['content-length'], 'no Content-Length on a 204 (RFC 9110 §8.6)');
});
