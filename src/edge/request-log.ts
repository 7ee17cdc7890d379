/** The request's log line and metrics, written once when its response has been sent (SPEC §7). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pino, type LoggerOptions } from 'pino';
import type { GatewayMetrics } from '../metrics.js';
import type { CallRecorder } from '../pcm/call-recorder.js';

/**
 * The gateway's pino options (SPEC §7): ISO 8601 `time`, `level` by name, no pid or hostname.
 * The CLI builds its logger from these; tests use them to read the lines as operators will.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'guarita' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

/**
 * One JSON log line per request (SPEC §7) — never the query string, a token or a body — the
 * metrics, and `calls`: the PCM report and SLA figures of OFB catalogue calls (SPEC §11).
 */
export function requestRecorder(metrics: GatewayMetrics | undefined, calls?: CallRecorder) {
  return function recordRequest(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    const ofb = request.ofb;
    const route = ofb.route?.path;
    const status = reply.statusCode;
    // Built only when it will be written: the hot path allocates nothing for a disabled level.
    if ((request.log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') === true) request.log.info(
      {
        interactionId: ofb.interactionId,
        clientId: ofb.clientId,
        orgId: ofb.identity?.orgId,
        softwareId: ofb.identity?.softwareId,
        consentId: ofb.consentId,
        method: request.method,
        path: ofb.path,
        route,
        status,
        failedCheck: ofb.failedCheck,
        refusal: ofb.errorCode,
        detail: ofb.errorDetail,
        certificate: ofb.refusedCertificate,
        latencyMs: Math.round(reply.elapsedTime * 100) / 100,
        upstreamMs: ofb.upstreamMs === undefined ? undefined : Math.round(ofb.upstreamMs * 100) / 100,
      },
      'request',
    );
    if (metrics !== undefined) {
      metrics.recordRequest(route ?? '(none)', request.method, status, reply.elapsedTime / 1000, ofb.upstreamMs === undefined ? undefined : ofb.upstreamMs / 1000);
      if (ofb.errorCode !== undefined) metrics.recordRefusal(route ?? '(none)', ofb.failedCheck ?? 'gateway', ofb.errorCode);
    }
    calls?.(request, reply);
    done();
  };
}

