/**
 * The upstream every target forwards to (and target (a) itself): a minimal node:http server answering
 * 200 with a small JSON body. Prints `READY {"port":N}`.
 */
import { createServer } from 'node:http';

const BODY = JSON.stringify({ data: { accountId: 'b1d3f0c2-0000-4000-8000-000000000001', brandName: 'Guarita Bench' }, links: { self: '/' }, meta: {} });
const LENGTH = String(Buffer.byteLength(BODY));

const server = createServer((req, res) => {
  // Read the body (JWS posts) before answering, as a real service would.
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': LENGTH });
    res.end(BODY);
  });
});
// Longer than every proxy's idle timeout towards it: the proxy, not the upstream, closes idle connections.
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`READY ${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}`);
});
process.on('SIGTERM', () => process.exit(0));
