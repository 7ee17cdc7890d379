// The benchmark harness end to end on its cheapest target: processes start, the load generator
// measures, CPU is read from /proc, everything stops. Numbers are never asserted (issue 6).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { runBench } from '../../bench/harness.js';
import { generateLoad } from '../../bench/load.js';
import { cryptoLine, featureVerdicts, issue16Verdicts, table } from '../../bench/report.js';

t.test('bench: target (a) for 1 s, 1 repetition, yields req/s and CPU per request', async (tt) => {
  const started = Date.now();
  const report = await runBench({ only: ['a'], durationS: 1, warmupS: 0.2, primeS: 0, connections: 8, reps: 1 });
  tt.equal(report.rows.length, 1);
  const row = report.rows[0];
  tt.equal(row?.id, 'a');
  tt.equal(row?.status, 'ok', row?.note ?? '');
  const figures = row?.figures;
  tt.ok(figures !== undefined && figures.reqPerSec > 0, 'req/s > 0');
  tt.ok(figures !== undefined && Number.isFinite(figures.cpuUsPerReq) && figures.cpuUsPerReq > 0, 'a CPU figure per request');
  tt.ok(figures !== undefined && figures.rssMiB > 0, 'an RSS figure');
  tt.equal(report.replay, undefined, 'no replay figure unless asked for');
  tt.match(table(report), /\| \(a\) upstream directly/);
  // Issue 16: the PS256 floor is measured in every run, on the targets' Node.
  const crypto = report.crypto;
  tt.ok(typeof crypto !== 'string' && crypto.verifyUs > 0 && crypto.signUs > 0, `a PS256 floor: ${cryptoLine(report)}`);
  tt.equal(report.targetNode.version, process.version);
  tt.ok(Date.now() - started < 60_000, 'a bounded run: well under a minute even on a busy machine');
});

t.test('bench: (p) payments row and (dw2) workers row start, pass their probes and measure', async (tt) => {
  const report = await runBench({ only: ['p', 'dw2'], durationS: 0.3, warmupS: 0.1, primeS: 0, connections: 4, reps: 1 });
  for (const id of ['p', 'dw2']) {
    const row = report.rows.find((r) => r.id === id);
    tt.equal(row?.status, 'ok', `${id}: ${row?.note ?? ''}`);
    tt.ok(row?.figures !== undefined && row.figures.reqPerSec > 0, `${id}: req/s > 0`);
  }
  tt.match(issue16Verdicts(report).join('\n'), /Goal 3: \(p\) payments route \d+ µs CPU\/req/);
});

t.test('load generator: a fresh x-idempotency-key on every request', async (tt) => {
  const keys: string[] = [];
  const server = createServer((req, res) => {
    keys.push(String(req.headers['x-idempotency-key']));
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tt.teardown(() => server.close());
  const result = await generateLoad({
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    method: 'POST',
    path: '/',
    headers: { 'x-idempotency-key': 'fixed' },
    connections: 4,
    warmupMs: 0,
    durationMs: 300,
    newConnectionPerRequest: false,
    freshIdempotencyKey: true,
    pids: [process.pid],
  });
  tt.ok(result.requests > 0 && keys.length > 1, 'requests were sent');
  tt.equal(new Set(keys).size, keys.length, 'no key sent twice');
  tt.notOk(keys.includes('fixed'), 'the fixed key is replaced');
});

t.test('verdicts are judged on the median of per-rep ratios (each pair of runs sees the machine in one state)', async (tt) => {
  const row = (id: string, cpu: number[]) => ({ id, status: 'ok', runs: cpu.map((c) => ({ cpuUsPerReq: c })), figures: { cpuUsPerReq: [...cpu].sort((a, b) => a - b)[1] } });
  // The machine slowed down in rep 2: (dl) is 1.25× there, about 1.02–1.05× in the others.
  const report = { rows: [row('d', [100, 200, 110]), row('dl', [105, 250, 112]), row('dp', [130, 260, 140])] } as unknown as Parameters<typeof featureVerdicts>[0];
  const [dl, , dp] = featureVerdicts(report);
  tt.match(dl, /median of the per-rep ratios 1\.05× \(1\.05, 1\.25, 1\.02\) → met/);
  tt.match(dp, /median of the per-rep ratios 1\.30× .* → not met/);
  tt.match(featureVerdicts(report)[1] ?? '', /not measured in this run/, 'no (dlr) runs');
});
