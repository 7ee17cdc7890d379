/** The admin listener (plain HTTP, own port): /healthz, /readyz, /metrics (SPEC §7). */
import Fastify, { type FastifyInstance } from 'fastify';
import type { GatewayMetrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export function buildAdmin(metrics: GatewayMetrics, readiness: Readiness): FastifyInstance {
  const admin = Fastify({ logger: false });
  admin.get('/healthz', async () => ({ status: 'ok' }));
  admin.get('/readyz', async (_request, reply) => {
    if (readiness.ready) return { status: 'ready' };
    return reply.code(503).send({ status: 'unavailable', failing: readiness.failing() });
  });
  admin.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  return admin;
}
