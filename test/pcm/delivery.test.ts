// SPEC §11 sending: batches of at most 5,000, the token (client_credentials over mTLS, reused),
// 200/207/401/outage handling, backoff and exactly-once delivery, against a mock PCM on real TLS.
import t from 'tap';
import { eventually, serverReport, settingsFor, spoolDir, startReporter, startTestPcm } from './helpers.js';
import { testPki } from '../helpers/gateway.js';

const ids = (reports: Record<string, unknown>[]) => reports.map((r) => r.fapiInteractionId as string);

t.test('12,001 reports → batches of 5,000, 5,000 and 2,001 with one token', { timeout: 30_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const reporter = await startReporter(tt, await settingsFor(pcm, spoolDir(tt)));
  for (let i = 0; i < 12_001; i++) reporter.record('server', JSON.stringify(serverReport(i)), Date.now());
  await reporter.flush();
  tt.same(pcm.batches.map((b) => b.reports.length), [5000, 5000, 2001], 'batch sizes');
  tt.equal(new Set(ids(pcm.accepted)).size, 12_001, 'every report once');
  tt.equal(pcm.accepted.length, 12_001, 'no report twice');
  tt.equal(pcm.tokenCalls.issued, 1, 'the token is reused across batches');
  tt.equal(reporter.stats().server.sent, 12_001);
  tt.equal(reporter.stats().server.backlog, 0);
  tt.equal(reporter.problem(), undefined);
});

t.test('PCM down for a while: kept, retried with backoff, delivered exactly once when it returns', { timeout: 30_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const reporter = await startReporter(tt, await settingsFor(pcm, spoolDir(tt), { maxBackoffSeconds: 1 }));
  pcm.failWith = 503;
  for (let i = 0; i < 300; i++) reporter.record('server', JSON.stringify(serverReport(i)), Date.now());
  await reporter.flush();
  tt.equal(pcm.accepted.length, 0, 'nothing accepted while down');
  tt.match(reporter.problem(), /answered HTTP 503/, 'the failure is what /readyz shows');
  tt.equal(reporter.stats().server.backlog, 300, 'still in the backlog');
  const callsWhileDown = pcm.reportCalls;
  // The background tick retries on its own (backoff 1 s, then capped at maxBackoffSeconds = 1).
  await eventually(() => pcm.reportCalls > callsWhileDown, 5000, 'a retry');
  pcm.failWith = undefined;
  await eventually(() => reporter.stats().server.backlog === 0, 10_000, 'the backlog to drain');
  tt.equal(pcm.accepted.length, 300, 'each delivered');
  tt.equal(new Set(ids(pcm.accepted)).size, 300, 'exactly once');
  tt.equal(reporter.problem(), undefined, 'back up');
});

t.test('207 with DISCARDED items: counted, logged, not resent', { timeout: 20_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const warnings: string[] = [];
  const log = { info: () => undefined, error: () => undefined, warn: (_o: object, msg: string) => void warnings.push(msg) };
  const reporter = await startReporter(tt, await settingsFor(pcm, spoolDir(tt)), { log: log as never });
  pcm.discard = (r) => Number((r.fapiInteractionId as string).slice(-2)) % 10 === 3;
  for (let i = 0; i < 100; i++) reporter.record('server', JSON.stringify(serverReport(i)), Date.now());
  await reporter.flush();
  tt.equal(pcm.batches.length, 1);
  tt.equal(pcm.batches[0]?.status, 207);
  tt.equal(reporter.stats().server.discarded, 10, 'the DISCARDED items are counted');
  tt.equal(reporter.stats().server.sent, 90);
  tt.ok(warnings.some((w) => /discarded/.test(w)), 'and logged');
  await reporter.flush();
  tt.equal(pcm.batches.length, 1, 'nothing is resent');
  tt.equal(reporter.stats().server.backlog, 0);
});

t.test('401 from the report endpoint: one fresh token, then the batch is retried', { timeout: 20_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const reporter = await startReporter(tt, await settingsFor(pcm, spoolDir(tt)));
  reporter.record('server', JSON.stringify(serverReport(1)), Date.now());
  await reporter.flush();
  tt.equal(pcm.tokenCalls.issued, 1);
  pcm.revokeTokens();
  reporter.record('server', JSON.stringify(serverReport(2)), Date.now());
  const before = pcm.reportCalls;
  await reporter.flush();
  tt.equal(pcm.reportCalls - before, 2, 'the 401 and the retry');
  tt.equal(pcm.tokenCalls.issued, 2, 'the token was refreshed once');
  tt.same(ids(pcm.accepted).map((i) => i.slice(-1)), ['1', '2'], 'the batch was delivered');
});

