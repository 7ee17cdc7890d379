/**
 * Target (b): the runtime's floor for a proxy. A bare node:https server that asks for and verifies the
 * client certificate (TLS options as the gateway's listener) and forwards to the upstream over an
 * undici keep-alive Pool, with no checks at all. `node bare.js '<BareOptions as JSON>'` prints
 * `READY {"port":N}`.
 */
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { bareTlsOptions, endToEnd, type BareOptions } from './bare-common.js';

const options = JSON.parse(process.argv[2] ?? '{}') as BareOptions;
const pool = new Pool(options.upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });

const server = createHttps(
  bareTlsOptions(options),
  (req, res) => {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    pool
      .request({ method: req.method as 'GET', path: req.url ?? '/', headers: endToEnd(req.headers), body: hasBody ? req : null })
      .then(
        (upstream) => {
          res.writeHead(upstream.statusCode, endToEnd(upstream.headers));
          upstream.body.pipe(res);
        },
        () => res.writeHead(502).end(),
      );
  },
);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`READY ${JSON.stringify({ port: (server.address() as AddressInfo).port })}`));
process.on('SIGTERM', () => process.exit(0));
