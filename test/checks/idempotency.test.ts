// SPEC §1 row 10: x-idempotency-key — required, per client, compared on the decoded data (or the
// JSON body), 2xx replayed for 24 h, a different request refused, concurrent duplicates never forwarded twice.
import t from 'tap';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startUpstream } from '../helpers/upstream.js';
import { startJwsGateway, PAYMENTS, UNSIGNED_IDEMPOTENT } from '../helpers/jws-gateway.js';
import { requestClaims, signJws, verifyBankJws } from '../helpers/jws.js';

/** An upstream creating a numbered resource per request (201), optionally slow or failing. */
function creating(options: { delayMs?: number; status?: () => number } = {}) {
  let n = 0;
  return (_req: IncomingMessage, res: ServerResponse) => {
    n++;
    const id = n;
    setTimeout(() => {
      const status = options.status?.() ?? 201;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-upstream': 'yes' });
      res.end(JSON.stringify({ data: { paymentId: `p-${id}`, status: 'RCVD' } }));
    }, options.delayMs ?? 0);
  };
}

const json = (value: unknown) => JSON.stringify(value);

t.test('the key is required and well-formed (unsigned route: plain OFB errors)', async (tt) => {
  const upstream = await startUpstream(tt, creating());
  const g = await startJwsGateway(tt, upstream.url);
  const post = (headers: Record<string, string>) => g.post(UNSIGNED_IDEMPOTENT, json({ data: { a: 1 } }), { contentType: 'application/json', headers });
  const missing = await post({});
  tt.equal(missing.status, 422);
  tt.equal(missing.json().errors[0]?.code, 'PARAMETRO_NAO_INFORMADO');
  tt.equal(missing.json().errors[0]?.detail, 'x-idempotency-key header is required');
  const long = await post({ 'x-idempotency-key': 'k'.repeat(41) });
  tt.equal(long.status, 422);
  tt.equal(long.json().errors[0]?.code, 'PARAMETRO_INVALIDO');
  tt.equal(long.json().errors[0]?.detail, 'x-idempotency-key must have 1 to 40 characters, without leading or trailing white space');
  // HTTP/1.1 parsers strip leading/trailing white space from field values, so only an empty value can be sent.
  const empty = await post({ 'x-idempotency-key': '' });
  tt.equal(empty.status, 422);
  tt.equal(empty.json().errors[0]?.code, 'PARAMETRO_NAO_INFORMADO', 'an empty key is a key not provided');
  tt.equal(upstream.requests.length, 0, 'nothing forwarded');
  tt.equal((await post({ 'x-idempotency-key': 'k'.repeat(40) })).status, 201, '40 characters are fine');
  tt.equal((await post({ 'x-idempotency-key': 'a b' })).status, 201, 'inner white space is fine');
});

t.test('signed route: a retry with the same key and data but a new jti/iat replays the stored response; upstream called once', async (tt) => {
  const upstream = await startUpstream(tt, creating());
  const g = await startJwsGateway(tt, upstream.url);
  const key = 'idem-retry-1';
  const data = { payment: { amount: '10.00', currency: 'BRL' }, creditorAccount: { ispb: '12345678', number: '1' } };
  const first = await g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS, { data })), { headers: { 'x-idempotency-key': key } });
  tt.equal(first.status, 201);
  // Members in another order: the comparison is on the decoded data, not on its bytes.
  const reordered = { creditorAccount: { number: '1', ispb: '12345678' }, payment: { currency: 'BRL', amount: '10.00' } };
  const retry = await g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS, { data: reordered })), { headers: { 'x-idempotency-key': key } });
  tt.equal(retry.status, 201, 'replayed status');
  tt.equal(retry.headers['content-type'], 'application/jwt');
  const a = await verifyBankJws(first.body, g.bank);
  const b = await verifyBankJws(retry.body, g.bank);
  tt.same(b.claims.data, a.claims.data, 'the stored body');
  tt.same(b.claims.data, { paymentId: 'p-1', status: 'RCVD' });
  tt.not(b.claims.jti, a.claims.jti, 'a replayed response is signed afresh');
  tt.equal(upstream.requests.length, 1, 'upstream called once');

  const other = await g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS, { data: { ...data, payment: { amount: '11.00', currency: 'BRL' } } })), {
    headers: { 'x-idempotency-key': key },
  });
  tt.equal(other.status, 422, 'same key, different data');
  tt.equal(other.headers['content-type'], 'application/jwt', "the gateway's own 422 is signed on jws.response routes");
  const refusal = await verifyBankJws(other.body, g.bank);
  tt.match(refusal.claims, {
    errors: [{ code: 'ERRO_IDEMPOTENCIA', detail: 'the message content (claim data) differs from the content stored under this x-idempotency-key' }],
    meta: { requestDateTime: /Z$/ },
    aud: g.org1.orgId,
    iss: g.bank.orgId,
  });
  tt.equal(upstream.requests.length, 1);

  const otherClient = await g.post(PAYMENTS, await signJws(g.org2, requestClaims(g.org2, PAYMENTS, { data })), { cert: g.gw.pki.client2, headers: { 'x-idempotency-key': key } });
  tt.equal(otherClient.status, 201, 'keys are per client: another client never gets this response');
  tt.same((await verifyBankJws(otherClient.body, g.bank)).claims.data, { paymentId: 'p-2', status: 'RCVD' });
  tt.equal(upstream.requests.length, 2);
});