t.test('a token refused again after the refresh: one retry only, kept for later', { timeout: 20_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const reporter = await startReporter(tt, await settingsFor(pcm, spoolDir(tt)));
  pcm.failWith = 401;
  reporter.record('server', JSON.stringify(serverReport(1)), Date.now());
  await reporter.flush();
  tt.equal(pcm.reportCalls, 2, 'the 401, one fresh token, one more 401 — and no third try');
  tt.equal(pcm.tokenCalls.issued, 2);
  tt.match(reporter.problem(), /answered HTTP 401/);
  tt.equal(reporter.stats().server.backlog, 1, 'kept');
  pcm.failWith = undefined;
  await eventually(() => pcm.accepted.length === 1 && reporter.stats().server.backlog === 0, 10_000, 'delivery');
});

t.test('the token is refreshed a little before it expires', { timeout: 20_000 }, async (tt) => {
  const pcm = await startTestPcm(tt, 100);
  let now = Date.now();
  const reporter = await startReporter(tt, await settingsFor(pcm, spoolDir(tt)), { now: () => now });
  reporter.record('server', JSON.stringify(serverReport(1)), now);
  await reporter.flush();
  now += 50_000;
  reporter.record('server', JSON.stringify(serverReport(2)), now);
  await reporter.flush();
  tt.equal(pcm.tokenCalls.issued, 1, 'reused while valid');
  now += 45_000; // 95 s of 100: inside the refresh margin (10 %)
  reporter.record('server', JSON.stringify(serverReport(3)), now);
  await reporter.flush();
  tt.equal(pcm.tokenCalls.issued, 2, 'refreshed before expiry');
  tt.equal(pcm.accepted.length, 3);
});

t.test('token endpoint down: nothing lost, /readyz detail names it, delivered once it is back', { timeout: 20_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const reporter = await startReporter(tt, await settingsFor(pcm, spoolDir(tt)));
  pcm.tokenFailWith = 503;
  for (let i = 0; i < 10; i++) reporter.record('server', JSON.stringify(serverReport(i)), Date.now());
  await reporter.flush();
  tt.equal(pcm.reportCalls, 0, 'no report sent without a token');
  tt.match(reporter.problem(), /token endpoint .* answered HTTP 503/);
  pcm.tokenFailWith = undefined;
  await eventually(() => pcm.accepted.length === 10 && reporter.stats().server.backlog === 0, 10_000, 'delivery after the token endpoint returns');
  tt.equal(reporter.problem(), undefined);
});

t.test('token endpoint refusing the certificate (untrusted CA): a failed send, kept', { timeout: 20_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const { pki } = await testPki();
  const settings = await settingsFor(pcm, spoolDir(tt), { cert: Buffer.from(pki.rogueClient.cert), key: Buffer.from(pki.rogueClient.key) });
  const reporter = await startReporter(tt, settings);
  reporter.record('server', JSON.stringify(serverReport(1)), Date.now());
  await reporter.flush();
  tt.equal(pcm.tokenCalls.total, 1, 'the token endpoint was asked');
  tt.equal(pcm.tokenCalls.issued, 0, 'and refused the certificate');
  tt.match(reporter.problem(), /token endpoint .* answered HTTP 401/);
  tt.equal(reporter.stats().server.backlog, 1, 'the report is kept');
});

t.test('wrong client_id: refused by the token endpoint, kept', { timeout: 20_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const reporter = await startReporter(tt, await settingsFor(pcm, spoolDir(tt), { clientId: 'someone-else' }));
  reporter.record('server', JSON.stringify(serverReport(1)), Date.now());
  await reporter.flush();
  tt.equal(pcm.tokenCalls.issued, 0);
  tt.match(reporter.problem(), /answered HTTP 401/);
  tt.equal(reporter.stats().server.backlog, 1);
});

