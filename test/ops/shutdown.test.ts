// SPEC §7: SIGTERM / close — stop accepting, drain in-flight requests (bounded), then exit.
import t from 'tap';
import { randomUUID } from 'node:crypto';
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
  await new Promise((r) => setTimeout(r, 150)); // all five are now waiting on the upstream
  const closing = gw.gateway.close(5000);
  const results = await Promise.all(inFlight);
  await closing;
  tt.same(results.map((r) => r.status), [200, 200, 200, 200, 200], 'every in-flight request completed');
  await tt.rejects(
    send(gw.port, { path: '/slow', headers: { 'x-fapi-interaction-id': randomUUID() }, cert: pki.client1, ca: pki.ca.cert }),
    'no new connections after close',
  );
});
