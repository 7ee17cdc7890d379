/** The request's log line and metrics, written once when its response has been sent (SPEC §7). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayMetrics } from '../metrics.js';

/** One JSON log line per request (SPEC §7) — never the query string, a token or a body — and the metrics. */
export function requestRecorder(metrics: GatewayMetrics | undefined) {
  return function recordRequest(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    const ofb = request.ofb;
    const route = ofb.route?.path;
    const status = reply.statusCode;
    // Built only when it will be written: the hot path allocates nothing for a disabled level.
    if ((request.log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') === true) request.log.info(
      {
        interactionId: ofb.interactionId,
        method: request.method,
        path: ofb.path,
        route,
        status,
        failedCheck: ofb.failedCheck,
        orgId: ofb.identity?.orgId,
        softwareId: ofb.identity?.softwareId,
        clientId: ofb.clientId,
        latencyMs: Math.round(reply.elapsedTime * 100) / 100,
        upstreamMs: ofb.upstreamMs === undefined ? undefined : Math.round(ofb.upstreamMs * 100) / 100,
      },
      'request',
    );
    if (metrics !== undefined) {
      metrics.recordRequest(route ?? '(none)', request.method, status, reply.elapsedTime / 1000, ofb.upstreamMs === undefined ? undefined : ofb.upstreamMs / 1000);
      if (ofb.errorCode !== undefined) metrics.recordRefusal(route ?? '(none)', ofb.failedCheck ?? 'gateway', ofb.errorCode);
    }
    done();
  };
}

