// SPEC §6: routes.yaml validated at start; errors name the file, the line and the key.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { serverBlock, testPki } from '../helpers/gateway.js';

// One work dir for the file (a subdir per configuration), removed at exit.
const workDir = mkdtempSync(join(tmpdir(), 'guarita-cfg-'));
process.once('exit', () => rmSync(workDir, { recursive: true, force: true }));

function write(text: string): string {
  const file = join(mkdtempSync(join(workDir, 'cfg-')), 'routes.yaml');
  writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('config', async (tt) => {
  const { dir } = await testPki();
  const server = serverBlock(dir);
  const route = '  - path: /open-banking/accounts/v2\n    upstream: http://127.0.0.1:9001\n';

  await tt.test('a valid file gets its defaults', async (t2) => {
    const config = loadConfig(write(`${server}routes:\n${route}`));
    const r = config.routes[0]!;
    t2.equal(r.mtls, 'required', 'fail closed: mTLS unless the route says otherwise');
    t2.equal(r.timeoutMs, 30000);
    t2.equal(r.fapi, false, 'auth none → not a FAPI route unless fapi: true');
    t2.equal(r.upstream, 'http://127.0.0.1:9001');
    t2.equal(config.upstreamHeaders.orgId, 'x-org-id');
    t2.same(config.replay, { store: 'memory', maxEntries: 1000000, maxBytes: 536870912, keyPrefix: 'guarita:', timeoutMs: 1000 });
    t2.ok(Object.isFrozen(config.routes[0]), 'frozen');
  });

  await tt.test('bad YAML names the line', async (t2) => {
    const file = write(`${server}routes:\n  - path: /x\n    upstream: [unclosed\n`);
    const err = errorOf(() => loadConfig(file));
    t2.match(err.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: invalid YAML`));
  });

  await tt.test('unknown key is an error naming file, line and key (a typo never disables a check)', async (t2) => {
    const file = write(`${server}routes:\n${route}    mtsl: none\n`);
    const err = errorOf(() => loadConfig(file));
    t2.equal(err.line, 11);
    t2.equal(err.key, 'routes[0].mtsl');
    t2.match(err.message, `${file}:11: routes[0].mtsl: unknown key`);
  });

  await tt.test('missing upstream', async (t2) => {
    const err = errorOf(() => loadConfig(write(`${server}routes:\n  - path: /x\n    mtls: none\n`)));
    t2.equal(err.key, 'routes[0].upstream');
    t2.match(err.message, 'is required');
    t2.equal(err.line, 9);
  });

  await tt.test('bad enum value', async (t2) => {
    const err = errorOf(() => loadConfig(write(`${server}routes:\n${route}    mtls: sometimes\n`)));
    t2.equal(err.key, 'routes[0].mtls');
    t2.equal(err.line, 11);
  });

  await tt.test('bad file path names the key', async (t2) => {
    const err = errorOf(() => loadConfig(write(serverBlock('/nonexistent/dir') + `routes:\n${route}`)));
    t2.equal(err.key, 'server.tls.certificates[0].cert');
    t2.match(err.message, 'does not exist or is not readable');
    t2.equal(err.line, 6);
  });

  await tt.test('a file that is not a certificate', async (t2) => {
    const junk = write('not a certificate');
    const err = errorOf(() =>
      loadConfig(write(`${server.replace(`${dir}/ca.crt`, junk)}routes:\n${route}`)),
    );
    t2.equal(err.key, 'server.tls.clientCa[0]');
  });

  await tt.test('${ENV} interpolation, and a missing variable is an error', async (t2) => {
    const text = `${server}routes:\n  - path: /x\n    upstream: \${UPSTREAM}\n`;
    const config = loadConfig(write(text), { UPSTREAM: 'http://127.0.0.1:7000' });
    t2.equal(config.routes[0]!.upstream, 'http://127.0.0.1:7000');
    const err = errorOf(() => loadConfig(write(text), {}));
    t2.match(err.message, 'environment variable UPSTREAM is not set');
    t2.equal(err.line, 10);
    const withDefault = `${server}routes:\n  - path: /x\n    upstream: \${UPSTREAM:-http://127.0.0.1:7001}\n`;
    t2.equal(loadConfig(write(withDefault), {}).routes[0]!.upstream, 'http://127.0.0.1:7001', '${VAR:-default}');
    // Regression: a default holding a {placeholder} was cut at its first `}`.
    const template = `${server}directory:\n  jwksUri: \${JWKS:-https://localhost:9200/{orgId}/application.jwks}\nroutes:\n${route}`;
    t2.equal(loadConfig(write(template), {}).directory?.jwksUri, 'https://localhost:9200/{orgId}/application.jwks');
    const secret = errorOf(() => loadConfig(write(`${server}introspection:\n  endpoint: http://127.0.0.1:1/i\n  clientId: g\n  clientSecret: \${NOPE}\nroutes:\n${route}`), {}));
    t2.equal(secret.key, 'introspection.clientSecret', 'the error names the full key');
  });

  await tt.test('signing.key must be an RSA private key of at least 2048 bits (PEM or JWK)', async (t2) => {
    const keyFile = (text: string) => write(text);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ok = [
      rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      JSON.stringify(rsa.privateKey.export({ format: 'jwk' })),
    ];
    for (const text of ok) {
      const config = loadConfig(write(`${server}signing: { key: ${keyFile(text)}, kid: k, orgId: o }\nroutes:\n${route}`));
      t2.ok(config.signing, 'accepted');
    }
    const bad: [string, RegExp][] = [
      ['not a key', /not a usable PS256 signing key/],
      [generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), /must be an RSA private key/],
      [generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), /1024 bits/],
      [rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(), /not a usable PS256 signing key/],
    ];
    for (const [text, message] of bad) {
      const err = errorOf(() => loadConfig(write(`${server}signing: { key: ${keyFile(text)}, kid: k, orgId: o }\nroutes:\n${route}`)));
      t2.equal(err.key, 'signing.key');
      t2.match(err.message, message);
    }
  });

  await tt.test('cross-checks', async (t2) => {
    const cases: [string, string, RegExp][] = [
      [`${server}routes:\n${route}    auth: { scopes: [accounts] }\n`, 'routes[0].auth', /introspection/],
      [`${server}routes:\n${route}    jws: { request: true }\n`, 'routes[0].jws', /directory/],
      [`${server}routes:\n${route}    jws: { response: true }\n`, 'routes[0].jws', /signing/],
      [`${server}routes:\n${route}${route}`, 'routes[1].path', /duplicates routes\[0\]/],
      [`${server}routes:\n  - path: /x\n    upstream: http://127.0.0.1:1/base\n`, 'routes[0].upstream', /origin/],
      [`${server}  ingress: { port: 8080, trustedProxies: [10.0.0.0/33] }\nroutes:\n${route}`, 'server.ingress.trustedProxies[0]', /CIDR/],
      [`${server}routes:\n${route}    mtls: optional\n    idempotency: true\n`, 'routes[0].idempotency', /scoped per client/],
    ];
    for (const [text, key, message] of cases) {
      const err = errorOf(() => loadConfig(write(text)));
      t2.equal(err.key, key, key);
      t2.match(err.message, message);
    }
  });
});
