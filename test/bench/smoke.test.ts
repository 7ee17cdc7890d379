// The benchmark harness end to end on its cheapest target: processes start, the load generator
// measures, CPU is read from /proc, everything stops. Numbers are never asserted (issue 6).
import t from 'tap';
import { runBench } from '../../bench/harness.js';
import { table } from '../../bench/report.js';

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
  tt.ok(Date.now() - started < 30_000, 'well under 30 s');
});
