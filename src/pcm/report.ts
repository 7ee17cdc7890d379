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

/** Where a call of `endpoint` is reported. */
export function reportKind(endpoint: OfbEndpoint): ReportKind {
  return endpoint.openData ? 'opendata' : 'server';
}

/** The JSON-escaped constant members of each catalogue row's reports, built once per row. */
const endpointMembers = new Map<OfbEndpoint, string>();

/**
 * The report of one call (a ServerReport or an OpenDataReport, per `reportKind`) as JSON text,
 * written member by member: no object and no JSON.stringify per call. Every string from outside
 * (interaction id, org ids, client IP) is escaped with JSON.stringify; the property test compares
 * the result with JSON.stringify of the report object. `httpMethod` is the catalogue row's method:
 * a HEAD is looked up as GET (src/ofb/catalogue.ts) and the PCM's method enum has no HEAD.
 */
export function reportJson(facts: CallFacts, serverOrgId: string): string {
  const endpoint = facts.endpoint;
  let members = endpointMembers.get(endpoint);
  if (members === undefined) {
    members = `"endpoint":${JSON.stringify(endpoint.template)},"statusCode":`;
    endpointMembers.set(endpoint, members);
  }
  // PCM: UTC ISO 8601 with milliseconds (YYYY-MM-DDTHH:mm:ss.sssZ), the moment the call arrived;
  // processTimespan in whole milliseconds (an integer).
  const call = `${members}${facts.status},"httpMethod":${JSON.stringify(endpoint.method)},"timestamp":"${new Date(facts.arrivedAt).toISOString()}","processTimespan":${Math.max(0, Math.round(facts.elapsedMs))}`;
  if (endpoint.openData) return `{${call},"additionalInfo":{"clientIp":${JSON.stringify(facts.clientIp)}}}`;
  const client = facts.clientOrgId === undefined ? '' : `,"clientOrgId":${JSON.stringify(facts.clientOrgId)}`;
  return `{"fapiInteractionId":${JSON.stringify(facts.interactionId)},${call}${client},"serverOrgId":${JSON.stringify(serverOrgId)},"role":"SERVER","additionalInfo":{}}`;
}
