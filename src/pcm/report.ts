/**
 * The two PCM report shapes (SPEC §11; pcm-specs PCM-v310 `ServerReportRequest`,
 * `OpendataReportRequest`) built from what the gateway knows of one answered call. Pure: no I/O.
 */
import type { OfbEndpoint } from '../ofb/catalogue.js';

/** Which PCM endpoint a report goes to. */
export type ReportKind = 'server' | 'opendata';

/** A server report (the bank's view of a call it answered). */
export interface ServerReport {
  readonly fapiInteractionId: string;
  readonly endpoint: string;
  readonly statusCode: number;
  readonly httpMethod: string;
  readonly timestamp: string;
  readonly processTimespan: number;
  /** Absent only when the caller presented no usable certificate (the PCM then discards the report). */
  readonly clientOrgId?: string;
  readonly serverOrgId: string;
  readonly role: 'SERVER';
  readonly additionalInfo: Record<string, never>;
}

/** An open-data report (no client certificate on these endpoints: the origin is the client IP). */
export interface OpenDataReport {
  readonly endpoint: string;
  readonly statusCode: number;
  readonly httpMethod: string;
  readonly timestamp: string;
  readonly processTimespan: number;
  readonly additionalInfo: { readonly clientIp: string };
}

/** What the gateway knows of one answered call of a catalogue endpoint. */
export interface CallFacts {
  readonly endpoint: OfbEndpoint;
  /** The response's x-fapi-interaction-id. */
  readonly interactionId: string;
  readonly status: number;
  /** Epoch ms when the request arrived. */
  readonly arrivedAt: number;
  /** Milliseconds from arrival until the response headers were sent. */
  readonly elapsedMs: number;
  readonly clientOrgId: string | undefined;
  readonly clientIp: string;
}

/**
 * The report of one call. `httpMethod` is the catalogue row's method: a HEAD is looked up as GET
 * (src/ofb/catalogue.ts) and the PCM's method enum has no HEAD.
 */
export function buildReport(facts: CallFacts, serverOrgId: string): { kind: ReportKind; report: ServerReport | OpenDataReport } {
  const common = {
    endpoint: facts.endpoint.template,
    statusCode: facts.status,
    httpMethod: facts.endpoint.method,
    // PCM: UTC ISO 8601 with milliseconds (YYYY-MM-DDTHH:mm:ss.sssZ), the moment the call arrived.
    timestamp: new Date(facts.arrivedAt).toISOString(),
    // PCM: whole milliseconds (an integer).
    processTimespan: Math.max(0, Math.round(facts.elapsedMs)),
  };
  if (facts.endpoint.openData) return { kind: 'opendata', report: { ...common, additionalInfo: { clientIp: facts.clientIp } } };
  return {
    kind: 'server',
    report: {
      fapiInteractionId: facts.interactionId,
      ...common,
      ...(facts.clientOrgId === undefined ? {} : { clientOrgId: facts.clientOrgId }),
      serverOrgId,
      role: 'SERVER',
      additionalInfo: {},
    },
  };
}
