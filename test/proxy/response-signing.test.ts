// SPEC §2 signed responses: 200/201/202/422 JSON → compact JWS PS256 (kid, typ JWT), claims
// aud = client org, iss = bank org, fresh jti, iat = now; Content-Type application/jwt. Others plain.
import t from 'tap';
import { decodeProtectedHeader } from 'jose';
import { startUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { startJwsGateway, PAYMENTS } from '../helpers/jws-gateway.js';
import { requestClaims, signJws, verifyBankJws } from '../helpers/jws.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** An upstream answering with the status and body named by the request's `x-test-status` / `x-test-type`. */
function scripted(): UpstreamHandler {
  return (req, res) => {
    const status = Number(req.headers['x-test-status'] ?? 201);
    const type = String(req.headers['x-test-type'] ?? 'application/json; charset=utf-8');
    const body = type.startsWith('application/json') ? JSON.stringify({ data: { status, consentId: 'urn:bank:1' }, links: { self: 'x' } }) : 'not json';
    res.writeHead(status, { 'content-type': type, 'x-upstream': 'yes' });
    res.end(body);
  };
}

for (const keyFile of ['pem', 'jwk'] as const) {
  t.test(`upstream 200/201/202/422 JSON is signed with the bank key (signing key from a ${keyFile} file)`, async (tt) => {
    const upstream = await startUpstream(tt, scripted());
    const g = await startJwsGateway(tt, upstream.url, { signingKey: keyFile });
    for (const status of [200, 201, 202, 422]) {
      const before = Math.floor(Date.now() / 1000);
      const res = await g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS)), {
        headers: { 'x-idempotency-key': `sig-${keyFile}-${status}`, 'x-test-status': String(status) },
      });
      tt.equal(res.status, status);
      tt.equal(res.headers['content-type'], 'application/jwt', `${status}: Content-Type application/jwt`);
      tt.equal(res.headers['x-upstream'], 'yes', 'upstream headers kept');
      tt.ok(res.headers['x-fapi-interaction-id']);
      tt.same(decodeProtectedHeader(res.body), { alg: 'PS256', kid: g.bank.kid, typ: 'JWT' });
      const { claims } = await verifyBankJws(res.body, g.bank);
      tt.same(claims.data, { status, consentId: 'urn:bank:1' }, 'upstream members kept');
      tt.same(claims.links, { self: 'x' });
      tt.equal(claims.aud, g.org1.orgId, 'aud = client org id (from its certificate)');
      tt.equal(claims.iss, g.bank.orgId, 'iss = bank org id');
      tt.match(claims.jti, UUID_V4);
      tt.ok(typeof claims.iat === 'number' && claims.iat >= before && claims.iat <= before + 5, 'iat = now');
    }
  });
}

t.test('other statuses and non-JSON bodies stay as they are; gateway refusals other than 422 stay plain JSON', async (tt) => {
  const upstream = await startUpstream(tt, scripted());
  const g = await startJwsGateway(tt, upstream.url);
  const call = async (headers: Record<string, string>) =>
    g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS)), { headers: { 'x-idempotency-key': crypto.randomUUID(), ...headers } });
  for (const status of [400, 404, 500, 503]) {
    const res = await call({ 'x-test-status': String(status) });
    tt.equal(res.status, status);
    tt.equal(res.headers['content-type'], 'application/json; charset=utf-8', `${status} not signed`);
    tt.same(JSON.parse(res.body).data.status, status);
  }
  const text = await call({ 'x-test-type': 'text/plain' });
  tt.equal(text.status, 201);
  tt.equal(text.body, 'not json', 'a non-JSON 201 passes unchanged');
  const signedUpstream = await call({ 'x-test-type': 'application/jwt' });
  tt.equal(signedUpstream.headers['content-type'], 'application/jwt');
  tt.equal(signedUpstream.body, 'not json', 'an upstream that signs itself is not signed again');

  const bad = await g.post(PAYMENTS, 'x.y.z', { headers: { 'x-idempotency-key': 'k' } });
  tt.equal(bad.status, 400);
  tt.equal(bad.headers['content-type'], 'application/json; charset=utf-8', '400 BAD_SIGNATURE is plain JSON');
  tt.equal(bad.json().errors[0]?.code, 'BAD_SIGNATURE');
});

t.test("the gateway's own 422 is signed, its payload the OFB error body with meta", async (tt) => {
  const upstream = await startUpstream(tt, scripted());
  const g = await startJwsGateway(tt, upstream.url);
  const res = await g.post(PAYMENTS, await signJws(g.org1, requestClaims(g.org1, PAYMENTS)));
  tt.equal(res.status, 422);
  tt.equal(res.headers['content-type'], 'application/jwt');
  const { claims } = await verifyBankJws(res.body, g.bank);
  tt.match(claims, {
    errors: [{ code: 'PARAMETRO_NAO_INFORMADO', title: String, detail: 'x-idempotency-key header is required' }],
    meta: { requestDateTime: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ },
    aud: g.org1.orgId,
    iss: g.bank.orgId,
    jti: UUID_V4,
  });
  tt.equal(upstream.requests.length, 0);
});