t.test('open-data reports go to the open-data endpoint, server reports to the private one', { timeout: 20_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const reporter = await startReporter(tt, await settingsFor(pcm, spoolDir(tt)));
  const od = { endpoint: '/open-banking/products-services/v1/personal-accounts', statusCode: 200, httpMethod: 'GET', timestamp: new Date().toISOString(), processTimespan: 2, additionalInfo: { clientIp: '203.0.113.9' } };
  reporter.record('opendata', JSON.stringify(od), Date.now());
  reporter.record('server', JSON.stringify(serverReport(1)), Date.now());
  await reporter.flush();
  tt.same(pcm.batches.map((b) => b.kind).sort(), ['opendata', 'server']);
  tt.same(pcm.batches.find((b) => b.kind === 'opendata')?.reports, [od]);
  tt.equal(pcm.batches.find((b) => b.kind === 'opendata')?.status, 200);
});

t.test('reports older than 7 days are dropped and counted, never sent (fake clock)', { timeout: 20_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  let now = Date.now();
  const reporter = await startReporter(tt, await settingsFor(pcm, spoolDir(tt)), { now: () => now });
  pcm.failWith = 503;
  for (let i = 0; i < 50; i++) reporter.record('server', JSON.stringify(serverReport(i, new Date(now).toISOString())), now);
  await reporter.flush();
  tt.equal(reporter.stats().server.backlog, 50);
  now += 7 * 24 * 3600 * 1000 + 1;
  reporter.record('server', JSON.stringify(serverReport(999, new Date(now).toISOString())), now);
  pcm.failWith = undefined;
  await reporter.flush();
  tt.equal(reporter.stats().server.expired, 50, 'the old ones expired');
  tt.same(ids(pcm.accepted), [serverReport(999).fapiInteractionId], 'only the fresh one was sent');
  tt.equal(reporter.stats().server.backlog, 0);
});

t.test('100,000 reports queued while the PCM is down: memory bounded, then batches of 5,000', { timeout: 120_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const reporter = await startReporter(tt, await settingsFor(pcm, spoolDir(tt), { maxQueueBytes: 4 << 20 }), { segmentBytes: 4 << 20 });
  pcm.failWith = 503;
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let peakQueued = 0;
  for (let i = 0; i < 100_000; i++) {
    reporter.record('server', JSON.stringify(serverReport(i)), Date.now());
    peakQueued = Math.max(peakQueued, reporter.queuedBytes);
    // The request path never waits; here the loop yields now and then so the spool writer runs,
    // as it does between requests in the gateway.
    if (i % 2000 === 0) await new Promise((r) => setImmediate(r));
    if (i % 10_000 === 0) await reporter.tick();
  }
  await reporter.tick();
  tt.ok(peakQueued <= 4 << 20, `the in-memory queue stayed under its bound (peak ${peakQueued} bytes)`);
  const s = reporter.stats().server;
  tt.equal(s.backlog + s.dropped, 100_000, 'every report is either in the backlog or counted as dropped');
  tt.equal(s.dropped, 0, 'with a working spool none is dropped');
  global.gc?.();
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  tt.ok(heapGrowth < 64 << 20, `heap growth bounded (${Math.round(heapGrowth / 2 ** 20)} MiB)`);
  pcm.failWith = undefined;
  await reporter.flush();
  tt.equal(pcm.accepted.length, 100_000);
  tt.ok(pcm.batches.every((b) => b.reports.length <= 5000), 'no batch above 5,000');
  tt.equal(pcm.batches.length, 20);
  tt.equal(new Set(ids(pcm.accepted)).size, 100_000, 'exactly once');
});

t.test('regression: under steady traffic a send round never ended and POSTed small batches back to back; now one POST per flush period', { timeout: 30_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const reporter = await startReporter(tt, await settingsFor(pcm, spoolDir(tt), { flushSeconds: 1 }));
  // 3 s of steady traffic: a report every millisecond or so, each written to the spool at once.
  let i = 0;
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    reporter.record('server', JSON.stringify(serverReport(i++)), Date.now());
    await new Promise((r) => setTimeout(r, 1));
  }
  await reporter.flush();
  tt.equal(pcm.accepted.length, i, `all ${i} reports delivered`);
  tt.ok(pcm.reportCalls <= 6, `${pcm.reportCalls} POSTs for 3 s of traffic with flushSeconds 1 (about one a second, plus the final flush)`);
});
