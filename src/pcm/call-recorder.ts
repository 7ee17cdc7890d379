/**
 * The one call the request path makes for SPEC §11 and the OFB SLA figures: when a response to a
 * request whose path is in the OFB catalogue has been sent — the gateway's own refusals and the
 * upstream's errors included — observe its time and status (operations.md "SLAs") and hand one
 * report to the PCM reporter. Synchronous and I/O-free (the reporter queues in memory).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayMetrics } from '../metrics.js';
import type { CertificateSource } from '../tls/certificate-source.js';
import { reportJson, reportKind } from './report.js';
import type { PcmReporter } from './reporter.js';

export type CallRecorder = (request: FastifyRequest, reply: FastifyReply) => void;

export interface CallRecorderOptions {
  readonly reporter?: PcmReporter | undefined;
  readonly metrics?: GatewayMetrics | undefined;
  /** The listener's certificate source: the caller's org id when no check got as far as reading it. */
  readonly certificates: CertificateSource;
  /** Ingress mode: whether a peer is a trusted proxy (the client IP is then the address it appended). */
  readonly trustedProxy?: ((ip: string) => boolean) | undefined;
}

/** The recorder for one listener, or undefined when there is neither a reporter nor metrics. */
export function createCallRecorder(options: CallRecorderOptions): CallRecorder | undefined {
  const { reporter, metrics, certificates, trustedProxy } = options;
  if (reporter === undefined && metrics === undefined) return undefined;
  const serverOrgId = reporter?.settings.serverOrgId ?? '';
  return function recordCall(request, reply) {
    const ofb = request.ofb;
    // Ambiguous requests were refused before they had a canonical path: not a call of any endpoint.
    const match = ofb?.endpoint(request.method);
    if (match === undefined) return;
    const elapsedMs = headersSentMs(request, reply);
    // Read when the request arrived, not derived from the hook's own clock: under load the hook runs
    // late (regression: timestamps up to 75 ms late and processTimespan 0 for a 60 ms answer).
    const arrivedAt = ofb.arrivedAt;
    const status = reply.statusCode;
    metrics?.recordSla(match.endpoint.template, match.endpoint.method, status, elapsedMs / 1000);
    if (reporter === undefined) return;
    const endpoint = match.endpoint;
    const json = reportJson(
      {
        endpoint,
        interactionId: ofb.interactionId,
        status,
        arrivedAt,
        elapsedMs,
        clientOrgId: endpoint.openData ? undefined : orgIdOf(request, certificates),
        clientIp: endpoint.openData ? clientIp(request, trustedProxy) : '',
      },
      serverOrgId,
    );
    reporter.record(reportKind(endpoint), json, arrivedAt);
  };
}

/**
 * SPEC §11: milliseconds until the response headers were sent. A streamed upstream answer sends its
 * headers as soon as they arrive (forwardedAt + upstreamMs); the gateway's own answers and the signed
 * ones (read whole, then signed) go out headers and body together, so the end of the response is the
 * moment.
 */
function headersSentMs(request: FastifyRequest, reply: FastifyReply): number {
  const total = reply.elapsedTime;
  const ofb = request.ofb;
  if (ofb.upstreamMs === undefined || ofb.route?.jws?.response === true) return total;
  const headersAt = ofb.forwardedAt + ofb.upstreamMs;
  return Math.min(total, Math.max(0, headersAt - ofb.startedAt));
}

/** The caller's org id: from the checks, else from the presented certificate when it verifies. */
function orgIdOf(request: FastifyRequest, certificates: CertificateSource): string | undefined {
  const known = request.ofb.identity?.orgId;
  if (known !== undefined) return known;
  try {
    const state = certificates(request);
    return state.status === 'verified' ? state.identity.orgId : undefined;
  } catch {
    return undefined;
  }
}

/** The client IP of an open-data call (behind a trusted ingress proxy, the address it appended). */
function clientIp(request: FastifyRequest, trustedProxy: ((ip: string) => boolean) | undefined): string {
  const peer = request.socket.remoteAddress ?? '';
  let ip = peer;
  if (trustedProxy?.(peer) === true) {
    const forwarded = request.headers['x-forwarded-for'];
    const last = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',').pop()?.trim();
    if (last) ip = last;
  }
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
