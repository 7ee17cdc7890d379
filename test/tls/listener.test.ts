// SPEC §3 TLS listener — FAPI 1.0 Advanced §8.5 and the OFB "Secure Use of TLS" rules.
import t from 'tap';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import { startTestGateway, serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

function handshake(port: number, options: ConnectionOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => resolve(socket));
    socket.once('error', reject);
  });
}

t.test('TLS listener', async (tt) => {
  const upstream = await startUpstream(tt);
  const { dir, pki } = await testPki();
  const gw = await startTestGateway(
    tt,
    `${serverBlock(dir)}routes:
  - path: /open-banking/accounts/v2
    upstream: ${upstream.url}
    mtls: required
`,
  );
  const base: ConnectionOptions = { ca: pki.ca.cert, cert: pki.client1.cert, key: pki.client1.key };

  await tt.test('FAPI-Adv §8.5(1): TLS 1.0 and 1.1 are refused', async (t2) => {
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      await t2.rejects(handshake(gw.port, { ...base, minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' }), `${version} refused`);
    }
  });

  await tt.test('FAPI-Adv §8.5(1): TLS 1.2 suites outside the four are refused', async (t2) => {
    for (const cipher of ['AES128-SHA', 'AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305', 'ECDHE-RSA-AES128-SHA256', 'ECDHE-RSA-AES256-SHA']) {
      await t2.rejects(handshake(gw.port, { ...base, maxVersion: 'TLSv1.2', ciphers: cipher }), `${cipher} refused`);
    }
  });

  await tt.test('FAPI-Adv §8.5(1): the four FAPI suites negotiate on TLS 1.2', async (t2) => {
    for (const cipher of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'DHE-RSA-AES128-GCM-SHA256', 'DHE-RSA-AES256-GCM-SHA384']) {
      const socket = await handshake(gw.port, { ...base, maxVersion: 'TLSv1.2', ciphers: cipher });
      t2.equal(socket.getCipher().standardName.length > 0, true);
      t2.equal(socket.getCipher().name, cipher);
      if (cipher.startsWith('DHE')) {
        const key = socket.getEphemeralKeyInfo() as { size?: number };
        t2.ok((key.size ?? 0) >= 2048, 'FAPI-Adv §8.5(3): DHE group ≥ 2048 bits');
      }
      socket.destroy();
    }
  });

  await tt.test('TLS 1.3 is offered and preferred', async (t2) => {
    const socket = await handshake(gw.port, base);
    t2.equal(socket.getProtocol(), 'TLSv1.3');
    socket.destroy();
  });

  await tt.test('OFB: no session resumption (tickets or session ids), TLS 1.2 and 1.3', async (t2) => {
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const first = await handshake(gw.port, { ...base, maxVersion: version });
      // TLS 1.3 delivers its session after the handshake: wait for it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const session = first.getSession();
      if (version === 'TLSv1.2') t2.equal(first.getTLSTicket(), undefined, 'TLS 1.2: no stateless session ticket issued');
      first.destroy();
      t2.ok(session, 'the client kept a session to offer');
      const second = await handshake(gw.port, { ...base, maxVersion: version, ...(session ? { session } : {}) });
      t2.equal(second.isSessionReused(), false, `${version}: the offered session is not resumed; full handshake`);
      second.destroy();
    }
  });

  await tt.test('OFB: renegotiation is refused', async (t2) => {
    const socket = await handshake(gw.port, { ...base, maxVersion: 'TLSv1.2' });
    const result = await new Promise<Error | null>((resolve) => {
      socket.once('error', (e) => resolve(e));
      const ok = socket.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err ?? null));
      if (!ok) resolve(new Error('renegotiate not started'));
    });
    t2.ok(result instanceof Error, `renegotiation fails: ${result?.message}`);
    socket.destroy();
  });

  await tt.test('a working request after all that', async (t2) => {
    const res = await send(gw.port, { path: '/open-banking/accounts/v2/accounts', headers: { 'x-fapi-interaction-id': randomUUID() }, cert: pki.client1, ca: pki.ca.cert });
    t2.equal(res.status, 200);
  });

  await tt.test('oversized headers → 431 with an OFB body, nothing forwarded', async (t2) => {
    const before = upstream.requests.length;
    const res = await send(gw.port, {
      path: '/open-banking/accounts/v2/accounts',
      headers: { 'x-fapi-interaction-id': randomUUID(), 'x-big': 'a'.repeat(20_000) },
      cert: pki.client1,
      ca: pki.ca.cert,
    });
    t2.equal(res.status, 431);
    t2.equal(res.json().errors[0]?.code, 'CABECALHOS_MUITO_GRANDES');
    t2.match(res.headers['x-fapi-interaction-id'], /^[0-9a-f-]{36}$/);
    t2.equal(upstream.requests.length, before);
  });
});
