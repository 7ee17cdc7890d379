// SPEC §9 rows 2–5 (SEC DCR ID3 items 2, 3, 13, 14): the software statement is a compact JWS signed
// PS256 by a key of the Directory's openbanking.jwks and nowhere else, at most 300 s old and 60 s
// ahead, for the certificate's organisation and software. Each refusal: 400 invalid_software_statement,
// nothing reaches the AS, and no URL a JWS header names is ever fetched.
import t from 'tap';
import { constants, KeyObject, randomUUID, sign as nodeSign, type webcrypto } from 'node:crypto';
import { generateOrgKey, signSoftwareStatement } from '../../src/dev/mock-directory.js';
import { issueClientCert } from '../../src/dev/pki.js';
import { assertRefused, REGISTER, startDcrGateway } from '../helpers/dcr.js';
import { testPki } from '../helpers/gateway.js';
import { b64url, signRawBytes, signRawPs256 } from '../helpers/jws.js';
import { startUpstream } from '../helpers/upstream.js';

t.test('SSA signature, header and claims', async (tt) => {
  const g = await startDcrGateway(tt);
  const { pki } = await testPki();
  // Where a key-carrying header points: it must never be asked for anything.
  const lure = await startUpstream(tt);
  const claims = JSON.stringify(g.ssaClaims());
  const refused = async (name: string, ssa: string, method = 'POST', path = REGISTER) => {
    const before = g.as.requests.length;
    const res = await g.call(g.metadata(ssa), { method, path });
    assertRefused(tt, res, 400, 'invalid_software_statement', g.as, before, name);
    return res;
  };

  const foreign = await generateOrgKey('someone-else', g.ssaKey.kid);
  await refused('signed by a foreign key under the Directory kid', await signSoftwareStatement(foreign, g.ssaClaims()));
  const unknownKid = await refused('signed under a kid the Directory does not publish', await signSoftwareStatement({ ...g.ssaKey, kid: 'not-published' }, g.ssaClaims()));
  tt.match(unknownKid.json<{ error_description: string }>().error_description, /Directory's software statement keys/, 'the description speaks of the SSA keys');

  // RS256 with the Directory's own key: a valid RSA signature, refused for its alg (FAPI/OFB: PS256 only).
  const rsKey = KeyObject.from(g.ssaKey.privateKey as unknown as webcrypto.CryptoKey);
  const rsInput = `${b64url({ alg: 'RS256', kid: g.ssaKey.kid, typ: 'JWT' })}.${b64url(claims)}`;
  const rs256 = `${rsInput}.${nodeSign('sha256', Buffer.from(rsInput), { key: rsKey, padding: constants.RSA_PKCS1_PADDING }).toString('base64url')}`;
  const rsRes = await refused('alg RS256', rs256);
  tt.equal(rsRes.json<{ error_description: string }>().error_description, 'the software_statement alg must be PS256', 'the exact description, once');
  await refused('alg none', `${b64url({ alg: 'none', kid: g.ssaKey.kid })}.${b64url(claims)}.`);
  await refused('no kid', await signRawPs256(g.ssaKey.privateKey, { alg: 'PS256', typ: 'JWT' }, claims));

  const headers: Record<string, unknown> = {
    jku: `${lure.url}/jku.jwks`,
    x5u: `${lure.url}/x5u.pem`,
    jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB', x5u: `${lure.url}/jwk-x5u` },
    x5c: ['MIIB'],
  };
  for (const [name, value] of Object.entries(headers)) {
    await refused(`a ${name} header`, await signRawPs256(g.ssaKey.privateKey, { alg: 'PS256', kid: g.ssaKey.kid, typ: 'JWT', [name]: value }, claims));
  }
  tt.equal(lure.requests.length, 0, 'no URL named by jku, x5u or jwk was fetched');

  await refused('claims repeat a member name', signRawBytes(g.ssaKey.privateKey, JSON.stringify({ alg: 'PS256', kid: g.ssaKey.kid }), claims.replace(/^\{/, `{"org_id":"${pki.client2.orgId}",`)));
  await refused('claims not a JSON object', await signRawPs256(g.ssaKey.privateKey, { alg: 'PS256', kid: g.ssaKey.kid }, '["org_id"]'));
  await refused('not a JWS at all', 'not.a-jws');
  await refused('empty string', '');

  // Row 4: iat.
  const now = Math.floor(Date.now() / 1000);
  await refused('iat 301 s old', await g.ssa({ iat: now - 301 }));
  // Read the clock again, rounded up: `now` was read a request earlier, and once a second boundary had
  // passed, `now + 61` was only 60 s ahead of the gateway's clock and accepted (a flaky CI run).
  await refused('iat 61 s ahead', await g.ssa({ iat: Math.ceil(Date.now() / 1000) + 61 }));
  await refused('iat not numeric', await signSoftwareStatement(g.ssaKey, { ...g.ssaClaims(), iat: String(now) }));
  await refused('exp passed', await g.ssa({ exp: now - 120 }));
  const before = g.as.requests.length;
  const edgeOld = await g.call(g.metadata(await g.ssa({ iat: now - 295 })));
  tt.equal(edgeOld.status, 201, `iat 295 s old is accepted (${edgeOld.body})`);
  const edgeAhead = await g.call(g.metadata(await g.ssa({ iat: now + 55 })));
  tt.equal(edgeAhead.status, 201, `iat 55 s ahead is accepted (${edgeAhead.body})`);
  tt.equal(g.as.requests.length, before + 2);

  // Row 5: the certificate's organisation and software.
  await refused('the SSA of another organisation', await g.ssa({}, pki.client2));
  await refused('org_id missing', await g.ssa({ org_id: undefined }));
  const sibling = { orgId: pki.client1.orgId, softwareId: randomUUID() };
  await refused('the SSA of another software of the same organisation', await g.ssa({}, sibling));
  // The sibling software's own certificate with client1's SSA: same organisation, other UID.
  const siblingCert = await issueClientCert(pki.ca, sibling);
  const crossed = await g.call(g.metadata(await g.ssa()), { cert: siblingCert });
  assertRefused(tt, crossed, 400, 'invalid_software_statement', g.as, g.as.requests.length, "another software's certificate of the same organisation");
  const own = await g.call(g.metadata(await g.ssa({}, sibling)), { cert: siblingCert });
  tt.equal(own.status, 201, `the sibling with its own SSA passes (${own.body})`);

  // SEC item 3 holds on update too: each PUT carries a fresh SSA.
  await refused('PUT with a stale SSA', await g.ssa({ iat: now - 400 }), 'PUT', `${REGISTER}/as-issued-client`);
});
