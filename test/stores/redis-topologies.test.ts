// SPEC §5 / §10 on Redis Sentinel and Redis Cluster: the replay store (jtis, idempotency) and the
// traffic-limit counters against REAL processes — a master + replica + sentinel, and a 3-node
// cluster built with `redis-cli --cluster create` — plus the `replay` configuration rule (exactly one
// of url / sentinels / cluster).
import t from 'tap';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { createReplayStore } from '../../src/stores/index.js';
import type { ReplayStore } from '../../src/stores/types.js';
import { ServiceUnavailableError } from '../../src/errors.js';
import { serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { startJwsGateway, CONSENTS, PAYMENTS } from '../helpers/jws-gateway.js';
import { requestClaims, signJws } from '../helpers/jws.js';
import { redisCli, skipWithoutRedis, startCluster, startSentinel } from '../helpers/redis.js';

const skip = skipWithoutRedis(t);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Asserts {
  equal(found: unknown, wanted: unknown, message: string): unknown;
  ok(value: unknown, message: string): unknown;
  notOk(value: unknown, message: string): unknown;
}

/** The ReplayStore contract and the counter operations, on one store. */
async function contract(tt: Asserts, store: ReplayStore): Promise<void> {
  await store.ping();
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => store.setIfAbsent('jti:org:1', `v${i}`, 60_000)));
  tt.equal(results.filter(Boolean).length, 1, 'of 30 concurrent setIfAbsent with one jti exactly one wins');
  tt.notOk(await store.setIfAbsent('jti:org:1', 'replayed', 60_000), 'the jti replayed is refused');
  tt.equal(await store.get('jti:org:1'), `v${results.indexOf(true)}`, 'get: the winner’s value');
  await store.set('idem:k', 'response', 60_000);
  tt.equal(await store.get('idem:k'), 'response', 'set / get');
  await store.delete('idem:k');
  tt.equal(await store.get('idem:k'), undefined, 'delete');
  tt.ok(await store.setIfAbsent('short', 'x', 100), 'short-lived entry');
  await sleep(200);
  tt.equal(await store.get('short'), undefined, 'expires after its TTL');

  tt.equal(await store.increment('lim:m:1', 60_000), 1, 'increment creates the counter');
  tt.equal(await store.increment('lim:m:1', 60_000), 2, 'increment counts');
  const reserved = await Promise.all(Array.from({ length: 20 }, () => store.reserve('lim:c:1', 5, 60_000)));
  tt.equal(reserved.filter(Boolean).length, 5, 'reserve: 20 concurrent against a limit of 5 → exactly 5');
  tt.notOk(await store.reserve('lim:c:1', 5, 60_000), 'the limit is reached');
  await store.release('lim:c:1');
  tt.ok(await store.reserve('lim:c:1', 5, 60_000), 'release frees one place');
  tt.notOk(await store.reserve('lim:c:1', 5, 60_000), '... exactly one');
  await store.release('lim:never');
  tt.ok(await store.reserve('lim:never', 1, 60_000), 'release of a missing counter does not create a negative one');
  tt.notOk(await store.reserve('lim:never', 1, 60_000), '... the limit of 1 holds');
}

