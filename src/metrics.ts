/**
 * Prometheus metrics (SPEC §7), one registry per gateway (tests run several in one process).
 * Label values are bounded: route paths from the config, status codes, check names, OFB codes.
 */
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets, seconds: 1 ms to 30 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** OFB SLA buckets, seconds: include the P95 limits 1.5 s, 2 s and 4 s (operations.md). */
const SLA_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 4, 8, 15];

/** A source of monotonically growing counts read at scrape time (e.g. the introspection cache). */
export type CountSource = () => number;

/** What the PCM reporter counts per report kind (src/pcm/reporter.ts). */
export interface PcmChannelStats {
  readonly sent: number;
  readonly discarded: number;
  readonly expired: number;
  readonly dropped: number;
  readonly corrupt: number;
  readonly backlog: number;
  readonly oldest: number | undefined;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly refusals: Counter<'check' | 'code' | 'route'>;
  readonly requestDuration: Histogram<'route'>;
  readonly upstreamLatency: Histogram<'route'>;
  readonly certificateExpiry: Gauge<'kind' | 'file'>;
  readonly dependencyUp: Gauge<'dependency'>;
  /** SPEC §10: requests refused by a traffic limit (`perMinute`, `perConsentMonth`, `globalPerSecond`). */
  readonly limitRefusals: Counter<'route' | 'limit'>;
  /** SPEC §10: limit counter operations the store failed (the request then went on or got a 503, per `onStoreError`). */
  readonly limitStoreErrors: Counter<'limit' | 'policy'>;
  readonly slaDuration: Histogram<'endpoint' | 'method'>;
  readonly slaAnswers: Counter<'endpoint' | 'method' | 'result'>;

