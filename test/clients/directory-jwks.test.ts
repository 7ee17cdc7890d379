// SPEC §2: directory JWKS cached per org, unknown kid refetched at most once per cooldown, stale
// served within a bound on outage, 503 without any key set (SPEC §5 fail closed).
import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { createDirectoryJwks, importSigningKeys, type DirectoryJwks } from '../../src/clients/directory-jwks.js';
import { generateOrgKey } from '../../src/dev/mock-directory.js';
import { BadSignatureError, ClientCertificateError, ServiceUnavailableError } from '../../src/errors.js';
import type { DirectoryConfig } from '../../src/config/schema.js';
import { startRestartableDirectory, startTestDirectory } from '../helpers/directory.js';
import { testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { startJwsGateway, CONSENTS } from '../helpers/jws-gateway.js';
import { requestClaims, signJws } from '../helpers/jws.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function client(tt: Teardown, jwksUri: string, overrides: Partial<DirectoryConfig> = {}) {
  const { dir } = await testPki();
  let now = 1_000_000;
  const warnings: string[] = [];
  const config: DirectoryConfig = { jwksUri, ca: `${dir}/ca.crt`, cacheTtlSeconds: 300, maxStaleSeconds: 3600, refetchCooldownSeconds: 60, timeoutMs: 2000, ...overrides };
  const jwks: DirectoryJwks = createDirectoryJwks(config, { now: () => now, onWarning: (m) => warnings.push(m) });
  tt.teardown(() => jwks.close());
  return { jwks, warnings, advance: (seconds: number) => (now += seconds * 1000) };
}

t.test('key sets are cached per org for cacheTtlSeconds; concurrent misses share one fetch', async (tt) => {
  const d = await startTestDirectory(tt);
  const { jwks, advance } = await client(tt, d.directory.jwksUri);
  const org1 = { orgId: d.org1.orgId };
  const keys = await Promise.all(Array.from({ length: 10 }, () => jwks.keysFor(org1, d.org1.kid)));
  tt.equal(keys[0]?.length, 1);
  tt.equal(d.directory.fetches(d.org1.orgId), 1, 'ten concurrent misses, one fetch');
  await jwks.keysFor(org1, d.org1.kid);
  advance(299);
  await jwks.keysFor(org1, d.org1.kid);
  tt.equal(d.directory.fetches(d.org1.orgId), 1, 'cached within the lifetime');
  advance(2);
  await jwks.keysFor(org1, d.org1.kid);
  tt.equal(d.directory.fetches(d.org1.orgId), 2, 'refetched once the lifetime is over');
  await jwks.keysFor({ orgId: d.org2.orgId }, d.org2.kid);
  tt.equal(d.directory.fetches(d.org2.orgId), 1, 'per org');
});

t.test('an unknown kid refetches at most once per cooldown (random kids cannot hammer the directory)', async (tt) => {
  const d = await startTestDirectory(tt);
  const { jwks, advance } = await client(tt, d.directory.jwksUri, { refetchCooldownSeconds: 60 });
  const org1 = { orgId: d.org1.orgId };
  await jwks.keysFor(org1, d.org1.kid);
  for (let i = 0; i < 20; i++) await tt.rejects(jwks.keysFor(org1, `random-${i}`), BadSignatureError);
  tt.equal(d.directory.fetches(d.org1.orgId), 1, 'no refetch right after a fetch');

  // The org rotates: a new key is published.
  const rotated = await generateOrgKey(d.org1.orgId, 'org1-rotated');
  d.directory.publish(d.org1.orgId, [d.org1.publicJwk, rotated.publicJwk]);
  await tt.rejects(jwks.keysFor(org1, rotated.kid), BadSignatureError, 'still within the cooldown');
  advance(61);
  const found = await jwks.keysFor(org1, rotated.kid);
  tt.equal(found.length, 1, 'after the cooldown the unknown kid triggers one refetch and is found');
  tt.equal(d.directory.fetches(d.org1.orgId), 2);
  await Promise.all(Array.from({ length: 20 }, (_, i) => tt.rejects(jwks.keysFor(org1, `again-${i}`), BadSignatureError)));
  tt.equal(d.directory.fetches(d.org1.orgId), 2, 'and no more until the next cooldown');
  advance(61);
  await Promise.all(Array.from({ length: 20 }, (_, i) => tt.rejects(jwks.keysFor(org1, `later-${i}`), BadSignatureError)));
  tt.equal(d.directory.fetches(d.org1.orgId), 3, 'concurrent unknown kids share one refetch');
});

