// SPEC §7: admin listener — /healthz, /readyz, /metrics.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { startTestGateway, serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

t.test('admin endpoints and metrics', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir, pki } = await testPki();
  const gw = await startTestGateway(
    tt,
    `${serverBlock(dir)}admin: { port: 0, host: 127.0.0.1 }
routes:
  - path: /open-banking/accounts/v2
    upstream: ${upstream.url}
    fapi: true
`,
  );
  const admin = `http://127.0.0.1:${gw.gateway.adminPort}`;
  tt.equal((await fetch(`${admin}/healthz`)).status, 200);
  const ready = await fetch(`${admin}/readyz`);
  tt.equal(ready.status, 200);
  tt.same(await ready.json(), { status: 'ready', dependencies: {} }, 'no dependency in use');

  await send(gw.port, { path: '/open-banking/accounts/v2/accounts', headers: { 'x-fapi-interaction-id': randomUUID() }, cert: pki.client1, ca: pki.ca.cert });
  await send(gw.port, { path: '/open-banking/accounts/v2/accounts', cert: pki.client1, ca: pki.ca.cert });
  await send(gw.port, { path: '/open-banking/accounts/v2/accounts', headers: { 'x-fapi-interaction-id': randomUUID() }, ca: pki.ca.cert });

  const metrics = await (await fetch(`${admin}/metrics`)).text();
  tt.match(metrics, /guarita_requests_total\{route="\/open-banking\/accounts\/v2",method="GET",status="200"\} 1/);
  tt.match(metrics, /guarita_requests_total\{route="\/open-banking\/accounts\/v2",method="GET",status="400"\} 1/);
  tt.match(metrics, /guarita_refusals_total\{check="interaction-id",code="REQUEST_MALFORMED",route="\/open-banking\/accounts\/v2"\} 1/);
  tt.match(metrics, /guarita_refusals_total\{check="client-certificate",code="CLIENT_CERTIFICATE_INVALID",route="\/open-banking\/accounts\/v2"\} 1/);
  tt.match(metrics, /guarita_upstream_latency_seconds_count\{route="\/open-banking\/accounts\/v2"\} 1/);
  // End to end: every answered request, refused or forwarded.
  tt.match(metrics, /guarita_request_duration_seconds_count\{route="\/open-banking\/accounts\/v2"\} 3/);
  tt.match(metrics, /guarita_request_duration_seconds_bucket\{le="\+Inf",route="\/open-banking\/accounts\/v2"\} 3/);
  tt.match(metrics, new RegExp(`guarita_build_info\\{version="\\d+\\.\\d+\\.\\d+[^"]*",node="${process.version.replaceAll('.', '\\.')}"\\} 1`));
  tt.match(metrics, /# TYPE guarita_dependency_up gauge/);
  tt.notMatch(metrics, /\n\n/, 'no blank lines between metric families');
  tt.ok(metrics.endsWith('\n'), 'ends with a newline');
  tt.match(metrics, /guarita_certificate_expiry_timestamp_seconds\{kind="server",file="[^"]+server\.crt"\} \d+/);
  tt.match(metrics, /guarita_process_cpu_seconds_total/);
  // Counted again after a scrape.
  await send(gw.port, { path: '/open-banking/accounts/v2/accounts', headers: { 'x-fapi-interaction-id': randomUUID() }, cert: pki.client1, ca: pki.ca.cert });
  const again = await (await fetch(`${admin}/metrics`)).text();
  tt.match(again, /guarita_requests_total\{route="\/open-banking\/accounts\/v2",method="GET",status="200"\} 2/);
  tt.match(again, /guarita_upstream_latency_seconds_count\{route="\/open-banking\/accounts\/v2"\} 2/);

  // Own state (here: TLS material that could not be reloaded) fails /readyz whatever the dependencies.
  gw.gateway.readiness.set('tls', 'TLS material could not be reloaded');
  const notReady = await fetch(`${admin}/readyz`);
  tt.equal(notReady.status, 503);
  tt.same(await notReady.json(), { status: 'unavailable', dependencies: {} });
  gw.gateway.readiness.set('tls', undefined);
  tt.equal((await fetch(`${admin}/readyz`)).status, 200);
});