t.test('only 2xx responses are stored; an upstream failure frees the key', async (tt) => {
  const statuses = [422, 502, 201];
  let fail = true;
  const upstream = await startUpstream(tt, (req, res, body) => {
    if (fail) {
      fail = false;
      req.socket.destroy();
      return;
    }
    creating({ status: () => statuses.shift() ?? 201 })(req, res);
    void body;
  });
  const g = await startJwsGateway(tt, upstream.url);
  const post = () => g.post(UNSIGNED_IDEMPOTENT, json({ data: { n: 1 } }), { contentType: 'application/json', headers: { 'x-idempotency-key': 'k-status' } });
  tt.equal((await post()).status, 502, 'upstream reset');
  tt.equal((await post()).status, 422, 'forwarded again: the failure was not stored');
  tt.equal((await post()).status, 502, 'forwarded again: a 422 is not stored');
  tt.equal((await post()).status, 201);
  tt.equal((await post()).status, 201, 'replayed');
  tt.equal(upstream.requests.length, 4);
});

t.test('concurrent duplicates: one reaches upstream, the others get 409 until the first is stored, then a replay', async (tt) => {
  const upstream = await startUpstream(tt, creating({ delayMs: 300 }));
  const g = await startJwsGateway(tt, upstream.url);
  const data = { payment: { amount: '5.00' } };
  const bodies = await Promise.all(Array.from({ length: 5 }, () => signJws(g.org1, requestClaims(g.org1, PAYMENTS, { data }))));
  const results = await Promise.all(bodies.map((b) => g.post(PAYMENTS, b, { headers: { 'x-idempotency-key': 'concurrent' } })));
  tt.same(results.map((r) => r.status).sort(), [201, 409, 409, 409, 409]);
  const conflict = results.find((r) => r.status === 409)!;
  tt.equal(conflict.json().errors[0]?.code, 'ERRO_IDEMPOTENCIA');
  tt.equal(conflict.json().errors[0]?.detail, 'a request with this x-idempotency-key is still being processed; retry later');
  tt.equal(conflict.headers['retry-after'], '1');
  tt.equal(upstream.requests.length, 1, 'never forwarded twice');
  const after = await g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS, { data })), { headers: { 'x-idempotency-key': 'concurrent' } });
  tt.equal(after.status, 201, 'replayed once stored');
  tt.equal(upstream.requests.length, 1);
});

t.test('unsigned route: compared on the JSON body; one key is one request (method and path)', async (tt) => {
  const upstream = await startUpstream(tt, creating());
  const g = await startJwsGateway(tt, upstream.url);
  const post = (body: string, key = 'k-json') => g.post(UNSIGNED_IDEMPOTENT, body, { contentType: 'application/json', headers: { 'x-idempotency-key': key } });
  const first = await post('{"data":{"a":1,"b":[1,2]}}');
  tt.equal(first.status, 201);
  const same = await post('{ "data" : { "b" : [1, 2], "a" : 1 } }');
  tt.equal(same.status, 201);
  tt.equal(same.body, first.body, 'stored body replayed byte for byte');
  tt.equal(same.headers['content-type'], 'application/json; charset=utf-8', 'with its content type');
  tt.equal(upstream.requests[0]?.body.toString(), '{"data":{"a":1,"b":[1,2]}}', 'the JSON body is forwarded unchanged');
  const otherMeta = await post('{"data":{"a":1,"b":[1,2]},"meta":{"x":2}}');
  tt.equal(otherMeta.status, 201, 'SPEC §1 row 10: compared on data — other members do not matter');
  tt.equal(upstream.requests.length, 1, 'replayed, not forwarded');
  const different = await post('{"data":{"a":1,"b":[2,1]}}');
  tt.equal(different.status, 422);
  tt.equal(different.json().errors[0]?.code, 'ERRO_IDEMPOTENCIA');
  tt.equal(upstream.requests.length, 1);

  const elsewhere = await g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS, { data: { a: 1, b: [1, 2] } })), { headers: { 'x-idempotency-key': 'k-json' } });
  tt.equal(elsewhere.status, 422, 'the same key on another endpoint');
  tt.equal((await verifyBankJws(elsewhere.body, g.bank)).claims.errors instanceof Array, true);
  tt.equal(upstream.requests.length, 1);
});
