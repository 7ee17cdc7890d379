// SPEC §7: SIGTERM / close — stop accepting, drain in-flight requests (bounded), then exit.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:tls';
import { startTestGateway, serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

t.test('in-flight requests complete during a graceful close', async (tt) => {
  const upstream = await startUpstream(tt, (_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":"slow"}');
    }, 400);
  });
  const { dir, pki } = await testPki();
  const gw = await startTestGateway(tt, `${serverBlock(dir)}routes:\n  - path: /slow\n    upstream: ${upstream.url}\n`);
  const inFlight = Array.from({ length: 5 }, () =>
    send(gw.port, { path: '/slow', headers: { 'x-fapi-interaction-id': randomUUID() }, cert: pki.client1, ca: pki.ca.cert }),
  );
  // All five are now waiting on the upstream (it records a request before its delayed answer).
  while (upstream.requests.length < 5) await new Promise((r) => setTimeout(r, 10));
  const closing = gw.gateway.close(5000);
  const results = await Promise.all(inFlight);
  await closing;
  tt.same(results.map((r) => r.status), [200, 200, 200, 200, 200], 'every in-flight request completed');
  await tt.rejects(
    send(gw.port, { path: '/slow', headers: { 'x-fapi-interaction-id': randomUUID() }, cert: pki.client1, ca: pki.ca.cert }),
    'no new connections after close',
  );
});

t.test('a request arriving on a busy connection while draining gets an OFB 503, never the upstream', async (tt) => {
  const upstream = await startUpstream(tt, (_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":"slow"}');
    }, 300);
  });
  const { dir, pki } = await testPki();
  const gw = await startTestGateway(tt, `${serverBlock(dir)}routes:\n  - path: /slow\n    upstream: ${upstream.url}\n`);
  const socket = connect({ host: '127.0.0.1', port: gw.port, servername: 'localhost', ca: pki.ca.cert, cert: pki.client1.cert, key: pki.client1.key });
  await new Promise((r) => socket.once('secureConnect', r));
  let received = '';
  socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
  const request = (id: string) => `GET /slow HTTP/1.1\r\nHost: localhost\r\nx-fapi-interaction-id: ${id}\r\n\r\n`;
  socket.write(request(randomUUID()));
  await new Promise((r) => setTimeout(r, 100)); // the first request is now upstream
  const closing = gw.gateway.close(5000);
  const second = randomUUID();
  socket.write(request(second)); // pipelined behind the first, read after it completes
  await closing;
  await new Promise((r) => setTimeout(r, 100));
  socket.destroy();
  tt.match(received, /^HTTP\/1\.1 200 /, 'the in-flight request completed');
  tt.match(received, /HTTP\/1\.1 503 /, 'the late one is refused');
  tt.match(received, new RegExp(`x-fapi-interaction-id: ${second}`, 'i'), 'with its interaction id');
  tt.match(received, /"code":"SERVICE_UNAVAILABLE"/, 'and the OFB body');
  tt.equal(upstream.requests.length, 1, 'the late request never reached the upstream');
});
