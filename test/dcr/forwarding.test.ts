// SPEC §9: a registration that passes reaches the AS with its body byte for byte and
// `x-dcr-verified: true` (a forged inbound one never does); GET and DELETE below the path need only
// the client certificate; without one, nothing reaches the AS.
import t from 'tap';
import { REGISTER, startDcrGateway } from '../helpers/dcr.js';
import { testPki } from '../helpers/gateway.js';

t.test('good POST and PUT forwarded byte for byte, with x-dcr-verified', async (tt) => {
  const g = await startDcrGateway(tt);
  const { pki } = await testPki();
  // Odd but valid JSON: indentation, a non-ASCII value, an escaped slash, members out of order.
  const text = `{\n  "redirect_uris" : [ ${JSON.stringify(g.ssaClaims().software_redirect_uris as string[]).slice(1, -1)} ],\n  "client_name":"Cliente São João \\/ teste",\n  "software_statement":"${await g.ssa()}"\n}\n`;
  const body = Buffer.from(text, 'utf8');
  const res = await g.call(body, { contentType: 'application/json; charset=UTF-8', headers: { 'x-dcr-verified': 'forged' } });
  tt.equal(res.status, 201, res.body);
  tt.equal(res.json<{ client_id: string }>().client_id, 'as-issued-client', "the AS's answer passes through");
  tt.equal(g.as.requests.length, 1);
  const forwarded = g.as.requests[0];
  tt.equal(forwarded?.method, 'POST');
  tt.equal(forwarded?.url, REGISTER);
  tt.ok(forwarded?.body.equals(body), 'the body is byte for byte the one sent');
  tt.equal(forwarded?.headers['content-type'], 'application/json; charset=UTF-8', 'the Content-Type is unchanged');
  tt.equal(forwarded?.headers['x-dcr-verified'], 'true', 'x-dcr-verified: true, the forged value replaced');
  tt.equal(forwarded?.headers['x-org-id'], pki.client1.orgId);
  tt.match(decodeURIComponent(String(forwarded?.headers['x-ssl-client-cert'])), /^-----BEGIN CERTIFICATE-----/, 'forwardClientCert: the certificate for tls_client_auth');

  const update = Buffer.from(JSON.stringify(g.metadata(await g.ssa())));
  const put = await g.call(update, { method: 'PUT', path: `${REGISTER}/as-issued-client`, headers: { 'x-dcr-verified': 'true' } });
  tt.equal(put.status, 200, put.body);
  tt.equal(g.as.requests.length, 2);
  tt.equal(g.as.requests[1]?.url, `${REGISTER}/as-issued-client`);
  tt.ok(g.as.requests[1]?.body.equals(update), 'the PUT body is byte for byte the one sent');
  tt.equal(g.as.requests[1]?.headers['x-dcr-verified'], 'true');
});

t.test('a refused request with a forged x-dcr-verified reaches nothing', async (tt) => {
  const g = await startDcrGateway(tt);
  const res = await g.call(g.metadata(await g.ssa(), { redirect_uris: [] }), { headers: { 'x-dcr-verified': 'true' } });
  tt.equal(res.status, 400);
  tt.equal(res.json<{ error: string }>().error, 'invalid_redirect_uri');
  tt.equal(g.as.requests.length, 0);
});

t.test('GET and DELETE below the path: the certificate only; never x-dcr-verified', async (tt) => {
  const g = await startDcrGateway(tt);
  const get = await g.call(undefined, { method: 'GET', path: `${REGISTER}/as-issued-client`, contentType: null, headers: { authorization: 'Bearer registration-access-token', 'x-dcr-verified': 'true' } });
  tt.equal(get.status, 200, get.body);
  const del = await g.call(undefined, { method: 'DELETE', path: `${REGISTER}/as-issued-client`, contentType: null, headers: { authorization: 'Bearer registration-access-token' } });
  tt.equal(del.status, 204);
  tt.same(g.as.requests.map((r) => [r.method, r.url, r.headers['x-dcr-verified'], r.headers.authorization]), [
    ['GET', `${REGISTER}/as-issued-client`, undefined, 'Bearer registration-access-token'],
    ['DELETE', `${REGISTER}/as-issued-client`, undefined, 'Bearer registration-access-token'],
  ], 'forwarded with the registration access token for the AS to check, no x-dcr-verified');

  for (const method of ['GET', 'DELETE', 'POST', 'PUT']) {
    const before = g.as.requests.length;
    const body = method === 'POST' || method === 'PUT' ? g.metadata(await g.ssa()) : undefined;
    const res = await g.call(body, { method, path: `${REGISTER}/as-issued-client`, cert: null, contentType: body ? 'application/json' : null });
    tt.equal(res.status, 401, `${method} without a certificate: 401 (SPEC §1 row 2)`);
    tt.equal(res.json().errors[0]?.code, 'INVALID_CLIENT');
    tt.equal(g.as.requests.length, before, `${method} without a certificate: the AS received nothing`);
  }
  const patch = await g.call(g.metadata(await g.ssa()), { method: 'PATCH', path: `${REGISTER}/as-issued-client` });
  tt.equal(patch.status, 405, 'PATCH is not an RFC 7592 method: 405');
  tt.equal(patch.headers.allow, 'GET, POST, PUT, DELETE');
  tt.equal(g.as.requests.length, 2);
});
