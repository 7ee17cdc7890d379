// SPEC §4: an upstream response that is not valid HTTP/1.1 — bad status line, bad header, bad framing,
// bad chunk, reset mid-headers — is a 502 in the OFB shape, never a 500 and never a success that
// looks complete. Real TLS to a real gateway; a raw TCP upstream on 127.0.0.1 writes the bytes.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { startTestGateway, serverBlock, testPki, type TestGateway } from '../helpers/gateway.js';
import { startRawUpstream, type RawScript } from '../helpers/upstream.js';
import type { OfbErrorBody } from '../helpers/client.js';
import { startJwsGateway, PAYMENTS } from '../helpers/jws-gateway.js';
import { requestClaims, signJws } from '../helpers/jws.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function setup(tt: Teardown, upstreamUrl: string): Promise<TestGateway> {
  const { dir } = await testPki();
  return startTestGateway(
    tt,
    `${serverBlock(dir)}routes:
  - path: /open-banking/accounts/v2
    upstream: ${upstreamUrl}
    mtls: required
    fapi: true
`,
  );
}

interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Whether the whole message arrived (IncomingMessage.complete): false when the connection was cut. */
  readonly complete: boolean;
}

/** One GET over mTLS that also reports a response cut short instead of failing on it. */
function get(gw: TestGateway, path: string, interactionId = randomUUID()): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: gw.port,
        servername: 'localhost',
        path,
        headers: { 'x-fapi-interaction-id': interactionId },
        ca: gw.pki.ca.cert,
        cert: gw.pki.client1.cert,
        key: gw.pki.client1.key,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => undefined);
        res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\netag: "v9"\r\nset-cookie: s=1\r\n';

/** Each broken answer, as the bytes a raw upstream writes before closing. */
const broken: Record<string, string> = {
  'a status line that is not HTTP/1.1': 'HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n',
  'a header line without a colon': 'HTTP/1.1 200 OK\r\nthis is not a header\r\ncontent-length: 0\r\n\r\n',
  'a header name with a space': 'HTTP/1.1 200 OK\r\nbad name: x\r\ncontent-length: 0\r\n\r\n',
  'both Content-Length and Transfer-Encoding (RFC 9112 §6.3: request smuggling shape)': `${HEAD}content-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"a":\r\n0\r\n\r\n`,
  'two different Content-Length values': `${HEAD}content-length: 2\r\ncontent-length: 3\r\n\r\n{}`,
  'a chunk size that is not hex (before any body byte)': `${HEAD}transfer-encoding: chunked\r\n\r\nZZ\r\n{"data":1}\r\n0\r\n\r\n`,
};

for (const [what, bytes] of Object.entries(broken)) {
  t.test(`regression (was 500 for a bad chunk): upstream answers with ${what} → 502 OFB, none of its headers`, async (tt) => {
    const upstream = await startRawUpstream(tt, (socket) => socket.end(bytes));
    const gw = await setup(tt, upstream.url);
    const id = randomUUID();
    const res = await get(gw, '/open-banking/accounts/v2/accounts', id);
    tt.equal(res.status, 502);
    tt.ok(res.complete, 'the OFB error arrives whole');
    const body = JSON.parse(res.body.toString()) as OfbErrorBody;
    tt.equal(body.errors[0]?.code, 'BAD_GATEWAY');
    tt.equal(body.errors[0]?.detail, 'the upstream service could not be reached');
    tt.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    tt.equal(res.headers['x-fapi-interaction-id'], id);
    tt.ok(res.headers.date);
    tt.notOk(res.headers.etag, 'no upstream header on the error');
    tt.notOk(res.headers['set-cookie'], 'no upstream cookie on the error');
    tt.equal(upstream.requests.length, 1, 'sent once, not retried');
  });
}

t.test('SPEC §4: upstream resetting the connection mid-headers → 502', async (tt) => {
  const upstream = await startRawUpstream(tt, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: appl');
    setTimeout(() => socket.resetAndDestroy(), 20);
  });
  const gw = await setup(tt, upstream.url);
  const res = await get(gw, '/open-banking/accounts/v2/accounts');
  tt.equal(res.status, 502);
  tt.equal((JSON.parse(res.body.toString()) as OfbErrorBody).errors[0]?.code, 'BAD_GATEWAY');
});