t.test('directory outage: the cached set is served up to maxStaleSeconds, then 503', async (tt) => {
  const d = await startTestDirectory(tt);
  const { jwks, advance, warnings } = await client(tt, d.directory.jwksUri, { cacheTtlSeconds: 300, maxStaleSeconds: 600, refetchCooldownSeconds: 60 });
  const org1 = { orgId: d.org1.orgId };
  await jwks.keysFor(org1, d.org1.kid);
  d.directory.setDown(true);
  advance(301);
  tt.equal((await jwks.keysFor(org1, d.org1.kid)).length, 1, 'stale set served');
  tt.equal(d.directory.fetches(d.org1.orgId), 2, 'after asking the directory once');
  tt.match(warnings, ['directory unreachable: serving a cached key set']);
  await jwks.keysFor(org1, d.org1.kid);
  advance(30);
  await jwks.keysFor(org1, d.org1.kid);
  tt.equal(d.directory.fetches(d.org1.orgId), 2, 'not asked again within the cooldown');
  advance(31);
  await jwks.keysFor(org1, d.org1.kid);
  tt.equal(d.directory.fetches(d.org1.orgId), 3, 'asked again after the cooldown');
  advance(600);
  await tt.rejects(jwks.keysFor(org1, d.org1.kid), ServiceUnavailableError, 'past maxStaleSeconds: fail closed');
  d.directory.setDown(false);
  tt.equal((await jwks.keysFor(org1, d.org1.kid)).length, 1, 'recovers when the directory is back');
});

t.test('a kid rotated during a directory outage was a bad signature (400): now ServiceUnavailableError (503), the cached key still served', async (tt) => {
  for (const outage of ['connection refused', 'HTTP 503'] as const) {
    const d = await startRestartableDirectory(tt);
    const { jwks, advance } = await client(tt, d.directory.jwksUri, { cacheTtlSeconds: 300, refetchCooldownSeconds: 60 });
    const org1 = { orgId: d.org1.orgId };
    await jwks.keysFor(org1, d.org1.kid);
    advance(61);
    if (outage === 'HTTP 503') d.directory.setDown(true);
    else await d.stop();
    // The org rotates its key while the directory is unreachable.
    const rotated = await generateOrgKey(d.org1.orgId, 'org1-rotated');
    d.directory.publish(d.org1.orgId, [d.org1.publicJwk, rotated.publicJwk]);
    await tt.rejects(jwks.keysFor(org1, rotated.kid), ServiceUnavailableError, `${outage}: the directory could not say whether the kid exists → 503`);
    await tt.rejects(jwks.keysFor(org1, rotated.kid), ServiceUnavailableError, `${outage}: and again on the next request, never 400`);
    tt.equal((await jwks.keysFor(org1, d.org1.kid)).length, 1, `${outage}: the cached key keeps working`);
  }
});

