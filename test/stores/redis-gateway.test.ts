// SPEC §5 with `replay.store: redis`: jti recorded with one atomic SET NX PX 86400000, idempotency
// on the same store, Redis down → 503 and nothing forwarded; and two replicas sharing one Redis.
import t from 'tap';
import { Redis } from 'ioredis';
import { startUpstream } from '../helpers/upstream.js';
import { startJwsGateway, jwsGatewayYaml, postTo, CONSENTS, PAYMENTS, UNSIGNED_IDEMPOTENT } from '../helpers/jws-gateway.js';
import { startTestDirectory } from '../helpers/directory.js';
import { requestClaims, signJws, verifyBankJws, testBankKey } from '../helpers/jws.js';
import { skipWithoutRedis, startRedis } from '../helpers/redis.js';
import { startProcessGateway } from '../helpers/process-gateway.js';
import { testPki } from '../helpers/gateway.js';

const skip = skipWithoutRedis(t);
const redisReplay = (url: string, prefix = 'guarita:') => `  store: redis\n  url: ${url}\n  keyPrefix: '${prefix}'\n  timeoutMs: 300\n`;

t.test('jti replay and idempotency on Redis; one atomic SET NX PX 86400000 per jti', { skip }, async (tt) => {
  const redis = await startRedis(tt);
  const upstream = await startUpstream(tt, (_req, res) => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { n: upstream.requests.length } }));
  });
  // MONITOR first, while no other client talks to this Redis: a command of the gateway's client (its
  // ready-check INFO) echoed in the same read as MONITOR's OK made ioredis fail with "Command queue
  // state error" (a flaky CI run on Node 24).
  const client = new Redis(redis.url, { lazyConnect: true });
  const monitor = await client.monitor();
  const commands: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[]) => commands.push(args));
  for (const c of [client, monitor]) c.on('error', () => undefined);
  tt.teardown(() => {
    monitor.disconnect();
    client.disconnect();
  });
  const g = await startJwsGateway(tt, upstream.url, { replay: redisReplay(redis.url, 'gw:') });

  const claims = requestClaims(g.org1, CONSENTS);
  tt.equal((await g.post(CONSENTS, await signJws(g.org1, claims))).status, 201);
  const sets = commands.filter((c) => c[0]?.toLowerCase() === 'set');
  tt.same(sets, [[ 'set', `gw:jti:${encodeURIComponent(g.org1.orgId)}:${String(claims.jti)}`, '1', 'PX', '86400000', 'NX' ]], 'exactly one SET NX PX 86400000');
  const again = await g.post(CONSENTS, await signJws(g.org1, claims));
  tt.equal(again.status, 403);
  tt.equal(again.json().errors[0]?.code, 'INVALID_CLIENT');

  const data = { payment: { amount: '1.00' } };
  const idem = { headers: { 'x-idempotency-key': 'redis-key' } };
  const first = await g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS, { data })), idem);
  const retry = await g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS, { data })), idem);
  tt.equal(retry.status, 201);
  tt.same((await verifyBankJws(retry.body, g.bank)).claims.data, (await verifyBankJws(first.body, g.bank)).claims.data);
  tt.equal(upstream.requests.length, 2, 'the retry was replayed from Redis');
});

t.test('Redis stopped mid-test → 503 SERVICE_UNAVAILABLE, nothing forwarded; back → served again', { skip }, async (tt) => {
  const redis = await startRedis(tt);
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url, { replay: redisReplay(redis.url) });
  tt.equal((await g.post(CONSENTS, await signJws(g.org1, requestClaims(g.org1, CONSENTS)))).status, 200);
  tt.equal(upstream.requests.length, 1);

  await redis.stop();
  const signed = await g.post(CONSENTS, await signJws(g.org1, requestClaims(g.org1, CONSENTS)));
  tt.equal(signed.status, 503, 'jti cannot be recorded');
  tt.equal(signed.json().errors[0]?.code, 'SERVICE_UNAVAILABLE');
  const unsigned = await g.post(UNSIGNED_IDEMPOTENT, '{"data":{}}', { contentType: 'application/json', headers: { 'x-idempotency-key': 'down' } });
  tt.equal(unsigned.status, 503, 'idempotency key cannot be taken');
  tt.equal(unsigned.json().errors[0]?.code, 'SERVICE_UNAVAILABLE');
  tt.equal(upstream.requests.length, 1, 'nothing forwarded while Redis is down');

  await redis.start();
  let status = 0;
  for (let i = 0; i < 60 && status !== 200; i++) {
    status = (await g.post(CONSENTS, await signJws(g.org1, requestClaims(g.org1, CONSENTS)))).status;
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  tt.equal(status, 200, 'served again once Redis is back');
});

t.test('two gateway processes sharing one Redis: a jti accepted by one is refused by the other; an idempotency key replays across', { skip }, async (tt) => {
  const redis = await startRedis(tt);
  const upstream = await startUpstream(tt, (_req, res) => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { paymentId: `p-${upstream.requests.length}` } }));
  });
  const directory = await startTestDirectory(tt);
  const yaml = await jwsGatewayYaml(upstream.url, directory, { replay: redisReplay(redis.url) });
  const [a, b] = await Promise.all([startProcessGateway(tt, yaml), startProcessGateway(tt, yaml)]);
  tt.not(a.pid, b.pid, 'two processes');
  const { pki } = await testPki();
  const post = (port: number, path: string, body: string, headers: Record<string, string> = {}) => postTo(port, pki.ca.cert, pki.client1, path, body, { headers });

  const claims = requestClaims(directory.org1, CONSENTS);
  tt.equal((await post(a.port, CONSENTS, await signJws(directory.org1, claims))).status, 201, 'replica A accepts');
  const replayed = await post(b.port, CONSENTS, await signJws(directory.org1, claims));
  tt.equal(replayed.status, 403, 'replica B refuses the same jti');
  tt.equal(replayed.json().errors[0]?.code, 'INVALID_CLIENT');
  tt.equal(upstream.requests.length, 1);

  const data = { payment: { amount: '42.00' } };
  const key = { 'x-idempotency-key': 'cross-replica' };
  const first = await post(a.port, PAYMENTS, await signJws(directory.org1, requestClaims(directory.org1, PAYMENTS, { data })), key);
  tt.equal(first.status, 201);
  const retry = await post(b.port, PAYMENTS, await signJws(directory.org1, requestClaims(directory.org1, PAYMENTS, { data })), key);
  tt.equal(retry.status, 201, 'replica B replays what replica A stored');
  const bank = await testBankKey();
  tt.same((await verifyBankJws(retry.body, bank)).claims.data, (await verifyBankJws(first.body, bank)).claims.data);
  tt.equal(upstream.requests.length, 2, 'upstream called once for the key');
  const conflict = await post(b.port, PAYMENTS, await signJws(directory.org1, requestClaims(directory.org1, PAYMENTS, { data: { other: true } })), key);
  tt.equal(conflict.status, 422, 'different data on the other replica');
});
