// SPEC §6: token-check options are cross-checked at start (file, line, key).
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { serverBlock, testPki } from '../helpers/gateway.js';

// One work dir for the file (a subdir per configuration), removed at exit.
const workDir = mkdtempSync(join(tmpdir(), 'guarita-cfg-'));
process.once('exit', () => rmSync(workDir, { recursive: true, force: true }));

function load(text: string) {
  const file = join(mkdtempSync(join(workDir, 'cfg-')), 'routes.yaml');
  writeFileSync(file, text);
  return loadConfig(file);
}

const INTROSPECTION = 'introspection:\n  endpoint: http://127.0.0.1:1/introspect\n  clientId: guarita\n  clientSecret: s\n';

t.test('auth routes', async (tt) => {
  const { dir } = await testPki();
  const route = (auth: string) => `routes:\n  - path: /open-banking/accounts/v2\n    upstream: http://127.0.0.1:9001\n    auth: ${auth}\n`;

  const config = load(`${serverBlock(dir)}${INTROSPECTION}${route('{ scopes: [accounts], consent: required, permissions: ofb }')}`);
  const r = config.routes[0]!;
  tt.same(r.auth, { scopes: ['accounts'], consent: 'required', permissions: 'ofb' });
  tt.equal(r.certBinding, true, 'FAPI 1 Advanced §8.2: bound tokens by default');
  tt.equal(r.fapi, true);
  tt.match(config.introspection, { timeoutMs: 2000, cacheTtlSeconds: 60, negativeCacheTtlSeconds: 5, consentStatusClaim: 'consent.status' });

  const scopeError = (() => {
    try {
      load(`${serverBlock(dir)}${INTROSPECTION}${route('{ scopes: [accounts, "bad\\"scope"] }')}`);
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  tt.type(scopeError, ConfigError, 'a scope that cannot go into WWW-Authenticate is refused');
  tt.match((scopeError as Error).message, /routes\[0\]\.auth\.scopes\[1\]: a scope is printable ASCII/);

  tt.throws(() => load(`${serverBlock(dir)}${route('{ scopes: [accounts] }')}`), /needs an `introspection` section/);
  tt.throws(
    () => load(`${serverBlock(dir)}${INTROSPECTION}${route('{ scopes: [accounts], permissions: ofb }')}`),
    /`permissions` needs `consent: required`/,
  );
});
