// SPEC §3: several server certificates by SNI; forwardClientCert for AS routes (tls_client_auth).
import t from 'tap';
import { connect } from 'node:tls';
import { randomUUID, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueServerCert } from '../../src/dev/pki.js';
import { startTestGateway, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

t.test('SNI picks the certificate; forwardClientCert sends the verified certificate', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir, pki } = await testPki();
  const ev = await issueServerCert(pki.ca, { hostnames: ['auth.bank.example'], ips: [] });
  writeFileSync(join(dir, 'ev.crt'), ev.cert);
  writeFileSync(join(dir, 'ev.key'), ev.key);
  const gw = await startTestGateway(
    tt,
    `server:
  port: 0
  host: 127.0.0.1
  tls:
    certificates:
      - { cert: {{pki}}/server.crt, key: {{pki}}/server.key }
      - { hostnames: [auth.bank.example], cert: {{pki}}/ev.crt, key: {{pki}}/ev.key }
    clientCa: [{{pki}}/ca.crt]
routes:
  - path: /token
    upstream: ${upstream.url}
    forwardClientCert: true
  - path: /open-banking/accounts/v2
    upstream: ${upstream.url}
`,
  );
  const served = (servername: string) =>
    new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: gw.port, servername, ca: pki.ca.cert }, () => {
        resolve(s.getPeerX509Certificate()!.serialNumber);
        s.destroy();
      });
      s.on('error', reject);
    });
  tt.equal(await served('auth.bank.example'), new X509Certificate(ev.cert).serialNumber, 'SNI host gets its certificate');
  tt.equal(await served('AUTH.bank.example'), new X509Certificate(ev.cert).serialNumber, 'hostnames compare case-insensitively');
  tt.equal(await served('localhost'), new X509Certificate(pki.server.cert).serialNumber, 'anything else gets the default');

  const res = await send(gw.port, { method: 'POST', path: '/token', headers: { 'x-fapi-interaction-id': randomUUID(), 'x-ssl-client-cert': 'spoofed' }, body: 'grant_type=client_credentials', cert: pki.client1, ca: pki.ca.cert });
  tt.equal(res.status, 200);
  const forwarded = upstream.requests[0]!.headers['x-ssl-client-cert'] as string;
  tt.equal(new X509Certificate(decodeURIComponent(forwarded)).fingerprint256, new X509Certificate(pki.client1.cert).fingerprint256, 'the verified certificate, URL-encoded PEM');

  await send(gw.port, { path: '/open-banking/accounts/v2/accounts', headers: { 'x-fapi-interaction-id': randomUUID(), 'x-ssl-client-cert': 'spoofed' }, cert: pki.client1, ca: pki.ca.cert });
  tt.notOk(upstream.requests[1]!.headers['x-ssl-client-cert'], 'not forwarded (and the spoofed one stripped) elsewhere');
});
