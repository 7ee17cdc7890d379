// SPEC §4: on routes whose responses the gateway reads whole (jws.response, idempotency), timeoutMs
// bounds the whole response, not only its headers → 504. Real TLS, a raw upstream on 127.0.0.1.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { startRawUpstream } from '../helpers/upstream.js';
import { startJwsGateway, PAYMENTS, UNSIGNED_IDEMPOTENT } from '../helpers/jws-gateway.js';
import { requestClaims, signJws } from '../helpers/jws.js';

/** Headers at once, then 5 bytes every 50 ms for `ms` (undici's per-chunk bodyTimeout never fires). */
function trickle(socket: Socket, ms: number, chunked: boolean): void {
  const body = `{"data":{"x":"${'y'.repeat(Math.ceil(ms / 10))}"}}`;
  socket.write(
    `HTTP/1.1 201 Created\r\ncontent-type: application/json\r\netag: "t"\r\n${chunked ? 'transfer-encoding: chunked' : `content-length: ${body.length}`}\r\n\r\n`,
  );
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    const piece = body.slice(at, at + 5);
    at += 5;
    socket.write(chunked ? `${piece.length.toString(16)}\r\n${piece}\r\n` : piece);
    if (at >= body.length) {
      clearInterval(timer);
      if (chunked) socket.write('0\r\n\r\n');
    }
  }, 50);
  socket.on('close', () => clearInterval(timer));
}

t.test('regression: a signed response trickled 5 bytes per 50 ms held the client past timeoutMs → 504 at timeoutMs', async (tt) => {
  for (const chunked of [false, true]) {
    const upstream = await startRawUpstream(tt, (socket) => trickle(socket, 5000, chunked));
    const g = await startJwsGateway(tt, upstream.url, { timeoutMs: 300 });
    const started = Date.now();
    const res = await g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS)), { headers: { 'x-idempotency-key': randomUUID() } });
    const took = Date.now() - started;
    const framing = chunked ? 'chunked' : 'Content-Length';
    tt.equal(res.status, 504, `${framing}: 504`);
    tt.equal(res.headers['content-type'], 'application/json; charset=utf-8', `${framing}: a plain OFB body (504 is not signed)`);
    tt.equal(res.json().errors[0]?.code, 'GATEWAY_TIMEOUT');
    tt.notOk(res.headers.etag, `${framing}: none of the upstream headers`);
    tt.ok(took >= 250 && took < 2000, `${framing}: answered at about timeoutMs (${took} ms), well before the trickle ends (5 s)`);
    tt.equal(upstream.requests.length, 1, `${framing}: sent once`);
  }
});

t.test('SPEC §4: the whole-response bound also holds on an idempotent route that is not signed', async (tt) => {
  const upstream = await startRawUpstream(tt, (socket) => trickle(socket, 5000, false));
  const g = await startJwsGateway(tt, upstream.url, { timeoutMs: 300 });
  const started = Date.now();
  const res = await g.post(UNSIGNED_IDEMPOTENT, JSON.stringify({ data: { a: 1 } }), { contentType: 'application/json', headers: { 'x-idempotency-key': randomUUID() } });
  tt.equal(res.status, 504);
  tt.equal(res.json().errors[0]?.code, 'GATEWAY_TIMEOUT');
  tt.ok(Date.now() - started < 2000);
});

t.test('SPEC §4: a response read whole within timeoutMs is not cut by the deadline, and the deadline does not outlive it', async (tt) => {
  // 6 pieces of 5 bytes at 50 ms ≈ 300 ms, inside a 1 s bound: signed and delivered.
  const upstream = await startRawUpstream(tt, (socket) => trickle(socket, 100, false));
  const g = await startJwsGateway(tt, upstream.url, { timeoutMs: 1000 });
  const res = await g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS)), { headers: { 'x-idempotency-key': randomUUID() } });
  tt.equal(res.status, 201);
  tt.equal(res.headers['content-type'], 'application/jwt');
  // A second request on the kept-alive upstream connection: an aborted deadline left behind would break it.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const again = await g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS)), { headers: { 'x-idempotency-key': randomUUID() } });
  tt.equal(again.status, 201);
});
