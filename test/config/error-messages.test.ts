// SPEC §6: a wrong value names the deepest wrong key and, for a closed set, lists the allowed values.
import t from 'tap';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';

const FILE = '/etc/guarita/routes.yaml';

/** A configuration with one route; `route` is appended under it, `top` before `introspection`. */
function yaml(route: string, top = ''): string {
  return `server:
  port: 0
  tls:
    certificates:
      - { cert: server.crt, key: server.key }
${top}introspection:
  endpoint: http://127.0.0.1:1/introspect
  clientId: guarita
  clientSecret: s
routes:
  - path: /open-banking/accounts/v2
    upstream: http://127.0.0.1:9001
${route}`;
}

function errorOf(text: string): ConfigError {
  try {
    parseConfig(text, FILE, {});
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('scope: instead of scopes: under auth → the unknown key inside auth', async (tt) => {
  const err = errorOf(yaml('    auth: { scope: [accounts] }\n'));
  tt.equal(err.key, 'routes[0].auth.scope');
  tt.equal(err.line, 13);
  tt.match(err.message, /routes\.yaml:13: routes\[0\]\.auth\.scope: unknown key/);
});

t.test('consent: requried → the allowed values of auth.consent', async (tt) => {
  const err = errorOf(yaml('    auth: { scopes: [accounts], consent: requried }\n'));
  tt.equal(err.key, 'routes[0].auth.consent');
  tt.match(err.message, 'routes[0].auth.consent: must be "required" or "none"');
});

t.test('permissions: obf → "ofb" or a list', async (tt) => {
  const err = errorOf(yaml('    auth: { scopes: [accounts], permissions: obf }\n'));
  tt.equal(err.key, 'routes[0].auth.permissions');
  tt.match(err.message, 'routes[0].auth.permissions: must be "ofb" or an array');
});

t.test('mtls: nonee → the allowed values of mtls', async (tt) => {
  const err = errorOf(yaml('    mtls: nonee\n'));
  tt.equal(err.key, 'routes[0].mtls');
  tt.match(err.message, 'routes[0].mtls: must be one of "required", "optional", "none"');
});

t.test('methods: [get] → the item, with the method names', async (tt) => {
  const err = errorOf(yaml('    methods: [get]\n'));
  tt.equal(err.key, 'routes[0].methods[0]');
  tt.equal(err.line, 13);
  tt.match(err.message, /routes\[0\]\.methods\[0\]: must be one of "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"/);
});

t.test('log: { level: verbose } → the log levels', async (tt) => {
  const err = errorOf(yaml('', 'log: { level: verbose }\n'));
  tt.equal(err.key, 'log.level');
  tt.equal(err.line, 6);
  tt.match(err.message, /log\.level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"/);
});
