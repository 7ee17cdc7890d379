// SPEC §6: the configuration rules are named lists — src/config/rules.ts for sections and features,
// each check's `validate` for its own options — and the loader names the file, line and key of a problem.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { CONFIG_RULES, ROUTE_RULES } from '../../src/config/rules.js';
import { CHECKS } from '../../src/checks/registry.js';
import { serverBlock, testPki } from '../helpers/gateway.js';

function refusal(text: string): ConfigError {
  const file = join(mkdtempSync(join(tmpdir(), 'guarita-rules-')), 'routes.yaml');
  writeFileSync(file, text);
  try {
    loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('every rule and check has a distinct name', async (tt) => {
  const names = [...CONFIG_RULES, ...CHECKS, ...ROUTE_RULES].map((r) => r.name);
  tt.equal(new Set(names).size, names.length);
});

t.test("a check's validate problem is reported at the line of the key it names", async (tt) => {
  const { dir } = await testPki();
  const intro = 'introspection: { endpoint: http://127.0.0.1:1/i, clientId: g, clientSecret: s }\n';
  const head = `${serverBlock(dir)}${intro}routes:\n  - path: /a\n    upstream: http://127.0.0.1:1\n`;
  const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

  const binding = `${head}    mtls: none\n    auth: { scopes: [a] }\n    certBinding: true\n`;
  const err = refusal(binding);
  tt.equal(err.key, 'routes[0].certBinding');
  tt.equal(err.line, lineOf(binding, 'certBinding: true'));
  tt.match(err.message, /certificate binding needs `mtls: required`/);

  const signing = `${head}    mtls: optional\n    jws: { response: true }\n`;
  const noKey = refusal(signing);
  tt.equal(noKey.key, 'routes[0].jws', 'response-signing rule: the signing section first');
  tt.match(noKey.message, /jws.response needs a `signing` section/);

  const fapi = `${head}    auth: { scopes: [a] }\n    fapi: false\n`;
  tt.equal(refusal(fapi).key, 'routes[0].fapi');
  tt.equal(refusal(fapi).line, lineOf(fapi, 'fapi: false'));
});