t.test('after the outage an unknown kid stayed 400 for the refetch cooldown: now the first one refetches and finds the rotated key', async (tt) => {
  for (const outage of ['connection refused', 'HTTP 503'] as const) {
    const d = await startRestartableDirectory(tt);
    const { jwks, advance } = await client(tt, d.directory.jwksUri, { cacheTtlSeconds: 300, refetchCooldownSeconds: 60 });
    const org1 = { orgId: d.org1.orgId };
    await jwks.keysFor(org1, d.org1.kid);
    advance(61);
    if (outage === 'HTTP 503') d.directory.setDown(true);
    else await d.stop();
    const rotated = await generateOrgKey(d.org1.orgId, 'org1-rotated');
    d.directory.publish(d.org1.orgId, [d.org1.publicJwk, rotated.publicJwk]);
    await tt.rejects(jwks.keysFor(org1, rotated.kid), ServiceUnavailableError);
    advance(1);
    if (outage === 'HTTP 503') d.directory.setDown(false);
    else await d.start();
    const before = d.directory.fetches(d.org1.orgId);
    tt.equal((await jwks.keysFor(org1, rotated.kid)).length, 1, `${outage}: found at once, the failed fetch did not start the cooldown`);
    tt.equal(d.directory.fetches(d.org1.orgId), before + 1, `${outage}: with one refetch`);
    // The cooldown now runs from that successful fetch.
    await tt.rejects(jwks.keysFor(org1, 'random-kid'), BadSignatureError);
    tt.equal(d.directory.fetches(d.org1.orgId), before + 1, `${outage}: an unknown kid right after a successful fetch is a bad signature, no refetch`);
  }
});

t.test('an unknown kid during an outage is still a bad signature when a successful fetch is within the cooldown', async (tt) => {
  const d = await startRestartableDirectory(tt);
  const { jwks, advance } = await client(tt, d.directory.jwksUri, { refetchCooldownSeconds: 60 });
  const org1 = { orgId: d.org1.orgId };
  await jwks.keysFor(org1, d.org1.kid);
  await d.stop();
  advance(30);
  await tt.rejects(jwks.keysFor(org1, 'unknown'), BadSignatureError, 'the set fetched 30 s ago says the kid does not exist (SPEC §2: one within the cooldown)');
});

t.test('directory outage with an expired set and an unknown kid: one attempt, then 503 (not two fetches, not 400)', async (tt) => {
  const d = await startTestDirectory(tt);
  const { jwks, advance } = await client(tt, d.directory.jwksUri, { cacheTtlSeconds: 300, maxStaleSeconds: 600, refetchCooldownSeconds: 60 });
  const org1 = { orgId: d.org1.orgId };
  await jwks.keysFor(org1, d.org1.kid);
  d.directory.setDown(true);
  advance(301);
  await tt.rejects(jwks.keysFor(org1, 'rotated'), ServiceUnavailableError);
  tt.equal(d.directory.fetches(d.org1.orgId), 2, 'the expired set was asked for once');
  await Promise.all(Array.from({ length: 10 }, () => tt.rejects(jwks.keysFor(org1, 'rotated'), ServiceUnavailableError)));
  tt.ok(d.directory.fetches(d.org1.orgId) <= 3, 'concurrent unknown kids share one attempt');
  tt.equal((await jwks.keysFor(org1, d.org1.kid)).length, 1, 'the stale key keeps working');
});

t.test('no cached set and the directory down, hanging or unreachable → ServiceUnavailableError', async (tt) => {
  const d = await startTestDirectory(tt);
  d.directory.setDown(true);
  const down = await client(tt, d.directory.jwksUri);
  await tt.rejects(down.jwks.keysFor({ orgId: d.org1.orgId }, d.org1.kid), ServiceUnavailableError, 'HTTP 503');

  // Accepts TCP connections and never answers (not even the TLS handshake).
  const sockets: Socket[] = [];
  const hang = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  tt.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => hang.close(r));
  });
  const port = (hang.address() as { port: number }).port;
  const hanging = await client(tt, `https://127.0.0.1:${port}/{orgId}/application.jwks`, { timeoutMs: 200 });
  const started = Date.now();
  await tt.rejects(hanging.jwks.keysFor({ orgId: d.org1.orgId }, d.org1.kid), ServiceUnavailableError);
  tt.ok(Date.now() - started < 2000, 'bounded by timeoutMs');

  const untrusted = await client(tt, d.directory.jwksUri.replace('127.0.0.1', 'localhost'), { ca: undefined });
  await tt.rejects(untrusted.jwks.keysFor({ orgId: d.org1.orgId }, d.org1.kid), ServiceUnavailableError, 'directory certificate not trusted');
});