t.test('Redis Sentinel: the store and the counters on the master the sentinel names; a failover is followed', { skip, timeout: 60_000 }, async (tt) => {
  const sentinel = await startSentinel(tt);
  const errors: Error[] = [];
  const store = createReplayStore(
    { store: 'redis', maxEntries: 1, maxBytes: 1 << 20, keyPrefix: 'topo:', timeoutMs: 500, sentinels: [...sentinel.sentinels], sentinelName: sentinel.name },
    (e) => errors.push(e),
  );
  tt.teardown(() => store.close());
  await contract(tt, store);
  tt.equal(await redisCli(sentinel.masterPort, 'get', 'topo:jti:org:1').then((s) => s.trim() !== ''), true, 'the jti is on the master, under the key prefix');

  // The jti reaches the replica, then the master dies and the sentinel promotes the replica.
  const deadline = Date.now() + 5_000;
  while ((await redisCli(sentinel.replicaPort, 'get', 'topo:jti:org:1')).trim() === '' && Date.now() < deadline) await sleep(50);
  await sentinel.failover();
  let after: boolean | undefined;
  const until = Date.now() + 15_000;
  while (after === undefined && Date.now() < until) {
    try {
      after = await store.setIfAbsent('jti:org:1', 'after failover', 60_000);
    } catch (err) {
      tt.ok(err instanceof ServiceUnavailableError, 'during the failover: refused with 503 (fail closed), never let through');
      await sleep(200);
    }
  }
  tt.equal(after, false, 'after the failover the jti recorded before it is still refused (on the promoted replica)');
  tt.ok(await store.setIfAbsent('jti:org:2', 'new', 60_000), 'a new jti is recorded on the new master');
  tt.equal((await redisCli(sentinel.replicaPort, 'get', 'topo:jti:org:2')).trim(), 'new', '... which is the former replica');
  tt.ok(errors.length >= 1, `the outage was reported (${errors.length} error(s))`);
  tt.match(errors[0]?.message ?? '', `sentinel master ${sentinel.name} via 127.0.0.1:`, 'naming the sentinel group');
});

t.test('Redis Cluster: the store and the counters over 3 nodes; keys spread over the slots', { skip, timeout: 60_000 }, async (tt) => {
  const cluster = await startCluster(tt);
  const store = createReplayStore({ store: 'redis', maxEntries: 1, maxBytes: 1 << 20, keyPrefix: 'topo:', timeoutMs: 1000, cluster: [...cluster.urls] });
  tt.teardown(() => store.close());
  await contract(tt, store);
  const fresh = await Promise.all(Array.from({ length: 30 }, (_, i) => store.setIfAbsent(`jti:spread:${i}`, 'x', 60_000)));
  tt.equal(fresh.filter(Boolean).length, 30, '30 distinct jtis recorded');
  const sizes = await Promise.all(cluster.ports.map(async (p) => Number((await redisCli(p, 'dbsize')).trim())));
  tt.ok(
    sizes.every((n) => n > 0),
    `every node holds keys (${sizes.join(', ')}): the client sends each key to the node owning its slot`,
  );
  // A seed list naming one node is enough: the client discovers the others.
  const one = createReplayStore({ store: 'redis', maxEntries: 1, maxBytes: 1 << 20, keyPrefix: 'topo:', timeoutMs: 1000, cluster: [cluster.urls[0] ?? ''] });
  tt.teardown(() => one.close());
  const replayed = await Promise.all(Array.from({ length: 30 }, (_, i) => one.setIfAbsent(`jti:spread:${i}`, 'y', 60_000)));
  tt.equal(replayed.filter(Boolean).length, 0, 'the 30 jtis replayed through another client seeded with one node: all refused');
});

t.test('Redis Cluster with a password in the seed URLs', { skip, timeout: 60_000 }, async (tt) => {
  const cluster = await startCluster(tt, ['--requirepass', 's3cret', '--masterauth', 's3cret']);
  const wrong = createReplayStore({ store: 'redis', maxEntries: 1, maxBytes: 1 << 20, keyPrefix: 'pw:', timeoutMs: 500, cluster: cluster.urls.map((u) => u.replace('//', '//:nope@')) }, () => undefined);
  tt.teardown(() => wrong.close());
  await tt.rejects(wrong.setIfAbsent('jti:1', 'x', 60_000), ServiceUnavailableError, 'a wrong password: refused with 503 (fail closed)');
  const store = createReplayStore({ store: 'redis', maxEntries: 1, maxBytes: 1 << 20, keyPrefix: 'pw:', timeoutMs: 1000, cluster: cluster.urls.map((u) => u.replace('//', '//:s3cret@')) });
  tt.teardown(() => store.close());
  tt.ok(await store.setIfAbsent('jti:1', 'x', 60_000), 'recorded with the password from the URL');
  tt.notOk(await store.setIfAbsent('jti:1', 'x', 60_000), 'replayed: refused');
  tt.ok(await store.reserve('lim:c:1', 1, 60_000), 'the counter scripts run too');
});

