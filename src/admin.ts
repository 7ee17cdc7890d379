/** The admin listener (plain HTTP, own port): /healthz, /readyz, /metrics (SPEC §7). */
import Fastify, { type FastifyInstance } from 'fastify';
import type { GatewayMetrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export function buildAdmin(metrics: GatewayMetrics, readiness: Readiness): FastifyInstance {
  const admin = Fastify({ logger: false });
  admin.get('/healthz', async () => ({ status: 'ok' }));
  // SPEC §7: 200 when this replica can serve, else 503; every dependency in use with its state.
  admin.get('/readyz', async (_request, reply) => {
    const body = readiness.body();
    return reply.code(body.status === 'ready' ? 200 : 503).send(body);
  });
  admin.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.exposition();
  });
  return admin;
}
