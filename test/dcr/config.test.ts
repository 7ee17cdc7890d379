// SPEC §9 configuration: `dcr: true` defaults (mtls required, auth none, fapi false, the RFC 7591/7592
// methods), contradictory settings refused at load naming the file, line and key, and
// directory.ssaJwksUri (default: the production keystore).
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { PRODUCTION_SSA_JWKS_URI, ssaJwksUriOf } from '../../src/clients/directory-jwks.js';
import { serverBlock, testPki } from '../helpers/gateway.js';

const dir = mkdtempSync(join(tmpdir(), 'guarita-dcr-conf-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function load(text: string): Config {
  const file = join(dir, `routes-${n++}.yaml`);
  writeFileSync(file, text);
  return loadConfig(file);
}
function refusal(text: string): ConfigError {
  try {
    load(text);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('dcr defaults and the SSA keystore default', async (tt) => {
  const { dir: pkiDir } = await testPki();
  const config = load(`${serverBlock(pkiDir)}directory: {}\nroutes:\n  - path: /register\n    upstream: http://127.0.0.1:9100\n    dcr: true\n`);
  const route = config.routes[0];
  tt.equal(route?.dcr, true);
  tt.equal(route?.mtls, 'required');
  tt.equal(route?.auth, undefined);
  tt.equal(route?.fapi, false);
  tt.same(route?.methods, ['GET', 'POST', 'PUT', 'DELETE']);
  tt.equal(config.directory?.ssaJwksUri, undefined, 'not set in the file');
  tt.equal(ssaJwksUriOf(config.directory ?? {}), PRODUCTION_SSA_JWKS_URI);
  tt.equal(PRODUCTION_SSA_JWKS_URI, 'https://keystore.directory.openbankingbrasil.org.br/openbanking.jwks');
  const sandbox = load(`${serverBlock(pkiDir)}directory:\n  ssaJwksUri: https://keystore.sandbox.directory.openbankingbrasil.org.br/openbanking.jwks\nroutes:\n  - path: /register\n    upstream: http://127.0.0.1:9100\n    dcr: true\n    methods: [POST]\n`);
  tt.equal(ssaJwksUriOf(sandbox.directory ?? {}), 'https://keystore.sandbox.directory.openbankingbrasil.org.br/openbanking.jwks');
  tt.same(sandbox.routes[0]?.methods, ['POST'], 'an explicit subset is kept');
});

t.test('contradictory dcr settings are refused at load', async (tt) => {
  const { dir: pkiDir } = await testPki();
  const head = `${serverBlock(pkiDir)}introspection: { endpoint: http://127.0.0.1:1/i, clientId: g, clientSecret: s }\ndirectory:\n  jwksUri: https://keystore.example/{orgId}/application.jwks\nreplay: { store: memory }\nroutes:\n  - path: /register\n    upstream: http://127.0.0.1:9100\n    dcr: true\n`;
  const cases: [string, string, string, RegExp][] = [
    ['mtls: none', '    mtls: none\n', 'routes[0].mtls', /dcr needs `mtls: required`/],
    ['mtls: optional', '    mtls: optional\n', 'routes[0].mtls', /dcr needs `mtls: required`/],
    ['auth', '    auth: { scopes: [openid] }\n', 'routes[0].auth', /dcr excludes `auth`/],
    ['jws', '    jws: { request: true }\n', 'routes[0].jws', /dcr excludes `jws`/],
    ['idempotency', '    idempotency: true\n', 'routes[0].idempotency', /dcr excludes `idempotency`/],
    ['PATCH', '    methods: [POST, PATCH]\n', 'routes[0].methods', /dcr routes accept only GET, POST, PUT, DELETE/],
  ];
  for (const [name, extra, key, message] of cases) {
    const text = head + extra;
    const err = refusal(text);
    tt.equal(err.key, key, `${name}: names the key`);
    tt.match(err.message, message, `${name}: says why`);
    tt.equal(err.line, text.split('\n').findIndex((l) => l === extra.trimEnd()) + 1, `${name}: names the line`);
  }
  const noDirectory = refusal(`${serverBlock(pkiDir)}routes:\n  - path: /register\n    upstream: http://127.0.0.1:9100\n    dcr: true\n`);
  tt.equal(noDirectory.key, 'routes[0].dcr');
  tt.match(noDirectory.message, /dcr needs a `directory` section/);
  const badUrl = refusal(`${serverBlock(pkiDir)}directory:\n  ssaJwksUri: 'https://exa mple/openbanking.jwks'\nroutes:\n  - path: /register\n    upstream: http://127.0.0.1:9100\n    dcr: true\n`);
  tt.equal(badUrl.key, 'directory.ssaJwksUri');
  const jwsWithoutTemplate = refusal(`${serverBlock(pkiDir)}directory: {}\nreplay: { store: memory }\nroutes:\n  - path: /pay\n    upstream: http://127.0.0.1:9100\n    jws: { request: true }\n`);
  tt.match(jwsWithoutTemplate.message, /jws.request needs `directory.jwksUri`/, 'a directory section without jwksUri no longer serves signed bodies');
});
