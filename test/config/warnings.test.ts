// The loader's warnings (Config.warnings): a ${VAR:-default} whose variable is unset, and plain
// http:// to a non-loopback host for the introspection, consent-service and directory URLs.
import t from 'tap';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { serverBlock, testPki } from '../helpers/gateway.js';

async function load(sections: string, env: NodeJS.ProcessEnv = {}) {
  const { dir } = await testPki();
  const text = `${serverBlock(dir)}${sections}routes:\n  - path: /open-banking/products-services/v1\n    upstream: http://127.0.0.1:9001\n    mtls: none\n`;
  return parseConfig(text, join(dir, 'routes.yaml'), env);
}

const introspection = (endpoint: string, secret = 's') =>
  `introspection:\n  endpoint: ${endpoint}\n  clientId: guarita\n  clientSecret: ${secret}\n`;

t.test('no warnings for a configuration without defaults or plain http', async (tt) => {
  const config = await load(`${introspection('https://as.bank.example/introspect')}directory:\n  jwksUri: https://keystore.directory.example/{orgId}/application.jwks\n`);
  tt.same(config.warnings, []);
  tt.ok(Object.isFrozen(config.warnings));
});

t.test('a ${VAR:-default} whose variable is unset or empty is reported, without the default', async (tt) => {
  const text = introspection('https://as.bank.example/introspect', '${INTROSPECTION_SECRET:-sandbox-secret}');
  const unset = await load(text, {});
  tt.same(unset.warnings, ['introspection.clientSecret uses its ${INTROSPECTION_SECRET:-...} default: the environment variable is unset']);
  tt.equal(unset.introspection?.clientSecret, 'sandbox-secret');
  tt.notMatch(unset.warnings.join('\n'), 'sandbox-secret', 'the default (maybe a secret) is not repeated');

  const empty = await load(text, { INTROSPECTION_SECRET: '' });
  tt.same(empty.warnings, ['introspection.clientSecret uses its ${INTROSPECTION_SECRET:-...} default: the environment variable is empty']);

  const set = await load(text, { INTROSPECTION_SECRET: 'sandbox-secret' });
  tt.same(set.warnings, [], 'set (even to the default value): no warning');
  tt.same((await load(introspection('https://as.bank.example/introspect', '${SECRET}'), { SECRET: 'x' })).warnings, [], '${VAR} without default: no warning');
});

t.test('the key path of a default inside a route', async (tt) => {
  const { dir } = await testPki();
  const text = `${serverBlock(dir)}routes:\n  - path: /a\n    upstream: \${BANK:-http://127.0.0.1:9001}\n    mtls: none\n    auth: none\n`;
  const config = parseConfig(text, join(dir, 'routes.yaml'), {});
  tt.same(config.warnings, ['routes[0].upstream uses its ${BANK:-...} default: the environment variable is unset']);
});

t.test('plain http:// to a non-loopback host', async (tt) => {
  const config = await load(
    `${introspection('http://as.bank.internal/introspect')}` +
      `  consentLookup:\n    url: http://10.0.0.7:8080/consents/{consentId}\n` +
      `directory:\n  jwksUri: http://keystore.directory.example/{orgId}/application.jwks\n`,
  );
  tt.equal(config.warnings.length, 3, config.warnings.join('\n'));
  tt.match(config.warnings[0], /^introspection\.endpoint uses plain http:\/\/ to as\.bank\.internal/);
  tt.match(config.warnings[1], /^introspection\.consentLookup\.url uses plain http:\/\/ to 10\.0\.0\.7/);
  tt.match(config.warnings[2], /^directory\.jwksUri uses plain http:\/\/ to keystore\.directory\.example/);
});

t.test('plain http:// on loopback is fine', async (tt) => {
  for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '[::1]']) {
    const config = await load(`${introspection(`http://${host}:9100/introspect`)}directory:\n  jwksUri: http://${host}:9200/{orgId}/application.jwks\n`);
    tt.same(config.warnings, [], host);
  }
});

t.test('the shipped routes.yaml defaults are reported when the variables are unset', async (tt) => {
  const text = introspection('${INTROSPECTION_ENDPOINT:-http://127.0.0.1:9100/introspect}', '${INTROSPECTION_SECRET:-sandbox-secret}');
  const config = await load(text, {});
  tt.same(config.warnings, [
    'introspection.endpoint uses its ${INTROSPECTION_ENDPOINT:-...} default: the environment variable is unset',
    'introspection.clientSecret uses its ${INTROSPECTION_SECRET:-...} default: the environment variable is unset',
  ]);
  const prod = await load(text, { INTROSPECTION_ENDPOINT: 'http://as.bank.internal/introspect', INTROSPECTION_SECRET: 'x' });
  tt.same(prod.warnings.length, 1);
  tt.match(prod.warnings[0], /^introspection\.endpoint uses plain http:\/\//);
});
