// SPEC §10 configuration: `ofb` on a route that covers no catalogue endpoint is an error naming the
// route; a number below the OFB minimum loads with a warning (operations.md: never below the
// minimums); perConsentMonth needs the token's consent; defaults of the `limits` section.
import t from 'tap';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { serverBlock, testPki } from '../helpers/gateway.js';

const introspection = 'introspection: { endpoint: https://as.bank.example/introspect, clientId: guarita, clientSecret: s }\n';

async function load(sections: string) {
  const { dir } = await testPki();
  return parseConfig(`${serverBlock(dir)}${introspection}${sections}`, join(dir, 'routes.yaml'), {});
}

t.test('defaults: no limits unless configured; highClassPerMinute 2500, onStoreError allow', async (tt) => {
  const config = await load('routes:\n  - path: /open-banking/accounts/v2\n    upstream: http://127.0.0.1:9001\n');
  tt.same(config.limits, { highClassPerMinute: 2500, onStoreError: 'allow' });
  tt.equal(config.routes[0]?.limits, undefined);
  tt.same(config.warnings, []);
});

t.test('`ofb` on a route outside the catalogue is an error naming the route and the key', async (tt) => {
  for (const key of ['perMinute', 'perConsentMonth']) {
    const yaml = `routes:
  - path: /open-banking/accounts/v2
    upstream: http://127.0.0.1:9001
  - path: /internal/reports
    upstream: http://127.0.0.1:9002
    auth: { scopes: [reports] }
    limits: { ${key}: ofb }
`;
    const error = await load(yaml).then(
      () => undefined,
      (err: unknown) => err,
    );
    tt.type(error, ConfigError, key);
    tt.match((error as Error).message, new RegExp(`routes\\.yaml:\\d+: routes\\[1\\]\\.limits\\.${key}: \`ofb\` needs OFB endpoints, but route /internal/reports covers none`), key);
  }
});

t.test('`ofb` on catalogue routes loads without warnings, also on a route narrower than an API', async (tt) => {
  const config = await load(`routes:
  - path: /open-banking/accounts/v2
    upstream: http://127.0.0.1:9001
    auth: { scopes: [accounts], consent: required, permissions: ofb }
    limits: { perMinute: ofb, perConsentMonth: ofb }
  - path: /open-banking/accounts/v2/accounts/abc/balances
    upstream: http://127.0.0.1:9001
    auth: { scopes: [accounts] }
    limits: { perMinute: ofb }
`);
  tt.same(config.routes[0]?.limits, { perMinute: 'ofb', perConsentMonth: 'ofb' });
  tt.same(config.warnings, []);
});

t.test('a number below the OFB minimum loads, with a warning naming the key and the endpoint', async (tt) => {
  const config = await load(`limits: { highClassPerMinute: 5000 }
routes:
  - path: /open-banking/accounts/v2/accounts
    methods: [GET]
    upstream: http://127.0.0.1:9001
    auth: { scopes: [accounts], consent: required }
    limits: { perMinute: 1500, perConsentMonth: 100 }
`);
  tt.same(config.warnings, [
    'routes[0].limits.perMinute 1500 is below the OFB minimum of 5000 for GET /open-banking/accounts/v2/accounts/{accountId}/balances (and 2 more endpoints): the OFB rules forbid limiting below the published minimums',
    'routes[0].limits.perConsentMonth 100 is below the OFB minimum of 420 for GET /open-banking/accounts/v2/accounts/{accountId}/balances (and 2 more endpoints): the OFB rules forbid limiting below the published minimums',
  ]);
  const atMinimum = await load(`routes:
  - path: /open-banking/accounts/v2
    upstream: http://127.0.0.1:9001
    limits: { perMinute: 2500 }
`);
  tt.same(atMinimum.warnings, [], 'at or above every minimum (high = 2500 by default): no warning');
});

t.test('regression: limits.highClassPerMinute under 2,500 and globalPerSecond under 300 loaded without a warning', async (tt) => {
  const route = 'routes:\n  - path: /open-banking/accounts/v2\n    upstream: http://127.0.0.1:9001\n';
  const low = await load(`limits: { highClassPerMinute: 100, globalPerSecond: 10 }\n${route}`);
  tt.same(low.warnings, [
    'limits.highClassPerMinute 100 is below the OFB minimum of 2500 for the "high" class: the OFB rules forbid limiting below the published minimums',
    'limits.globalPerSecond 10 is below the OFB minimum capacity of 300 requests per second',
  ]);
  tt.same((await load(`limits: { highClassPerMinute: 2500, globalPerSecond: 300 }\n${route}`)).warnings, [], 'at the minimums: no warning');
});

t.test('perConsentMonth needs the access token (the consent comes from its scope)', async (tt) => {
  const error = await load(`routes:
  - path: /open-banking/accounts/v2
    upstream: http://127.0.0.1:9001
    limits: { perConsentMonth: 10 }
`).then(
    () => undefined,
    (err: unknown) => err,
  );
  tt.type(error, ConfigError);
  tt.match((error as Error).message, /routes\[0\]\.limits\.perConsentMonth: counts per consent, taken from the access token: route \/open-banking\/accounts\/v2 needs `auth`/);
});

t.test('schema: unknown keys, zero and non-ofb strings are refused', async (tt) => {
  const route = (limits: string) => `routes:\n  - path: /open-banking/accounts/v2\n    upstream: http://127.0.0.1:9001\n    limits: ${limits}\n`;
  await tt.rejects(load(route('{ perMinute: 0 }')), ConfigError);
  await tt.rejects(load(route('{ perMinute: high }')), ConfigError);
  await tt.rejects(load(route('{ perHour: 10 }')), /unknown key/);
  await tt.rejects(load(`limits: { onStoreError: ignore }\n${route('{ perMinute: 10 }')}`), ConfigError);
  await tt.rejects(load(`limits: { globalPerSecond: 0 }\n${route('{ perMinute: 10 }')}`), ConfigError);
});

t.test('several workers with the memory store: an error (each worker would count alone)', async (tt) => {
  const { dir } = await testPki();
  const text = (workers: string, extra: string) =>
    `${serverBlock(dir).replace('  host: 127.0.0.1\n', `  host: 127.0.0.1\n  workers: ${workers}\n`)}${introspection}${extra}routes:
  - path: /open-banking/accounts/v2
    upstream: http://127.0.0.1:9001
    limits: { perMinute: 5000 }
`;
  const fails = (yaml: string) => {
    try {
      parseConfig(yaml, join(dir, 'routes.yaml'), {});
      return undefined;
    } catch (err) {
      return err as Error;
    }
  };
  tt.match(fails(text('2', ''))?.message, /routes\[0\]\.limits\.perMinute: workers share no memory/);
  tt.match(fails(text('auto', ''))?.message, /workers share no memory/);
  tt.match(fails(text('2', 'limits: { globalPerSecond: 300 }\n'))?.message, /limits\.globalPerSecond: workers share no memory|routes\[0\]\.limits\.perMinute: workers share no memory/);
  tt.equal(fails(text('2', 'replay: { store: redis, url: redis://127.0.0.1:6379 }\n')), undefined, 'with Redis: fine');
  tt.equal(fails(text('1', '')), undefined, 'one worker: fine');
});
