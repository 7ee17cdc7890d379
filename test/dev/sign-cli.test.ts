// `npm run sandbox:sign`: the payment it signs verifies with the key the sandbox's mock directory
// publishes, and a gateway in front of the sandbox accepts it.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { createDevPki, writeBankSigningKey, writeDevPki } from '../../src/dev/pki.js';
import { sandboxRoutesYaml, startSandbox } from '../../src/dev/sandbox.js';
import { orgKeyFromDir } from '../../src/dev/mock-directory.js';
import { PAYMENTS_PATH, parseArgs, signPayment, type SignedPayment } from '../../src/dev/sign-cli.js';
import { loadConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/server.js';

const dir = mkdtempSync(join(tmpdir(), 'guarita-sign-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (typeof address === 'object' && address !== null ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

/** Send the payment as the printed curl command does. */
function post(port: number, p: SignedPayment): Promise<{ status: number; contentType: string | undefined; body: string }> {
  return new Promise((resolveAnswer, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        method: 'POST',
        path: PAYMENTS_PATH,
        ca: readFileSync(p.caFile),
        cert: readFileSync(p.certFile),
        key: readFileSync(p.keyFile),
        agent: false,
        headers: {
          'content-type': 'application/jwt',
          'x-fapi-interaction-id': p.interactionId,
          'x-idempotency-key': p.idempotencyKey,
          authorization: `Bearer ${p.token}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolveAnswer({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(p.jws);
  });
}

t.test('arguments', async (tt) => {
  tt.same(parseArgs([]), {});
  tt.same(parseArgs(['--org', '2', '--certs', 'x', '--gateway', 'https://gw:1', '--amount', '5.00']), { org: 2, certDir: 'x', gatewayUrl: 'https://gw:1', amount: '5.00' });
  tt.throws(() => parseArgs(['--org', '3']), /usage/);
  tt.throws(() => parseArgs(['--org']), /usage/);
  tt.throws(() => parseArgs(['--amount', '5']), /usage/);
});

t.test('no dev PKI: says to run npm run certs', async (tt) => {
  await tt.rejects(signPayment({ certDir: join(dir, 'nothing-here') }), /npm run certs/);
});

t.test('a signed payment, accepted by a gateway in front of the sandbox', { timeout: 60_000 }, async (tt) => {
  const pki = await createDevPki();
  await writeDevPki(dir, pki);
  await writeBankSigningKey(dir);
  // As `npm run sandbox` does: the organisations' keys kept in the PKI directory.
  const orgKeys = { client1: await orgKeyFromDir(dir, 'client1', pki.client1.orgId), client2: await orgKeyFromDir(dir, 'client2', pki.client2.orgId) };
  tt.equal(statSync(join(dir, 'client1-signing.key')).mode & 0o777, 0o600);
  const sandbox = await startSandbox(pki, {}, orgKeys);
  tt.teardown(() => sandbox.close());
  const [port, adminPort] = [await freePort(), await freePort()];
  const file = join(dir, 'routes.yaml');
  writeFileSync(file, sandboxRoutesYaml({ certDir: dir, port, adminPort, bankUrl: sandbox.bank.url, introspectionEndpoint: sandbox.as.introspectionEndpoint, jwksUri: sandbox.directory.jwksUri }));
  const gateway = await startGateway(loadConfig(file));
  tt.teardown(() => gateway.close(1000));

  for (const org of [1, 2] as const) {
    const client = org === 1 ? pki.client1 : pki.client2;
    const signed = await signPayment({ certDir: dir, org, gatewayUrl: `https://localhost:${port}` });
    tt.equal(signed.url, `https://localhost:${port}${PAYMENTS_PATH}`);
    tt.equal(signed.orgId, client.orgId);

    // The JWS verifies with the key set the mock directory serves for this organisation.
    const served = await new Promise<string>((done, fail) => {
      request(`${sandbox.directory.url}/${client.orgId}/application.jwks`, { ca: pki.ca.cert }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => done(body));
      }).on('error', fail).end();
    });
    const header = decodeProtectedHeader(signed.jws);
    tt.same(header, { alg: 'PS256', kid: signed.kid, typ: 'JWT' });
    const { payload } = await compactVerify(signed.jws, createLocalJWKSet(JSON.parse(served) as { keys: [] }), { algorithms: ['PS256'] });
    const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    tt.equal(claims.aud, signed.url);
    tt.equal(claims.iss, client.orgId);
    tt.match(claims.jti, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    tt.ok(Math.abs((claims.iat as number) - Date.now() / 1000) < 60, 'iat is now');
    tt.match(claims.data, { payment: { amount: '100.00', currency: 'BRL' } });

    // The printed command carries everything the gateway checks.
    for (const part of [`--cert '${signed.certFile}'`, `--key '${signed.keyFile}'`, `--cacert '${signed.caFile}'`, `x-fapi-interaction-id: ${signed.interactionId}`, `x-idempotency-key: ${signed.idempotencyKey}`, `Authorization: Bearer ${signed.token}`, signed.jws, signed.url]) {
      tt.ok(signed.curl.includes(part), `curl has ${part.slice(0, 40)}`);
    }

    const answer = await post(port, signed);
    tt.equal(answer.status, 201, `org ${org}: ${answer.body}`);
    tt.equal(answer.contentType, 'application/jwt', 'signed response');
  }
});