t.test('jwksUri {softwareId} placeholder', async (tt) => {
  const d = await startTestDirectory(tt);
  const { jwks } = await client(tt, `${d.directory.url}/{orgId}/application.jwks?software={softwareId}`);
  tt.equal((await jwks.keysFor({ orgId: d.org1.orgId, softwareId: 'sw-1' }, d.org1.kid)).length, 1);
  tt.equal(jwks.jwksUriFor({ orgId: 'a/b', softwareId: 's w' }), `${d.directory.url}/a%2Fb/application.jwks?software=s%20w`);
  tt.throws(() => jwks.jwksUriFor({ orgId: 'o' }), ClientCertificateError, 'a certificate without software_id cannot name the set');
});

t.test('only RSA keys usable for PS256 signatures are kept, public members only', async (tt) => {
  const rsa = await generateKeyPair('PS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const pub = await exportJWK(rsa.publicKey);
  const priv = await exportJWK(rsa.privateKey);
  const keys = await importSigningKeys([
    { ...pub, kid: 'plain' },
    { ...pub, kid: 'sig', use: 'sig', alg: 'PS256', key_ops: ['verify'] },
    { ...pub, kid: 'enc', use: 'enc' },
    { ...pub, kid: 'rs256', alg: 'RS256' },
    { ...pub, kid: 'ops', key_ops: ['encrypt'] },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec' },
    { kty: 'oct', k: 'c2VjcmV0', kid: 'oct' },
    { ...priv, kid: 'leaked-private' },
    { ...pub },
    { ...pub, kid: 'dup' },
    { ...pub, kid: 'dup' },
    'junk',
    null,
    { kty: 'RSA', kid: 'small', n: Buffer.alloc(128, 0xff).toString('base64url'), e: 'AQAB' },
    { kty: 'RSA', kid: 'broken', n: 42, e: 'AQAB' },
  ]);
  tt.same([...keys.keys()].sort(), ['dup', 'leaked-private', 'plain', 'sig']);
  tt.equal(keys.get('dup')?.length, 2, 'duplicate kids kept side by side (FAPI 1 Adv. §8.11)');
  tt.equal((keys.get('leaked-private')?.[0] as { type?: string }).type, 'public', 'a leaked private JWK is imported as its public key');
});

t.test('gateway: directory down with nothing cached → 503 SERVICE_UNAVAILABLE, nothing forwarded; stale set keeps serving', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url, { directory: { cacheTtlSeconds: 1, maxStaleSeconds: 60, refetchCooldownSeconds: 1 } });
  g.directory.setDown(true);
  const refused = await g.post(CONSENTS, await signJws(g.org1, requestClaims(g.org1, CONSENTS)));
  tt.equal(refused.status, 503);
  tt.equal(refused.json().errors[0]?.code, 'SERVICE_UNAVAILABLE');
  tt.equal(refused.json().errors[0]?.detail, 'a service the gateway depends on is unavailable; try again later');
  tt.equal(upstream.requests.length, 0);

  g.directory.setDown(false);
  tt.equal((await g.post(CONSENTS, await signJws(g.org1, requestClaims(g.org1, CONSENTS)))).status, 200);
  g.directory.setDown(true);
  await new Promise((r) => setTimeout(r, 1100));
  tt.equal((await g.post(CONSENTS, await signJws(g.org1, requestClaims(g.org1, CONSENTS)))).status, 200, 'expired set served stale');
  tt.equal(upstream.requests.length, 2);
});
