// SPEC §10 origin behind a trusted ingress proxy: the client IP is the address the proxy appended to
// x-forwarded-for (its last entry), not what the client wrote before it; from an untrusted peer the
// header is ignored and the peer address counts.
import t from 'tap';
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { startUpstream } from '../helpers/upstream.js';
import { freePortForTest } from './free-port.js';
import { FakeClock, startLimitGateway } from './helpers.js';

function get(port: number, path: string, forwardedFor: string | undefined, localAddress = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, localAddress, headers: { 'x-fapi-interaction-id': randomUUID(), ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

t.test('ingress: the last x-forwarded-for entry from a trusted proxy is the origin', async (tt) => {
  const upstream = await startUpstream(tt);
  const ingressPort = await freePortForTest();
  const g = await startLimitGateway(
    tt,
    `  ingress: { port: ${ingressPort}, host: 127.0.0.1, trustedProxies: [127.0.0.1/32] }
routes:
  - path: /open-data/v1
    upstream: {{upstream}}
    mtls: none
    limits: { perMinute: 2 }
`,
    upstream,
    new FakeClock(Date.UTC(2026, 10, 22, 12, 0, 10)),
  );
  const port = g.gateway.ingressPort ?? 0;
  const path = '/open-data/v1/items';
  tt.equal(await get(port, path, '203.0.113.9, 198.51.100.1'), 200);
  tt.equal(await get(port, path, '192.0.2.77, 198.51.100.1'), 200, 'a different first entry (client-written) does not make a new origin');
  tt.equal(await get(port, path, '198.51.100.1'), 429, 'the proxy-appended 198.51.100.1 is over its limit');
  tt.equal(await get(port, path, '203.0.113.9, 198.51.100.2'), 200, 'another appended address: its own counter');
  tt.equal(await get(port, path, undefined, '127.0.0.2'), 200, 'an untrusted peer (127.0.0.2): its own address');
  tt.equal(await get(port, path, '198.51.100.3', '127.0.0.2'), 200, 'its x-forwarded-for is ignored');
  tt.equal(await get(port, path, '198.51.100.4', '127.0.0.2'), 429, 'so both requests counted for 127.0.0.2');
  tt.equal(upstream.requests.length, 5);
});
