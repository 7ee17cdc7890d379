/**
 * Target (bf): Fastify's own floor for a proxy — target (b) (same TLS options, same undici Pool, same
 * hop-by-hop filtering), its handler served through a Fastify route with no hooks, no logger and no
 * content-type parsing instead of a bare node:https request listener. (bf) − (b) is what Fastify's
 * request lifecycle costs; (c) − (bf) is Guarita's own work on top of it (issue 16, goal 1: "measure
 * a route served through Fastify against the same route on a bare node:https handler").
 * `node bare-fastify.js '<BareOptions as JSON>'` prints `READY {"port":N}`.
 */
import Fastify from 'fastify';
import { Pool } from 'undici';
import { bareTlsOptions, endToEnd, type BareOptions } from './bare-common.js';

const options = JSON.parse(process.argv[2] ?? '{}') as BareOptions;
const pool = new Pool(options.upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });

const app = Fastify({
  https: bareTlsOptions(options),
  keepAliveTimeout: 60_000,
  logger: false,
  exposeHeadRoutes: false,
  requestIdHeader: false,
});
// Bodies stream to the upstream untouched, as in (b).
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, _payload, done) => done(null));
app.all('/*', async (request, reply) => {
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  try {
    const upstream = await pool.request({ method: request.method as 'GET', path: request.url, headers: endToEnd(request.headers), body: hasBody ? request.raw : null });
    // Small bodies are read whole and sent as one buffer, as the gateway does.
    const body = Buffer.from(await upstream.body.arrayBuffer());
    return reply.code(upstream.statusCode).headers(endToEnd(upstream.headers)).send(body);
  } catch {
    return reply.code(502).send();
  }
});
app.listen({ port: 0, host: '127.0.0.1' }).then(() => {
  const address = app.server.address();
  console.log(`READY ${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}`);
});
process.on('SIGTERM', () => process.exit(0));
