/** The results as a markdown table, with the machine they were measured on. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release } from 'node:os';
import type { BenchReport, Row } from './harness.js';
import { clockTicks } from './lib.js';
import { nginxBinary } from './targets/index.js';
import { GATEWAY_NODE_FLAGS } from '../src/runtime-flags.js';

/** What the numbers were measured on: they mean nothing without it. */
export function describeMachine(): string {
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const nginx = nginxBinary();
  // nginx -v prints its version on stderr.
  const nginxVersion = nginx === undefined ? 'not installed' : (/nginx\/(\S+)/.exec(spawnSync(nginx, ['-v'], { encoding: 'utf8' }).stderr)?.[1] ?? 'installed');
  return [
    `${availableParallelism()} CPUs (nproc), ${model}`,
    `Linux ${release()}, Node ${process.version}, nginx ${nginxVersion}`,
    `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} when the run started, CLK_TCK ${clockTicks()}`,
  ].join('; ');
}

/** A note inside a table cell: one line, no pipes, bounded (an HTML error page must not break the table). */
const cell = (text: string | undefined) => (text ?? '').replace(/\s+/g, ' ').replace(/\|/g, '\\|').slice(0, 300);

const fixed = (value: number | undefined, digits: number) => (value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits));

function cells(row: Row): string[] {
  const f = row.figures;
  if (f === undefined) return [row.label, '—', '—', '—', '—', '—', '—', '—', `**${row.status}**: ${cell(row.note)}`];
  return [
    row.label,
    fixed(f.reqPerSec, 0),
    fixed(f.p50Ms, 2),
    fixed(f.p99Ms, 2),
    row.runs.length > 1 ? `${fixed(f.cpuUsPerReq, 0)} (${fixed(f.cpuMin, 0)}–${fixed(f.cpuMax, 0)})` : fixed(f.cpuUsPerReq, 0),
    row.ratio === undefined ? '—' : `${row.ratio.toFixed(2)}×`,
    fixed(f.rssMiB, 0),
    fixed(f.clientCpuUsPerReq, 0),
    cell(row.note),
  ];
}

/** The table alone (for the terminal). */
export function table(report: BenchReport): string {
  const header = ['target', 'req/s', 'p50 ms', 'p99 ms', 'proxy CPU µs/req (min–max)', 'CPU ÷ baseline', 'RSS MiB', 'client CPU µs/req', 'notes'];
  const lines = [header, header.map(() => '---'), ...report.rows.map(cells)];
  return lines.map((l) => `| ${l.join(' | ')} |`).join('\n');
}

/** Where the issue-6 targets stand in this run (never asserted: a noisy machine decides nothing alone). */
export function verdicts(report: BenchReport): string[] {
  const figures = (id: string) => report.rows.find((r) => r.id === id)?.figures;
  const compare = (what: string, id: string, limitId: string, factor: number, limitName: string): string => {
    const value = figures(id)?.cpuUsPerReq;
    const limit = figures(limitId)?.cpuUsPerReq;
    if (value === undefined || limit === undefined) return `${what}: not measured in this run`;
    return `${what}: ${value.toFixed(0)} µs vs ${factor === 1 ? '' : `${factor} × `}${limitName} ${limit.toFixed(0)} µs = ${(value / limit).toFixed(2)}× → ${value <= factor * limit ? 'met' : 'not met'}`;
  };
  const gatewayRss = ['c', 'd', 'e', 'fd'].map((id) => figures(id)?.rssMiB).filter((v) => v !== undefined);
  return [
    compare('(d) CPU/req ≤ nginx + cached auth_request (first milestone ≤ 1.5×)', 'd', 'ngc', 1, 'nginx + cached auth_request'),
    compare('(e) CPU/req ≤ 2 × (d)', 'e', 'd', 2, '(d)'),
    compare('(f) CPU per new mTLS connection ≤ 1.2 × the bare Node server', 'fd', 'fb', 1.2, '(f)(b)'),
    gatewayRss.length === 0 ? 'gateway RSS ≤ 150 MB: not measured in this run' : `gateway RSS ≤ 150 MB: at most ${Math.max(...gatewayRss).toFixed(0)} MiB → ${Math.max(...gatewayRss) * 1.048576 <= 150 ? 'met' : 'not met'}`,
    openLoopVerdict(report.openLoop),
  ];
}

