// RFC 7662 introspection client (src/clients/introspection.ts) against a real mock AS: client
// authentication (RFC 6749 §2.3.1, RFC 8705 §2), the SPEC §5 cache, and fail closed.
import t from 'tap';
import { createIntrospector, tokenKey, type IntrospectorOptions } from '../../src/clients/introspection.js';
import { ServiceUnavailableError } from '../../src/errors.js';
import { testPki } from '../helpers/gateway.js';
import { startMockAs, thumbprintOfPem, tokenClaims } from '../helpers/mock-as.js';
import type { MockAuthorizationServer } from '../../src/dev/mock-as.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

function client(tt: Teardown, as: MockAuthorizationServer, options: Partial<IntrospectorOptions> = {}) {
  const introspector = createIntrospector({
    endpoint: as.introspectionEndpoint,
    clientId: 'guarita',
    clientSecret: 's3cret',
    timeoutMs: 1000,
    cacheTtlSeconds: 60,
    negativeCacheTtlSeconds: 5,
    cacheMaxEntries: 100,
    ...options,
  });
  tt.teardown(() => introspector.close());
  return introspector;
}

t.test('RFC 6749 §2.3.1 client_secret_basic: id and secret form-urlencoded before base64', async (tt) => {
  const clientId = 'guarita:gw 1';
  const clientSecret = 'p@ss:w/rd+%é';
  const as = await startMockAs(tt, { clientId, clientSecret });
  const introspector = client(tt, as, { clientId, clientSecret });
  const token = as.issue({ active: true, scope: 'accounts', exp: Math.floor(Date.now() / 1000) + 60 });
  const info = await introspector.introspect(token);
  tt.equal(info.active, true, 'the mock accepted the client authentication');
  const expected = `Basic ${Buffer.from('guarita%3Agw+1:p%40ss%3Aw%2Frd%2B%25%C3%A9').toString('base64')}`;
  tt.equal(as.calls[0]?.authorization, expected);
  tt.same(as.calls[0]?.params, { token, token_type_hint: 'access_token' }, 'RFC 7662 §2.1 body; no client_id with client_secret_basic');

  const wrong = client(tt, as, { clientId, clientSecret: 'wrong' });
  await tt.rejects(wrong.introspect(token), ServiceUnavailableError, 'the AS refusing our credentials (401) → 503');
});

t.test('RFC 8705 §2 tls_client_auth: the gateway certificate on an HTTPS connection, client_id in the body', async (tt) => {
  const { pki } = await testPki();
  const as = await startMockAs(tt, { tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert } });
  const introspector = client(tt, as, { clientSecret: undefined, clientCert: pki.client1.cert, clientKey: pki.client1.key, ca: pki.ca.cert });
  const token = as.issue(tokenClaims({ boundTo: pki.client2.cert, scope: 'accounts' }));
  const info = await introspector.introspect(token);
  tt.equal(info.active, true);
  tt.equal(info.thumbprint, thumbprintOfPem(pki.client2.cert));
  tt.equal(as.calls[0]?.clientCertThumbprint, thumbprintOfPem(pki.client1.cert), 'the gateway presented its certificate');
  tt.equal(as.calls[0]?.authorization, undefined, 'no Basic header');
  tt.equal(as.calls[0]?.params.client_id, 'guarita');

  const untrusting = client(tt, as, { clientSecret: undefined, clientCert: pki.client1.cert, clientKey: pki.client1.key, ca: pki.rogueCa.cert });
  await tt.rejects(untrusting.introspect('x'), ServiceUnavailableError, 'an AS certificate outside `ca` → 503');
  tt.throws(() => client(tt, as, { clientSecret: undefined }), TypeError, 'no secret and no certificate: misuse, refused at construction');
});

t.test('SPEC §5: warm hits make no network call; inactive answers use the negative TTL', async (tt) => {
  const { pki } = await testPki();
  const as = await startMockAs(tt, { clientSecret: 's3cret' });
  const introspector = client(tt, as);
  const token = as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'openid accounts' }));
  const first = await introspector.introspect(token);
  const second = await introspector.introspect(token);
  tt.equal(second, first, 'the same frozen answer');
  tt.ok(Object.isFrozen(first));
  tt.equal(as.calls.length, 1);
  tt.match(introspector.stats(), { networkCalls: 1, hits: 1, misses: 1, failures: 0 });

  await introspector.introspect('unknown');
  await introspector.introspect('unknown');
  tt.equal(as.calls.length, 2, 'inactive answer cached');
  const noNegative = client(tt, as, { negativeCacheTtlSeconds: 0 });
  await noNegative.introspect('unknown');
  await noNegative.introspect('unknown');
  tt.equal(noNegative.stats().networkCalls, 2, 'negativeCacheTtlSeconds: 0 caches no inactive answer');

  tt.equal(tokenKey(token).length, 43, 'the cache key is a SHA-256 (base64url), not the token');
  tt.not(tokenKey(token), token);
});

