// `npm run sandbox:ssa`: the software statement it mints verifies with the key the sandbox's mock
// Directory publishes at /openbanking.jwks, and a gateway with the sandbox's /register route (DCR
// guard) forwards the registration it prints to the mock AS; a stale one is refused.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { createDevPki, writeBankSigningKey, writeDevPki } from '../../src/dev/pki.js';
import { sandboxRoutesYaml, startSandbox } from '../../src/dev/sandbox.js';
import { mintSoftwareStatement, parseArgs, sandboxSsaKey } from '../../src/dev/ssa-cli.js';
import { loadConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/server.js';

const dir = mkdtempSync(join(tmpdir(), 'guarita-ssa-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (typeof address === 'object' && address !== null ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

t.test('parseArgs', async (tt) => {
  tt.same(parseArgs(['--org', '2', '--age', '400', '--certs', 'x']), { org: 2, age: 400, certDir: 'x' });
  tt.throws(() => parseArgs(['--org', '3']));
  tt.throws(() => parseArgs(['--age']));
});

t.test('a minted SSA registers through the sandbox DCR route; a stale one is refused', async (tt) => {
  const pki = await createDevPki();
  await writeDevPki(dir, pki);
  await writeBankSigningKey(dir);
  const sandbox = await startSandbox(pki, {}, undefined, await sandboxSsaKey(dir));
  tt.teardown(() => sandbox.close());
  const [port, adminPort] = [await freePort(), await freePort()];
  const file = join(dir, 'routes.yaml');
  writeFileSync(
    file,
    sandboxRoutesYaml({
      certDir: dir,
      port,
      adminPort,
      bankUrl: sandbox.bank.url,
      introspectionEndpoint: sandbox.as.introspectionEndpoint,
      jwksUri: sandbox.directory.jwksUri,
      ssaJwksUri: sandbox.directory.ssaJwksUri,
      authorizationServerUrl: sandbox.as.url,
    }),
  );
  const gateway = await startGateway(loadConfig(file));
  tt.teardown(() => gateway.close(1000));

  const post = (body: string, client = pki.client1) =>
    new Promise<{ status: number; body: string }>((done, fail) => {
      const req = request(
        { host: '127.0.0.1', port, servername: 'localhost', method: 'POST', path: '/register', ca: pki.ca.cert, cert: client.cert, key: client.key, headers: { 'content-type': 'application/json' }, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', fail);
      req.end(body);
    });

  const minted = await mintSoftwareStatement({ certDir: dir, directoryUrl: sandbox.directory.url, gatewayUrl: `https://localhost:${port}` });
  tt.match(minted.curl, `https://localhost:${port}/register`);
  const ok = await post(JSON.stringify(minted.registration));
  tt.equal(ok.status, 201, ok.body);
  tt.equal(sandbox.as.registrations.length, 1);
  tt.equal(sandbox.as.registrations[0]?.verified, true, 'the mock AS saw x-dcr-verified: true');
  tt.equal(sandbox.as.registrations[0]?.body, JSON.stringify(minted.registration), 'byte for byte');

  const stale = await mintSoftwareStatement({ certDir: dir, directoryUrl: sandbox.directory.url, age: 400 });
  const refused = await post(JSON.stringify(stale.registration));
  tt.equal(refused.status, 400);
  tt.equal((JSON.parse(refused.body) as { error: string }).error, 'invalid_software_statement');
  const other = await post(JSON.stringify(minted.registration), pki.client2);
  tt.equal(other.status, 400, "client1's registration over client2's certificate");
  tt.equal(sandbox.as.registrations.length, 1, 'the AS received only the good one');
});
