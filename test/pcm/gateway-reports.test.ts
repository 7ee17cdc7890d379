// SPEC §11: the reports real gateway requests produce — fields, templates, the gateway's own
// refusals and upstream errors included, nothing for paths outside the catalogue — and the SLA
// metrics (operations.md) from the same calls.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { startTestGateway, serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';
import { OFB_ENDPOINTS } from '../../src/ofb/catalogue.js';
import { BANK_ORG_ID, pcmBlock, spoolDir, startTestPcm } from './helpers.js';

const SERVER_FIELDS = ['fapiInteractionId', 'endpoint', 'statusCode', 'httpMethod', 'timestamp', 'processTimespan', 'clientOrgId', 'serverOrgId', 'role', 'additionalInfo'];
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

t.test('server reports from real requests: a success, a gateway refusal, an upstream 500, a call without certificate', { timeout: 30_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const upstream = await startUpstream(tt, (req, res) => {
    const failing = (req.url ?? '').includes('/balances');
    res.writeHead(failing ? 500 : 200, { 'content-type': 'application/json' });
    res.end(failing ? '{"errors":[]}' : '{"data":[]}');
  });
  const { dir, pki } = await testPki();
  const gw = await startTestGateway(
    tt,
    `${serverBlock(dir)}${pcmBlock(pcm, spoolDir(tt))}routes:
  - path: /open-banking/accounts/v2
    upstream: ${upstream.url}
    mtls: required
    fapi: true
`,
  );
  const call = (path: string, headers: Record<string, string>, cert: { cert: string; key: string } | null = pki.client1) =>
    send(gw.port, { path, headers, cert: cert ?? undefined, ca: pki.ca.cert });
  const before = Date.now();
  const ok = await call('/open-banking/accounts/v2/accounts', { 'x-fapi-interaction-id': randomUUID() });
  const refused = await call('/open-banking/accounts/v2/accounts', {});
  const failed = await call('/open-banking/accounts/v2/accounts/acc-7/balances', { 'x-fapi-interaction-id': randomUUID() });
  const outside = await call('/open-banking/accounts/v2/not-an-endpoint', { 'x-fapi-interaction-id': randomUUID() });
  const noCert = await call('/open-banking/accounts/v2/accounts', { 'x-fapi-interaction-id': randomUUID() }, null);
  const after = Date.now();
  tt.same([ok.status, refused.status, failed.status, outside.status, noCert.status], [200, 400, 500, 200, 401], 'the answers');

  await gw.gateway.pcm?.flush();
  const reports = pcm.batches.flatMap((b) => b.reports);
  tt.equal(reports.length, 4, 'one report per catalogue call; none for a path outside the catalogue');
  const byId = (res: { headers: Record<string, unknown> }) => reports.find((r) => r.fapiInteractionId === res.headers['x-fapi-interaction-id']);

  for (const [what, res, status, endpoint] of [
    ['success', ok, 200, '/open-banking/accounts/v2/accounts'],
    ['gateway refusal (no interaction id: the fresh one it answered with)', refused, 400, '/open-banking/accounts/v2/accounts'],
    ['upstream 500', failed, 500, '/open-banking/accounts/v2/accounts/{accountId}/balances'],
  ] as const) {
    const r = byId(res);
    tt.ok(r, `${what}: reported under the response's x-fapi-interaction-id`);
    if (r === undefined) continue;
    tt.same(Object.keys(r), SERVER_FIELDS, `${what}: exactly the server report fields`);
    tt.equal(r.endpoint, endpoint, `${what}: the catalogue template, never the raw path`);
    tt.equal(r.statusCode, status);
    tt.equal(r.httpMethod, 'GET');
    tt.match(r.timestamp, ISO_MS, `${what}: UTC ISO 8601 with milliseconds`);
    const at = Date.parse(r.timestamp as string);
    tt.ok(at >= before - 5 && at <= after, `${what}: arrival time`);
    tt.ok(Number.isInteger(r.processTimespan) && (r.processTimespan as number) >= 0 && (r.processTimespan as number) <= after - before, `${what}: whole ms`);
    tt.equal(r.clientOrgId, pki.client1.orgId, `${what}: the certificate's org_id`);
    tt.equal(r.serverOrgId, BANK_ORG_ID);
    tt.equal(r.role, 'SERVER');
    tt.same(r.additionalInfo, {});
  }
  const anonymous = byId(noCert);
  tt.ok(anonymous, 'a call without a client certificate is reported too');
  tt.notOk(anonymous && 'clientOrgId' in anonymous, 'with no clientOrgId to give');
  tt.equal(gw.gateway.pcm?.stats().server.discarded, 1, 'which the PCM discards (missing field), counted');
  tt.equal(gw.gateway.pcm?.stats().server.sent, 3);

  const metrics = await gw.gateway.metrics.exposition();
  tt.match(metrics, /guarita_ofb_response_seconds_bucket\{le="1.5",endpoint="\/open-banking\/accounts\/v2\/accounts",method="GET"\} 3/, 'SLA histogram with the 1.5 s bound');
  tt.match(metrics, /guarita_ofb_response_seconds_bucket\{le="4",endpoint=/, 'and the 4 s bound');
  tt.match(metrics, /guarita_ofb_availability_answers_total\{endpoint="\/open-banking\/accounts\/v2\/accounts",method="GET",result="success"\} 1/);
  tt.match(metrics, /guarita_ofb_availability_answers_total\{endpoint="\/open-banking\/accounts\/v2\/accounts\/\{accountId\}\/balances",method="GET",result="error"\} 1/);
  tt.match(metrics, /guarita_pcm_reports_total\{kind="server",outcome="sent"\} 3/);
  tt.match(metrics, /guarita_pcm_reports_total\{kind="server",outcome="discarded"\} 1/);
  tt.match(metrics, /guarita_pcm_backlog_reports\{kind="server"\} 0/);
});

const openData = OFB_ENDPOINTS.find((e) => e.openData && e.method === 'GET' && !e.template.includes('{'));

t.test('open-data report from a real request (no client certificate)', { timeout: 30_000, skip: openData === undefined ? 'the catalogue has no open-data endpoint yet' : false }, async (tt) => {
  const endpoint = openData!;
  const pcm = await startTestPcm(tt);
  const upstream = await startUpstream(tt);
  const { dir, pki } = await testPki();
  const base = endpoint.template.split('/').slice(0, 4).join('/');
  const gw = await startTestGateway(tt, `${serverBlock(dir)}${pcmBlock(pcm, spoolDir(tt))}routes:\n  - path: ${base}\n    upstream: ${upstream.url}\n    mtls: none\n`);
  const res = await send(gw.port, { path: endpoint.template, ca: pki.ca.cert });
  tt.equal(res.status, 200);
  await gw.gateway.pcm?.flush();
  const batch = pcm.batches.find((b) => b.kind === 'opendata');
  tt.equal(batch?.reports.length, 1);
  const r = batch?.reports[0] ?? {};
  tt.same(Object.keys(r), ['endpoint', 'statusCode', 'httpMethod', 'timestamp', 'processTimespan', 'additionalInfo']);
  tt.equal(r.endpoint, endpoint.template);
  tt.same(r.additionalInfo, { clientIp: '127.0.0.1' });
  tt.match(r.timestamp, ISO_MS);
});