/** The crypto floor of this run, as a sentence. */
export function cryptoLine(report: BenchReport): string {
  const c = report.crypto;
  if (typeof c === 'string') return `PS256 floor: ${c}`;
  const runs = (values: readonly number[]) => values.map((v) => v.toFixed(1)).join(', ');
  return (
    `PS256 floor (RSA-2048, SHA-256, salt 32; crypto.verify / crypto.sign in a loop in a child process on Node ${c.node}, OpenSSL ${c.openssl}; ` +
    `CPU µs per op, median of ${c.verifyRuns.length} loops): one verification ${c.verifyUs.toFixed(1)} µs (${runs(c.verifyRuns)}), ` +
    `one signature ${c.signUs.toFixed(1)} µs (${runs(c.signRuns)})`
  );
}

/** Where the issue-16 goals stand in this run (never asserted). */
/**
 * CPU per request of `id` over `base`, rep by rep: the runs of one rep are minutes apart at most, so
 * each ratio sees the machine in one state (this host drifts by tens of percent within a run);
 * their median is the figure a verdict is judged on.
 */
function pairedRatios(report: BenchReport, id: string, base: string): { median: number; each: number[] } | undefined {
  const runs = (target: string) => report.rows.find((r) => r.id === target)?.runs ?? [];
  const [own, baseline] = [runs(id), runs(base)];
  const each = own.flatMap((run, i) => {
    const b = baseline[i];
    return b === undefined || b.cpuUsPerReq <= 0 ? [] : [run.cpuUsPerReq / b.cpuUsPerReq];
  });
  if (each.length === 0) return undefined;
  const sorted = [...each].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, each };
}

/** Issues 14 (limits) and 15 (PCM): each row's CPU per request against (d), the same pipeline without it, in this run. */
export function featureVerdicts(report: BenchReport): string[] {
  const cpu = (id: string) => report.rows.find((r) => r.id === id)?.figures?.cpuUsPerReq;
  const ratio = (what: string, id: string, factor: number) => {
    const value = cpu(id);
    const base = cpu('d');
    const paired = pairedRatios(report, id, 'd');
    if (value === undefined || base === undefined || paired === undefined) return `${what}: not measured in this run`;
    return (
      `${what}: median of the per-rep ratios ${paired.median.toFixed(2)}× (${paired.each.map((r) => r.toFixed(2)).join(', ')}) → ` +
      `${paired.median <= factor ? 'met' : 'not met'}; medians ${value.toFixed(0)} µs vs (d) ${base.toFixed(0)} µs = ${(value / base).toFixed(2)}×`
    );
  };
  return [
    ratio('Issue 14: (dl) limits on the memory store ≤ 1.10 × (d)', 'dl', 1.1),
    ratio('Issue 14: (dlr) limits on Redis ≤ 1.4 × (d) (redis-server CPU included)', 'dlr', 1.4),
    ratio('Issue 15: (dp) PCM reports on ≤ 1.05 × (d)', 'dp', 1.05),
  ];
}

