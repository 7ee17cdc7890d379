// SPEC §3 ingress mode: the client certificate from a TLS-terminating proxy's header, accepted only
// from trustedProxies, chain verified by the gateway, header never forwarded.
import t from 'tap';
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { startTestGateway, serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';

async function viaIngress(port: number, headers: Record<string, string>, path = '/open-banking/accounts/v2/accounts') {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { 'x-fapi-interaction-id': randomUUID(), ...headers } });
  return { status: res.status, body: (await res.json()) as { errors?: { code: string; detail: string }[] } };
}

t.test('ingress mode', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir, pki } = await testPki();
  const route = `routes:\n  - path: /open-banking/accounts/v2\n    upstream: ${upstream.url}\n    fapi: true\n`;
  const trusted = await startTestGateway(tt, `${serverBlock(dir, '  ingress: { port: 0, host: 127.0.0.1, trustedProxies: [127.0.0.0/8] }\n')}${route}`);
  const untrusted = await startTestGateway(tt, `${serverBlock(dir, '  ingress: { port: 0, host: 127.0.0.1, trustedProxies: [10.0.0.0/8] }\n')}${route}`);
  const xfcc = await startTestGateway(tt, `${serverBlock(dir, '  ingress: { port: 0, host: 127.0.0.1, header: x-forwarded-client-cert, trustedProxies: [127.0.0.1/32] }\n')}${route}`);
  const nginxEncoded = (pem: string) => encodeURIComponent(pem);
  const ingressPort = (gw: typeof trusted) => gw.gateway.ingressPort!;

  await tt.test('refused: forged header from an untrusted address, bad headers from a trusted one', async (t2) => {
    const cases: [string, number, Record<string, string>, RegExp][] = [
      ['forged header from an untrusted source', ingressPort(untrusted), { 'x-ssl-client-cert': nginxEncoded(pki.client1.cert) }, /only accepted from a trusted proxy/],
      ['no certificate at all', ingressPort(trusted), {}, /required/],
      ['malformed header', ingressPort(trusted), { 'x-ssl-client-cert': 'not-a-certificate%zz' }, /x-ssl-client-cert/],
      ['truncated PEM', ingressPort(trusted), { 'x-ssl-client-cert': nginxEncoded(pki.client1.cert.slice(0, 300)) }, /x-ssl-client-cert/],
      ['double-encoded PEM', ingressPort(trusted), { 'x-ssl-client-cert': encodeURIComponent(nginxEncoded(pki.client1.cert)) }, /x-ssl-client-cert/],
      ['certificate from an untrusted CA', ingressPort(trusted), { 'x-ssl-client-cert': nginxEncoded(pki.rogueClient.cert) }, /not issued by a trusted/],
      ['expired certificate', ingressPort(trusted), { 'x-ssl-client-cert': nginxEncoded(pki.expiredClient.cert) }, /expired/],
    ];
    for (const [what, port, headers, detail] of cases) {
      const res = await viaIngress(port, headers);
      t2.equal(res.status, 401, what);
      t2.equal(res.body.errors?.[0]?.code, 'INVALID_CLIENT', what);
      t2.match(res.body.errors?.[0]?.detail, detail, what);
    }
    t2.equal(upstream.requests.length, 0, 'nothing reached the upstream');
  });

  await tt.test('accepted from a trusted proxy: nginx URL-encoded PEM, identity forwarded, header stripped', async (t2) => {
    const res = await viaIngress(ingressPort(trusted), { 'x-ssl-client-cert': nginxEncoded(pki.client1.cert), 'x-forwarded-for': '203.0.113.9' });
    t2.equal(res.status, 200);
    const seen = upstream.requests.at(-1)!.headers;
    t2.equal(seen['x-org-id'], pki.client1.orgId);
    t2.notOk(seen['x-ssl-client-cert'], 'the certificate header never reaches the upstream');
    t2.equal(seen['x-forwarded-for'], '203.0.113.9, 127.0.0.1', "a trusted proxy's x-forwarded-for is kept and appended to");
  });

  await tt.test("accepted: Envoy's x-forwarded-client-cert", async (t2) => {
    const der = new X509Certificate(pki.client2.cert).raw;
    const value = `By=spiffe://bank/gw;Hash=${createHash('sha256').update(der).digest('hex')};Cert="${encodeURIComponent(pki.client2.cert)}";Subject="CN=x"`;
    const res = await viaIngress(ingressPort(xfcc), { 'x-forwarded-client-cert': value });
    t2.equal(res.status, 200);
    t2.equal(upstream.requests.at(-1)!.headers['x-org-id'], pki.client2.orgId);
    t2.notOk(upstream.requests.at(-1)!.headers['x-forwarded-client-cert']);
  });
});