  constructor(defaultMetrics = true) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'guarita_requests_total', help: 'Requests by route, method and status.', labelNames: ['route', 'method', 'status'], registers });
    this.refusals = new Counter({
      name: 'guarita_refusals_total',
      help: 'Requests refused by the gateway, by check name, internal refusal code (docs/refusals.md) and route.',
      labelNames: ['check', 'code', 'route'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'guarita_request_duration_seconds',
      help: 'End-to-end time from receiving a request to sending its response, by route.',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.upstreamLatency = new Histogram({
      name: 'guarita_upstream_latency_seconds',
      help: 'Time from forwarding a request to receiving the upstream response headers.',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.certificateExpiry = new Gauge({
      name: 'guarita_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the TLS material in use (server certificates, client CAs), as a Unix time: alert before it lapses.',
      labelNames: ['kind', 'file'],
      registers,
      aggregator: 'min', // server.workers: every worker reads the same files
    });
    this.dependencyUp = new Gauge({
      name: 'guarita_dependency_up',
      help: 'Whether a dependency answers its readiness probe (1) or not (0): introspection, replayStore, directory, each CRL URL.',
      labelNames: ['dependency'],
      registers,
      aggregator: 'min', // server.workers: down when down in any worker
    });
    this.limitRefusals = new Counter({
      name: 'guarita_limit_refusals_total',
      help: 'Requests refused by an OFB traffic limit (429 perMinute, 423 perConsentMonth, 529 globalPerSecond), by route and limit; never forwarded.',
      labelNames: ['route', 'limit'],
      registers,
    });
    this.limitStoreErrors = new Counter({
      name: 'guarita_limit_store_errors_total',
      help: 'Traffic-limit counter operations the store failed, by limit and limits.onStoreError policy (allow: let through uncounted; refuse: 503).',
      labelNames: ['limit', 'policy'],
      registers,
    });
    // operations.md SLAs, per OFB endpoint template: P95 limits 1.5 / 2 / 4 s are bucket bounds, so
    // histogram_quantile answers exactly at them; 423/429/529 are left out (recordSla).
    this.slaDuration = new Histogram({
      name: 'guarita_ofb_response_seconds',
      help: 'Response time of calls to OFB catalogue endpoints, by endpoint template and method (423, 429 and 529 left out, as the OFB SLA does).',
      labelNames: ['endpoint', 'method'],
      buckets: SLA_BUCKETS,
      registers,
    });
    this.slaAnswers = new Counter({
      name: 'guarita_ofb_availability_answers_total',
      help: 'Answers of OFB catalogue endpoints that count for availability: result="success" (2xx, 422) or "error" (5xx, 408).',
      labelNames: ['endpoint', 'method', 'result'],
      registers,
    });
    new Gauge({
      name: 'guarita_build_info',
      help: 'Always 1; the labels say which Guarita version runs on which Node.js.',
      labelNames: ['version', 'node'],
      registers,
      aggregator: 'first',
    }).set({ version: guaritaVersion(), node: process.version }, 1);
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'guarita_' });
  }

  /** One answered request, its end-to-end time and, when it was forwarded, `upstreamSeconds`. */
  recordRequest(route: string, method: string, status: number, seconds: number, upstreamSeconds: number | undefined): void {
    this.requests.inc({ route, method, status });
    this.requestDuration.observe({ route }, seconds);
    if (upstreamSeconds !== undefined) this.upstreamLatency.observe({ route }, upstreamSeconds);
  }

  /** One request refused by a check (or the gateway itself). */
  recordRefusal(route: string, check: string, code: string): void {
    this.refusals.inc({ check, code, route });
  }

  /** One answered call of an OFB catalogue endpoint, for the SLA figures (operations.md "SLAs"). */
  recordSla(endpoint: string, method: string, status: number, seconds: number): void {
    if (status !== 423 && status !== 429 && status !== 529) this.slaDuration.observe({ endpoint, method }, seconds);
    if ((status >= 200 && status < 300) || status === 422) this.slaAnswers.inc({ endpoint, method, result: 'success' });
    else if (status >= 500 || status === 408) this.slaAnswers.inc({ endpoint, method, result: 'error' });
  }

  /** PCM report counts and backlog (SPEC §11), read from the reporter at scrape time. */
  exposePcm(stats: () => Record<string, PcmChannelStats>, spoolFailures: () => number): void {
    const registers = [this.registry];
    new Counter({
      name: 'guarita_pcm_reports_total',
      help: 'PCM reports by kind (server, opendata) and outcome: sent, discarded (DISCARDED in a 207), expired (older than 7 days), dropped (memory bound reached), corrupt (unreadable in the spool).',
      labelNames: ['kind', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const [kind, s] of Object.entries(stats())) {
          for (const outcome of ['sent', 'discarded', 'expired', 'dropped', 'corrupt'] as const) this.inc({ kind, outcome }, s[outcome]);
        }
      },
    });
    new Gauge({
      name: 'guarita_pcm_backlog_reports',
      help: 'PCM reports waiting to be delivered (in memory and in the spool), by kind.',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const [kind, s] of Object.entries(stats())) this.set({ kind }, s.backlog);
      },
    });
    new Gauge({
      name: 'guarita_pcm_backlog_oldest_age_seconds',
      help: 'Age of the oldest PCM report waiting, by kind (0 when none): alert well before the 08:00 next-day deadline and the 7-day limit.',
      labelNames: ['kind'],
      registers,
      // Several processes' figures are combined by their maximum, not their sum.
      aggregator: 'max',
      collect() {
        const now = Date.now();
        for (const [kind, s] of Object.entries(stats())) this.set({ kind }, s.oldest === undefined ? 0 : Math.max(0, (now - s.oldest) / 1000));
      },
    });
    new Counter({
      name: 'guarita_pcm_spool_failures_total',
      help: 'Failed writes (or opens) of the PCM spool directory.',
      registers,
      collect() {
        this.reset();
        this.inc(spoolFailures());
      },
    });
  }

  /** The Prometheus text exposition. prom-client separates metric families with a blank line; those are dropped. */
  async exposition(): Promise<string> {
    return (await this.registry.metrics()).replace(/\n{2,}/g, '\n');
  }

  /** Expose a count kept elsewhere (read at scrape time) as a counter. */
  countFrom(name: string, help: string, labels: Record<string, CountSource>, labelName = 'result'): void {
    new Counter({
      name,
      help,
      labelNames: [labelName],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [value, read] of Object.entries(labels)) this.inc({ [labelName]: value }, read());
      },
    });
  }
}

let version: string | undefined;

/** This package's version (package.json two levels up from dist/src), read once. */
export function guaritaVersion(): string {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      version = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