export function issue16Verdicts(report: BenchReport): string[] {
  const row = (id: string) => report.rows.find((r) => r.id === id);
  const cpu = (id: string) => row(id)?.figures?.cpuUsPerReq;
  const rate = (id: string) => row(id)?.figures?.reqPerSec;
  const crypto = typeof report.crypto === 'string' ? undefined : report.crypto;
  const ratio = (what: string, id: string, base: string, factor: number) => {
    const value = cpu(id);
    const limit = cpu(base);
    const paired = pairedRatios(report, id, base);
    if (value === undefined || limit === undefined || paired === undefined) return `${what}: not measured in this run`;
    return (
      `${what}: median of the per-rep ratios ${paired.median.toFixed(2)}× (${paired.each.map((r) => r.toFixed(2)).join(', ')}) → ` +
      `${paired.median <= factor ? 'met' : 'not met'}; medians ${value.toFixed(0)} µs vs (${base}) ${limit.toFixed(0)} µs = ${(value / limit).toFixed(2)}×`
    );
  };
  const lines = [ratio('Goal 1: (d) CPU/req ≤ 1.25 × (b)', 'd', 'b', 1.25), ratio('Goal 1: (c) CPU/req ≤ 1.10 × (b)', 'c', 'b', 1.1)];
  const [b, bf, c, dd] = [cpu('b'), cpu('bf'), cpu('c'), cpu('d')];
  lines.push(
    b === undefined || bf === undefined || c === undefined || dd === undefined
      ? "Goal 1, Fastify's floor: not measured in this run (needs (b), (bf), (c) and (d))"
      : `Goal 1, Fastify's floor: (bf) the same proxy as a Fastify route ${bf.toFixed(0)} µs = ${(bf / b).toFixed(2)}× (b), so Fastify's request ` +
          `lifecycle costs ${(bf - b).toFixed(0)} µs per request; over it Guarita's own work is (c) − (bf) = ${(c - bf).toFixed(0)} µs and (d) − (bf) = ${(dd - bf).toFixed(0)} µs`,
  );

  const e = cpu('e');
  const d = cpu('d');
  if (e === undefined || d === undefined || crypto === undefined) lines.push('Goal 2: (e) ≤ (d) + 1.5 × one PS256 verification: not measured in this run (needs (d), (e) and the PS256 floor)');
  else {
    const limit = d + 1.5 * crypto.verifyUs;
    lines.push(
      `Goal 2: (e) ≤ (d) + 1.5 × one PS256 verification: ${e.toFixed(0)} µs vs ${d.toFixed(0)} + 1.5 × ${crypto.verifyUs.toFixed(1)} = ${limit.toFixed(0)} µs ` +
        `= ${(e / limit).toFixed(2)}× → ${e <= limit ? 'met' : 'not met'}; (e) − (d) = ${(e - d).toFixed(0)} µs = ${((e - d) / crypto.verifyUs).toFixed(1)} verifications`,
    );
  }

  const p = cpu('p');
  if (p === undefined || crypto === undefined) lines.push('Goal 3: (p) signed-response route against one signature + one verification: not measured in this run');
  else {
    const floor = crypto.signUs + crypto.verifyUs;
    const over = (id: string, what: string) => {
      const base = cpu(id);
      return base === undefined ? '' : `; (p) − (${id}) = ${(p - base).toFixed(0)} µs ${what}`;
    };
    lines.push(
      `Goal 3: (p) payments route ${p.toFixed(0)} µs CPU/req vs its floor, one PS256 signature + one verification = ${crypto.signUs.toFixed(0)} + ` +
        `${crypto.verifyUs.toFixed(0)} = ${floor.toFixed(0)} µs: ${(p / floor).toFixed(2)}× the floor` +
        over('d', `(JWS request, idempotency, signed response over the token pipeline; floor ${floor.toFixed(0)} µs)`) +
        over('e', `(idempotency + signed response over (e), less its consent check, which payments tokens skip; one signature ${crypto.signUs.toFixed(0)} µs)`),
    );
  }

  const workers = (label: string, many: string, one: string, caveat: string) => {
    const a = rate(many);
    const b = rate(one);
    const skipped = row(many)?.status === 'skipped' ? row(many)?.note : undefined;
    if (a === undefined || b === undefined) return `${label}: ${skipped ?? 'not measured in this run'}`;
    const cpuMany = cpu(many);
    const cpuOne = cpu(one);
    return (
      `${label}: (${many}) ${a.toFixed(0)} req/s vs (${one}) ${b.toFixed(0)} req/s = ${(a / b).toFixed(2)}× ` +
      `(closed loop, the same ${report.options.connections} connections; CPU/req ${fixed(cpuMany, 0)} vs ${fixed(cpuOne, 0)} µs, primary + every worker); ${caveat}`
    );
  };
  lines.push(
    workers(
      'Goal 4: workers 2 vs 1',
      'dw2',
      'd',
      `the load generator shares the ${availableParallelism()} cores with the workers (its CPU per request is in the table), so this is what a client on the same machine sees, not the gateway's ceiling`,
    ),
    workers(
      'Goal 4, pinned: workers 2 vs 1',
      'dt2',
      'dt1',
      'load generator pinned to core 0 and the gateway (primary + workers) to core 1 with taskset: the gateway never competes with the load generator, but has one core for all its processes, so a second worker cannot add CPU here: this pair shows what a second worker costs on one core, not what it gains on two',
    ),
  );
  return lines;
}