t.test('a cluster that cannot be reached: every command refused with 503 within the timeout', { timeout: 20_000 }, async (tt) => {
  const errors: Error[] = [];
  const store = createReplayStore({ store: 'redis', maxEntries: 1, maxBytes: 1 << 20, keyPrefix: 'x:', timeoutMs: 300, cluster: ['redis://127.0.0.1:1'] }, (e) => errors.push(e));
  tt.teardown(() => store.close());
  for (const op of [async () => void (await store.setIfAbsent('jti:1', 'x', 60_000)), async () => void (await store.reserve("lim:1", 5, 60_000)), () => store.ping()]) {
    const started = Date.now();
    await tt.rejects(op(), ServiceUnavailableError);
    tt.ok(Date.now() - started < 1_000, `refused within the bound (${Date.now() - started} ms)`);
  }
  await sleep(300);
  tt.ok(errors.length <= 1, `the outage logged once, not per retry (${errors.length})`);
});

t.test('gateway end to end on replay.cluster: a jti replayed to another replica is refused; idempotency shared', { skip, timeout: 60_000 }, async (tt) => {
  const cluster = await startCluster(tt);
  const upstream = await startUpstream(tt, (_req, res) => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { n: upstream.requests.length } }));
  });
  const replay = `  store: redis\n  cluster: [${cluster.urls.join(', ')}]\n  keyPrefix: 'e2e:'\n  timeoutMs: 1000\n`;
  const a = await startJwsGateway(tt, upstream.url, { replay });
  const b = await startJwsGateway(tt, upstream.url, { replay });
  const claims = requestClaims(a.org1, CONSENTS);
  tt.equal((await a.post(CONSENTS, await signJws(a.org1, claims))).status, 201, 'replica A: accepted');
  const again = await b.post(CONSENTS, await signJws(b.org1, claims));
  tt.equal(again.status, 403, 'the same jti on replica B: refused');
  tt.equal(again.json().errors[0]?.code, 'INVALID_CLIENT');
  const data = { payment: { amount: '1.00' } };
  const idem = { headers: { 'x-idempotency-key': 'cluster-key' } };
  tt.equal((await a.post(PAYMENTS, await signJws(a.org1, requestClaims(a.org1, PAYMENTS, { data })), idem)).status, 201);
  tt.equal((await b.post(PAYMENTS, await signJws(b.org1, requestClaims(b.org1, PAYMENTS, { data })), idem)).status, 201, 'the retry on B');
  tt.equal(upstream.requests.length, 2, 'the retry was answered from the cluster, not forwarded');
});

// The ACL users docs/operations.md documents ("Redis, with a password and TLS") are enough, and no more
// than the key prefix is reachable.
const DATA_ACL = ['on', '>pw', 'resetkeys', '~acl:*', 'resetchannels', '-@all', '+set', '+get', '+del', '+ping', '+info', '+evalsha', '+eval', '+incr', '+decr', '+pexpire'];

async function aclContract(tt: Asserts, store: ReplayStore, outside: ReplayStore): Promise<void> {
  tt.ok(await store.setIfAbsent('jti:1', 'x', 60_000), 'SET NX allowed');
  tt.notOk(await store.setIfAbsent('jti:1', 'x', 60_000), 'the replay refused');
  await store.set('idem', 'v', 60_000);
  tt.equal(await store.get('idem'), 'v', 'GET');
  await store.delete('idem');
  await store.ping();
  tt.equal(await store.increment('c', 60_000), 1, 'the increment script (EVALSHA → INCR, PEXPIRE)');
  tt.ok(await store.reserve('r', 1, 60_000), 'the reserve script');
  await store.release('r');
  tt.ok(await store.reserve('r', 1, 60_000), 'the release script (DECR)');
  const refused = await outside.setIfAbsent('jti:1', 'x', 60_000).then(() => undefined, (err: unknown) => err);
  tt.ok(refused instanceof ServiceUnavailableError, 'a key outside the prefix: NOPERM → 503');
}