t.test('SPEC §5: TTL = min(cacheTtlSeconds, exp − now), on the injected clock', async (tt) => {
  const { pki } = await testPki();
  const as = await startMockAs(tt, { clientSecret: 's3cret' });
  let now = Date.now();
  const introspector = client(tt, as, { cacheTtlSeconds: 60, now: () => now });
  const soon = as.issue({ ...tokenClaims({ boundTo: pki.client1.cert, scope: 'accounts' }), exp: Math.floor(now / 1000) + 2 });
  await introspector.introspect(soon);
  const expMs = (Math.floor(now / 1000) + 2) * 1000;
  now = expMs - 1;
  await introspector.introspect(soon);
  tt.equal(as.calls.length, 1, 'served from the cache until just before exp');
  now = expMs;
  await introspector.introspect(soon);
  tt.equal(as.calls.length, 2, 'never served past exp although cacheTtlSeconds is 60');

  now = Date.now();
  const short = client(tt, as, { cacheTtlSeconds: 1, now: () => now });
  const long = as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'accounts', expiresIn: 3600 }));
  await short.introspect(long);
  now += 999;
  await short.introspect(long);
  now += 1;
  await short.introspect(long);
  tt.equal(short.stats().networkCalls, 2, 'a long-lived token is re-introspected after cacheTtlSeconds');
});

t.test('SPEC §5: bounded cache; concurrent misses for one token share one call', async (tt) => {
  const { pki } = await testPki();
  const as = await startMockAs(tt, { clientSecret: 's3cret' });
  const introspector = client(tt, as, { cacheMaxEntries: 2 });
  const [a, b, c] = [1, 2, 3].map(() => as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'accounts' }))) as [string, string, string];
  await introspector.introspect(a);
  await introspector.introspect(b);
  await introspector.introspect(c);
  tt.equal(introspector.stats().size, 2, 'never more than cacheMaxEntries');
  await introspector.introspect(a);
  tt.equal(as.calls.length, 4, 'the evicted token is introspected again');

  const fresh = as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'accounts' }));
  const answers = await Promise.all(Array.from({ length: 25 }, () => introspector.introspect(fresh)));
  tt.equal(as.calls.filter((call) => call.params.token === fresh).length, 1, '25 concurrent misses, one call');
  tt.ok(answers.every((x) => x === answers[0] && x.active));
  tt.equal(introspector.stats().coalesced, 24);
});

t.test('SPEC §5 fail closed: every way the AS can fail → ServiceUnavailableError, never cached', async (tt) => {
  const as = await startMockAs(tt, { clientSecret: 's3cret' });
  const introspector = client(tt, as, { timeoutMs: 200 });
  const token = as.issue({ active: true, scope: 'accounts', exp: Math.floor(Date.now() / 1000) + 60 });
  for (const mode of ['error', 'html', 'no-active', 'reset', 'hang'] as const) {
    as.mode = mode;
    const started = Date.now();
    await tt.rejects(introspector.introspect(token), ServiceUnavailableError, mode);
    tt.ok(Date.now() - started < 1500, `${mode}: within the timeout`);
  }
  as.mode = 'ok';
  tt.equal((await introspector.introspect(token)).active, true, 'recovers: failures were not cached');
  tt.match(introspector.stats(), { networkCalls: 6, failures: 5 });
  await as.close();
  await tt.rejects(client(tt, as).introspect(token), ServiceUnavailableError, 'AS down (connection refused)');
});

t.test('RFC 7662 answer parsing: scope string or array, cnf, client_id', async (tt) => {
  const as = await startMockAs(tt, { clientSecret: 's3cret' });
  const introspector = client(tt, as);
  const exp = Math.floor(Date.now() / 1000) + 60;
  const info = await introspector.introspect(as.issue({ scope: '  openid   accounts ', client_id: 'c1', exp, cnf: { 'x5t#S256': 'abc' } }));
  tt.same(info.scopes, ['openid', 'accounts']);
  tt.equal(info.scope, 'openid accounts');
  tt.equal(info.clientId, 'c1');
  tt.equal(info.thumbprint, 'abc');
  const arr = await introspector.introspect(as.issue({ scope: ['openid', 'payments'], exp }));
  tt.same(arr.scopes, ['openid', 'payments']);
  const inactive = await introspector.introspect(as.issue({ active: false, scope: 'accounts', client_id: 'c1' }));
  tt.same(inactive.claims, {}, 'nothing of an inactive answer is kept');
});
