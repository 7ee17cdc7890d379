/** Start and stop the gateway's listeners. */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config/load.js';
import { buildApp } from './app.js';

export interface RunningGateway {
  readonly app: FastifyInstance;
  /** Port the mTLS listener is bound to (useful with port 0). */
  readonly port: number;
  /** Stop accepting, drain in-flight requests for at most `graceMs`, then close. */
  close(graceMs?: number): Promise<void>;
}

/** Build and listen. */
export async function startGateway(config: Config, logger: FastifyBaseLogger | false = false): Promise<RunningGateway> {
  const app = await buildApp(config, { logger });
  await app.listen({ port: config.server.port, host: config.server.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.server.port;
  return {
    app,
    port,
    async close(graceMs = 25_000) {
      const timer = setTimeout(() => app.server.closeAllConnections(), graceMs);
      timer.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
