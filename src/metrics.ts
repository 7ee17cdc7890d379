/**
 * Prometheus metrics (SPEC §7), one registry per gateway (tests run several in one process).
 * Label values are bounded: route paths from the config, status codes, check names, OFB codes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A source of monotonically growing counts read at scrape time (e.g. the introspection cache). */
export type CountSource = () => number;

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly refusals: Counter<'check' | 'code'>;
  readonly upstreamLatency: Histogram<'route'>;
  readonly certificateExpiry: Gauge<'kind' | 'file'>;

  constructor(defaultMetrics = true) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'guarita_requests_total', help: 'Requests by route, method and status.', labelNames: ['route', 'method', 'status'], registers });
    this.refusals = new Counter({ name: 'guarita_refusals_total', help: 'Requests refused by the gateway, by check name and internal refusal code (docs/refusals.md).', labelNames: ['check', 'code'], registers });
    this.upstreamLatency = new Histogram({
      name: 'guarita_upstream_latency_seconds',
      help: 'Time from forwarding a request to receiving the upstream response headers.',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.certificateExpiry = new Gauge({
      name: 'guarita_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the TLS material in use (server certificates, client CAs), as a Unix time: alert before it lapses.',
      labelNames: ['kind', 'file'],
      registers,
    });
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'guarita_' });
  }

  /** One answered request; `upstreamSeconds` when it was forwarded. */
  recordRequest(route: string, method: string, status: number, upstreamSeconds: number | undefined): void {
    this.requests.inc({ route, method, status });
    if (upstreamSeconds !== undefined) this.upstreamLatency.observe({ route }, upstreamSeconds);
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