t.test('SPEC §4: upstream closing cleanly mid-headers → 502', async (tt) => {
  const upstream = await startRawUpstream(tt, (socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n'));
  const gw = await setup(tt, upstream.url);
  const res = await get(gw, '/open-banking/accounts/v2/accounts');
  tt.equal(res.status, 502);
  tt.equal((JSON.parse(res.body.toString()) as OfbErrorBody).errors[0]?.code, 'BAD_GATEWAY');
});

t.test('regression: a bad chunk after the streamed response began → the client connection is aborted, never a complete-looking 200', async (tt) => {
  // Headers and a first good chunk go out; the bad chunk arrives once the gateway has replied.
  const upstream = await startRawUpstream(tt, (socket) => {
    socket.write(`${HEAD}transfer-encoding: chunked\r\n\r\n8\r\n{"data":\r\n`);
    setTimeout(() => socket.end('ZZ\r\n[1,2]}\r\n0\r\n\r\n'), 150);
  });
  const gw = await setup(tt, upstream.url);
  const res = await get(gw, '/open-banking/accounts/v2/accounts');
  tt.equal(res.status, 200, 'the status line had already been sent');
  tt.equal(res.headers.etag, '"v9"');
  tt.equal(res.body.toString(), '{"data":', 'the bytes received before the bad chunk, nothing after');
  tt.notOk(res.complete, 'the response is cut short (no final chunk): a client cannot take it for a complete one');

  // The same, with a declared length too large to read whole: the client gets fewer bytes than it.
  const sized = await startRawUpstream(tt, (socket) => {
    socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: 100000\r\n\r\n${'a'.repeat(1000)}`);
    setTimeout(() => socket.destroy(), 150);
  });
  const gw2 = await setup(tt, sized.url);
  const cut = await get(gw2, '/open-banking/accounts/v2/file');
  tt.equal(cut.status, 200);
  tt.equal(cut.headers['content-length'], '100000');
  tt.equal(cut.body.length, 1000);
  tt.notOk(cut.complete, 'fewer bytes than Content-Length, connection closed');

  // A chunk longer than its declared size: the declared bytes are good data, already on their way to
  // the client when the parser finds no CRLF after them.
  const long = await startRawUpstream(tt, (socket) => socket.end(`${HEAD}transfer-encoding: chunked\r\n\r\n2\r\n{"data":1}\r\n0\r\n\r\n`));
  const gw3 = await setup(tt, long.url);
  const overlong = await get(gw3, '/open-banking/accounts/v2/accounts');
  tt.notOk(overlong.status === 200 && overlong.complete, 'never a complete 200');
  tt.notOk(overlong.complete && overlong.body.toString().includes('{"data":1}'), 'never the bytes past the declared chunk size');
});

t.test('SPEC §4: on a signed-response route (body read whole), a bad chunk or status line → 502 OFB, sent once', async (tt) => {
  const scripts: Record<string, RawScript> = {
    chunk: (socket) => socket.end(`HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n8\r\n{"data":\r\nZZ\r\n`),
    status: (socket) => socket.end('HTTP/1.1 20 Created\r\ncontent-length: 0\r\n\r\n'),
    reset: (socket) => {
      socket.write('HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n{"data":');
      setTimeout(() => socket.resetAndDestroy(), 20);
    },
  };
  for (const [what, script] of Object.entries(scripts)) {
    const upstream = await startRawUpstream(tt, script);
    const g = await startJwsGateway(tt, upstream.url);
    const res = await g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS)), { headers: { 'x-idempotency-key': randomUUID() } });
    tt.equal(res.status, 502, `${what}: 502`);
    tt.equal(res.headers['content-type'], 'application/json; charset=utf-8', `${what}: plain OFB JSON, not signed`);
    tt.equal(res.json().errors[0]?.code, 'BAD_GATEWAY');
    tt.equal(upstream.requests.length, 1, `${what}: the POST was sent once, not replayed`);
  }
});