/** bench/RESULTS.md: machine, settings, method, table, replay store. */
export function markdown(report: BenchReport, machine: string, date: Date): string {
  const o = report.options;
  return `# Benchmark results

Written by \`npm run bench\` (bench/run.ts) on ${date.toISOString().slice(0, 16).replace('T', ' ')} UTC.

**Machine:** ${machine}.

**Targets' Node:** ${report.targetNode.version} (\`${report.targetNode.path}\`) ran the gateway rows, the bare Node proxy (b) and the PS256 floor; the upstream, the mocks and the load generator ran on ${process.version}.

**Load:** a separate load-generator process (undici Pool, ${o.connections} connections, one reused TLS
secure context, client certificate on every connection), closed loop, ${o.warmupS} s warm-up (${o.warmupS + (o.primeS ?? 2)} s on
the first run against a fresh process) then ${o.durationS} s measured, per run. **Every figure is the median of ${o.reps} run${o.reps === 1 ? '' : 's'}** per target;
runs of all targets are interleaved. The machine is noisy (other jobs share its cores; runs differ
by 10–50 %): compare rows of one run with each other, not with another run.

${table(report)}

- **proxy CPU µs/req**: utime + stime (all threads) of the measured process(es), from
  \`/proc/<pid>/stat\` at the edges of the measured window, divided by the requests answered in it —
  the figure least disturbed by the load generator sharing the cores. (a) is the upstream process
  itself; nginx is master + its one worker. The mock authorization server's CPU is in no row: with
  \`auth_request\` on every request nginx offloads that work to it (Guarita with a warm cache does not
  call it). Resolution is one clock tick (10 ms): short runs are coarse. Over loopback, much of the
  kernel's TCP receive work (softirq) runs in the *sending* process's context and is charged to it,
  so each row mostly counts the proxy's user space, syscalls and send path: rows compare fairly with
  each other, and a real NIC adds to all of them.
- **CPU ÷ baseline**: against (b), the bare Node https proxy; the new-connection rows (f) against (f)(b).
- **RSS**: VmRSS of the measured process(es) at the end of the window.
- **client CPU**: the load generator's own CPU per request (it shares the machine).
- (f) rows open a new mTLS connection per request (no resumption, as OFB requires): their CPU per
  request is CPU per full handshake plus one request.
- Guarita and the bare Node proxy run with the Docker image's V8 flags (\`${GATEWAY_NODE_FLAGS.join(' ')}\`,
  src/runtime-flags.ts); the upstream and the load generator run with Node's defaults.
- Open loop (p99 added): requests leave at a fixed rate whatever the answers; latency runs from the
  moment each one is handed to the client's pool (waiting for a free connection counts; the load
  generator's own timer lag is reported apart). Each gateway sat idle while the other targets ran,
  as a sidecar does between bursts.
${o.accessLog ? '- Per-request access logs were on (Guarita `info` to a file, nginx `access_log`).' : '- Per-request access logs were off (Guarita log level `warn`, nginx `access_log off`).'}

**Issue 6 targets in this run:**

${verdicts(report).map((v) => `- ${v}`).join('\n')}

**Issue 16 in this run:**

- ${cryptoLine(report)}
${issue16Verdicts(report).map((v) => `- ${v}`).join('\n')}
- (p) sends a fresh \`x-idempotency-key\` and a freshly signed body (new jti) with every request, so every
  request is a first use: the gateway stores every 2xx response (the signed JWS) for 24 h in the memory store, and its RSS grows with the run.
- Workers rows (dw2, dt1, dt2) have the admin port on (the bench waits on the primary's /readyz, which asks every
  worker); (d) has none. Their readiness probes add one introspection call per worker every 2 s.

**Issues 14 and 15 in this run:**

${featureVerdicts(report).map((v) => `- ${v}`).join('\n')}

**Replay store holding ${(o.replayEntries ?? 1_000_000).toLocaleString('en')} jtis:** ${report.replay ?? 'not measured in this run'}.
`;
}

function openLoopVerdict(open: BenchReport['openLoop']): string {
  if (open === undefined) return 'p99 added ≤ 2 ms at half the maximum rate: not measured in this run (needs (a) and (d))';
  const added = open.gatewayP99Ms - open.upstreamP99Ms;
  const errors = open.gatewayErrors > 0 ? `, ${open.gatewayErrors} requests not 2xx` : '';
  return (
    `p99 added ≤ 2 ms at half the maximum rate (open loop, ${open.ratePerSec} req/s, medians): (d) p99 ${open.gatewayP99Ms.toFixed(2)} ms − upstream directly ` +
    `${open.upstreamP99Ms.toFixed(2)} ms = ${added.toFixed(2)} ms${errors} → ${added <= 2 && open.gatewayErrors === 0 ? 'met' : 'not met'} ` +
    `(latency from the moment each request was handed to the client pool; the load generator's own send lag, p99 ` +
    `${open.upstreamSendLagP99Ms.toFixed(2)} ms against the upstream and ${open.gatewaySendLagP99Ms.toFixed(2)} ms against (d), is left out). ` +
    `Per (d) run, p99 / longest stall of the idle bench runner meanwhile (a lower bound of the machine's): ` +
    `${open.gatewayRuns.map((r) => `${r.p99Ms.toFixed(2)} / ${r.machineStallMs.toFixed(1)} ms`).join(', ')} — a run that held a stall of tens of ` +
    `milliseconds measured the host as much as the gateway`
  );
}