t.test('the documented ACL users suffice: Redis Cluster and Redis Sentinel', { skip, timeout: 60_000 }, async (tt) => {
  const cluster = await startCluster(tt);
  for (const p of cluster.ports) await redisCli(p, 'ACL', 'SETUSER', 'guarita', ...DATA_ACL, '+cluster|slots', '+cluster|info');
  const urls = cluster.urls.map((u) => u.replace('//', '//guarita:pw@'));
  const inCluster = (keyPrefix: string) => createReplayStore({ store: 'redis', maxEntries: 1, maxBytes: 1 << 20, keyPrefix, timeoutMs: 1000, cluster: urls }, () => undefined);
  const [c, cOut] = [inCluster('acl:'), inCluster('other:')];
  tt.teardown(() => Promise.all([c.close(), cOut.close()]));
  await aclContract(tt, c, cOut);

  const sentinel = await startSentinel(tt);
  for (const p of [sentinel.masterPort, sentinel.replicaPort]) await redisCli(p, 'ACL', 'SETUSER', 'guarita', ...DATA_ACL);
  const sp = sentinel.sentinels[0]?.port ?? 0;
  await redisCli(sp, 'ACL', 'SETUSER', 'guarita-sentinel', 'on', '>spw', '-@all', '+auth', '+ping', '+sentinel|get-master-addr-by-name', '+sentinel|sentinels', '+sentinel|slaves');
  await redisCli(sp, 'ACL', 'SETUSER', 'default', 'off');
  const viaSentinel = (keyPrefix: string) =>
    createReplayStore(
      {
        store: 'redis', maxEntries: 1, maxBytes: 1 << 20, keyPrefix, timeoutMs: 1000, sentinels: [...sentinel.sentinels], sentinelName: sentinel.name,
        sentinelUsername: 'guarita-sentinel', sentinelPassword: 'spw', username: 'guarita', password: 'pw',
      },
      () => undefined,
    );
  const [s, sOut] = [viaSentinel('acl:'), viaSentinel('other:')];
  tt.teardown(() => Promise.all([s.close(), sOut.close()]));
  await aclContract(tt, s, sOut);
});

/** The ConfigError of a configuration with this `replay` section (the certificate files exist). */
async function errorOf(replay: string): Promise<ConfigError> {
  const { dir } = await testPki();
  const text = `${serverBlock(dir)}replay: ${replay}\nroutes:\n  - path: /open-banking/products-services/v1\n    upstream: http://127.0.0.1:9001\n    mtls: none\n`;
  try {
    parseConfig(text, join(dir, 'routes.yaml'), {});
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('configuration: exactly one of url / sentinels / cluster with store: redis', async (tt) => {
  const none = await errorOf('{ store: redis }');
  tt.match(none.message, /replay: store: redis needs exactly one of `url`, `sentinels` \(with `sentinelName`\) or `cluster`/);
  const both = await errorOf('{ store: redis, url: "redis://r:6379", cluster: ["redis://c:6379"] }');
  tt.equal(both.key, 'replay.cluster');
  tt.match(both.message, /`url` and `cluster` are exclusive/);
  const three = await errorOf('{ store: redis, sentinels: [{ host: s, port: 26379 }], sentinelName: m, cluster: ["redis://c:6379"] }');
  tt.equal(three.key, 'replay.cluster');
  const noName = await errorOf('{ store: redis, sentinels: [{ host: s, port: 26379 }] }');
  tt.equal(noName.key, 'replay.sentinelName');
  tt.match(noName.message, /`sentinels` needs `sentinelName`/);
  const stray = await errorOf('{ store: redis, url: "redis://r:6379", password: p }');
  tt.equal(stray.key, 'replay.password');
  tt.match(stray.message, /only used with `sentinels`/);
  const mixed = await errorOf('{ store: redis, cluster: ["redis://a:1@c1:6379", "rediss://a:1@c2:6379"] }');
  tt.equal(mixed.key, 'replay.cluster[1]');
  tt.match(mixed.message, /same scheme and credentials/);
  const badPort = await errorOf('{ store: redis, sentinels: [{ host: s, port: 0 }], sentinelName: m }');
  tt.match(badPort.key, /^replay\.sentinels\[0\]\.port/);
});
