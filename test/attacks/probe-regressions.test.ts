// Regressions from the black-box probe of SPEC §3–§4 against the installed bin (issue 10), each
// named after what got through.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:tls';
import t from 'tap';
import { serverBlock, startTestGateway, testPki } from '../helpers/gateway.js';
import { rawExchange } from '../helpers/raw-tls.js';
import { startUpstream } from '../helpers/upstream.js';
import { request } from './corpus.js';

const ROUTES = (upstream: string) => `routes:
  - path: /open
    upstream: ${upstream}
    mtls: none
    auth: none
  - path: /slow
    upstream: ${upstream}
    mtls: none
    auth: none
    timeoutMs: 500
`;

async function startEnv(tt: { teardown(fn: () => unknown): void }, extra = '') {
  const { dir, pki } = await testPki();
  const upstream = await startUpstream(tt);
  const gw = await startTestGateway(tt, `${serverBlock(dir, extra)}${ROUTES(upstream.url)}`);
  return { gw, upstream, pki };
}

t.test('regression: a second Host past Node\'s 1000th header field was dropped unseen and the request forwarded', async (tt) => {
  const { gw, upstream, pki } = await startEnv(tt);
  const filler = Array.from({ length: 1000 }, (_, i) => `a${i}:b`);
  for (const [what, headers] of [
    ['a second Host after 1000 fields', ['Host: localhost', ...filler, 'Host: evil.example']],
    ['a Transfer-Encoding on GET after 1000 fields', ['Host: localhost', ...filler, 'Transfer-Encoding: chunked']],
    ['300 header fields', ['Host: localhost', ...filler.slice(0, 299)]],
  ] as const) {
    const res = await rawExchange(gw.port, request('/open/x', { headers: [...headers] }), { ca: pki.ca.cert });
    tt.equal(res.status, 431, `${what} → 431`);
  }
  const fine = await rawExchange(gw.port, request('/open/x', { headers: ['Host: localhost', ...filler.slice(0, 200)] }), { ca: pki.ca.cert });
  tt.equal(fine.status, 200, '201 header fields pass');
  tt.equal(upstream.requests.length, 1, 'only the acceptable request was forwarded');
});

t.test('regression: malformed Host values were accepted and sent upstream as x-forwarded-host', async (tt) => {
  const { gw, upstream, pki } = await startEnv(tt);
  for (const host of ['a.example, b.example', 'evil.example/../x', '', '[::1', 'a b', 'evil.example\\x', 'ev%2eil', 'a.example:99999x', 'user@a.example']) {
    const res = await rawExchange(gw.port, request('/open/x', { headers: [`Host: ${host}`] }), { ca: pki.ca.cert });
    tt.equal(res.status, 400, `Host ${JSON.stringify(host)} → 400`);
  }
  for (const host of ['localhost', 'localhost:8443', 'matls-api.bank.example', '127.0.0.1:443', '[::1]:8443', 'svc_name.internal']) {
    const res = await rawExchange(gw.port, request('/open/x', { headers: [`Host: ${host}`] }), { ca: pki.ca.cert });
    tt.equal(res.status, 200, `Host ${JSON.stringify(host)} → 200`);
  }
  tt.equal(upstream.requests.length, 6);
});

t.test('regression: a GET with Transfer-Encoding identity got two responses on one connection', async (tt) => {
  const { gw, upstream, pki } = await startEnv(tt);
  const bytes = await new Promise<string>((resolve) => {
    let received = '';
    const socket = connect({ host: '127.0.0.1', port: gw.port, servername: 'localhost', ca: pki.ca.cert }, () =>
      socket.write('GET /open/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: identity\r\n\r\nhello'),
    );
    socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received));
    setTimeout(() => socket.destroy(), 3000).unref();
  });
  tt.equal(bytes.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, 'exactly one response');
  tt.match(bytes, /^HTTP\/1\.1 400 /);
  tt.equal(upstream.requests.length, 0);
});

t.test('regression: a stalled request body was bounded by the longest route timeout, not its own (408 after 40 s)', async (tt) => {
  const { gw, upstream, pki } = await startEnv(tt);
  const started = Date.now();
  const res = await rawExchange(
    gw.port,
    `POST /slow/x HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n0123456789`,
    { ca: pki.ca.cert, timeoutMs: 5000 },
  );
  const took = Date.now() - started;
  tt.equal(res.status, 408, 'the OFB 408 arrives');
  tt.match(res.body, /"code":"TEMPO_ESGOTADO"/);
  tt.ok(took < 2500, `after the route's 500 ms timeout (took ${took} ms)`);
  tt.equal(upstream.requests.filter((r) => r.url === '/slow/x').length, 0, 'the upstream never received a complete request');
});

t.test('regression: spoofed x-dcr-verified and URL/method override headers reached the upstream', async (tt) => {
  const { gw, upstream, pki } = await startEnv(tt);
  const headers = ['x-dcr-verified: true', 'x-original-url: /admin', 'x-rewrite-url: /admin', 'x-http-method-override: DELETE', 'x-http-method: DELETE', 'x-method-override: DELETE'];
  const res = await rawExchange(gw.port, request('/open/x', { headers: ['Host: localhost', ...headers] }), { ca: pki.ca.cert });
  tt.equal(res.status, 200);
  const seen = upstream.requests[0]?.headers ?? {};
  for (const line of headers) tt.notOk(seen[line.split(':')[0] as string], `${line.split(':')[0]} never reaches the upstream`);
});

t.test('regression: an untrusted certificate header on an mtls: none ingress route was stripped instead of refused (SPEC §3)', async (tt) => {
  const { gw, upstream, pki } = await startEnv(tt, '  ingress: { port: 0, host: 127.0.0.1, trustedProxies: [10.0.0.0/8] }\n');
  const res = await fetch(`http://127.0.0.1:${gw.gateway.ingressPort}/open/x`, {
    headers: { 'x-fapi-interaction-id': randomUUID(), 'x-ssl-client-cert': encodeURIComponent(pki.client1.cert) },
  });
  tt.equal(res.status, 401);
  const body = (await res.json()) as { errors: { code: string; detail: string }[] };
  tt.equal(body.errors[0]?.code, 'INVALID_CLIENT');
  tt.equal(body.errors[0]?.detail, 'x-ssl-client-cert is only accepted from a trusted proxy');
  const plain = await fetch(`http://127.0.0.1:${gw.gateway.ingressPort}/open/x`);
  tt.equal(plain.status, 200, 'without the header the open route still serves');
  tt.equal(upstream.requests.length, 1);
});
