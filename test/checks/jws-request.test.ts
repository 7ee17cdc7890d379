// SPEC §1 row 9, §2: signed request bodies — verified only with the sender org's directory keys.
import t from 'tap';
import { constants, createSign, KeyObject, sign as nodeSign, type webcrypto } from 'node:crypto';
import { generateKeyPair, FlattenedSign, exportJWK } from 'jose';
import { startUpstream } from '../helpers/upstream.js';
import { startJwsGateway, CONSENTS, JSON_FORWARD } from '../helpers/jws-gateway.js';
import { BASE_URL, b64url, requestClaims, signJws, signRawPs256, unsignedJws } from '../helpers/jws.js';
import { send } from '../helpers/client.js';

t.test('a good signed body is forwarded byte for byte with x-jws-verified and x-jws-jti', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url);
  const claims = requestClaims(g.org1, CONSENTS);
  const jws = await signJws(g.org1, claims);
  const res = await g.post(CONSENTS, jws, { contentType: 'application/jwt; charset=utf-8' });
  tt.equal(res.status, 200, res.body);
  tt.equal(upstream.requests.length, 1);
  const seen = upstream.requests[0]!;
  tt.equal(seen.body.toString(), jws, 'the original JWS, unchanged');
  tt.equal(seen.headers['content-type'], 'application/jwt; charset=utf-8', 'Content-Type with its parameters unchanged');
  tt.equal(seen.headers['x-jws-verified'], 'true');
  tt.equal(seen.headers['x-jws-jti'], claims.jti);
  tt.equal(seen.headers['x-org-id'], g.org1.orgId);
});

t.test('a spoofed x-jws-verified on a route without jws is stripped, and one with a refused JWS never arrives', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url);
  const bad = await signJws(g.org2, requestClaims(g.org1, CONSENTS));
  const res = await g.post(CONSENTS, bad, { headers: { 'x-jws-verified': 'true', 'x-jws-jti': 'spoofed' } });
  tt.equal(res.status, 400);
  tt.equal(upstream.requests.length, 0);
});

t.test('jws.forward: json forwards the decoded payload as application/json', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url);
  const claims = requestClaims(g.org1, JSON_FORWARD);
  const res = await g.post(JSON_FORWARD, await signJws(g.org1, claims));
  tt.equal(res.status, 200, res.body);
  const seen = upstream.requests[0]!;
  tt.match(seen.headers['content-type'], /^application\/json/);
  tt.same(JSON.parse(seen.body.toString()), claims);
  tt.equal(seen.headers['x-jws-verified'], 'true');
  tt.equal(seen.headers['x-jws-jti'], claims.jti);
});

t.test('aud as an array containing the resource URL, iat skew within ±60 s; without publicBaseUrl aud is https://<Host> + path', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url);
  const arr = requestClaims(g.org1, CONSENTS, { aud: ['https://other.example/x', BASE_URL + CONSENTS] });
  tt.equal((await g.post(CONSENTS, await signJws(g.org1, arr))).status, 200, 'conformance suite PaymentsConsentRequestAudAsArray');
  for (const skew of [-55, 55]) {
    const skewed = requestClaims(g.org1, CONSENTS, { iat: Date.now() / 1000 + skew });
    tt.equal((await g.post(CONSENTS, await signJws(g.org1, skewed))).status, 200, `iat ${skew} s from now is within ±60 s`);
  }
  const query = requestClaims(g.org1, CONSENTS);
  tt.equal((await g.post(`${CONSENTS}?a=1`, await signJws(g.org1, query))).status, 200, 'the query string is not part of aud');

  const up2 = await startUpstream(tt);
  const h = await startJwsGateway(tt, up2.url, { noPublicBaseUrl: true, testDirectory: g });
  const host = `127.0.0.1:${h.gw.port}`;
  const byHost = requestClaims(g.org1, CONSENTS, { aud: `https://${host}${CONSENTS}` });
  tt.equal((await h.post(CONSENTS, await signJws(g.org1, byHost))).status, 200, 'aud from the Host header');
  const configured = requestClaims(g.org1, CONSENTS);
  const res = await h.post(CONSENTS, await signJws(g.org1, configured));
  tt.equal(res.status, 403, 'the publicBaseUrl of another deployment is not our URL');
  tt.equal(up2.requests.length, 1);
  tt.equal(upstream.requests.length, 4);
});

t.test('bad input: each refused with its status and OFB code, nothing forwarded', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url);
  const org1 = g.org1;
  const good = () => requestClaims(org1, CONSENTS);
  // Read at signing time, unrounded (NumericDate may be fractional): 61 s means 61 s at the gateway too.
  const now = () => Date.now() / 1000;
  const attacker = await generateKeyPair('PS256', { extractable: true });
  const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: org1.kid };
  const attackerKey = { privateKey: attacker.privateKey, kid: org1.kid };
  const publicPem = Buffer.from(JSON.stringify(org1.publicJwk));

  const flattened = await new FlattenedSign(new TextEncoder().encode(JSON.stringify(good())))
    .setProtectedHeader({ alg: 'PS256', kid: org1.kid, typ: 'JWT' })
    .sign(org1.privateKey);
  const b64false = await new FlattenedSign(new TextEncoder().encode(JSON.stringify(good())))
    .setProtectedHeader({ alg: 'PS256', kid: org1.kid, b64: false, crit: ['b64'] })
    .sign(org1.privateKey);

  const cases: [string, () => Promise<string | undefined>, number, string, string?][] = [
    ['alg none', async () => unsignedJws({ alg: 'none', kid: org1.kid, typ: 'JWT' }, good()), 400, 'BAD_SIGNATURE', 'the request body must be a JWS in compact serialization (header.payload.signature)'],
    ['alg none with a made-up signature', async () => unsignedJws({ alg: 'none', kid: org1.kid }, good(), 'c2ln'), 400, 'BAD_SIGNATURE', 'the JWS alg must be PS256'],
    ['HS256 keyed with the org public key (algorithm confusion)', () => signJws({ privateKey: publicPem, kid: org1.kid }, good(), { alg: 'HS256' }), 400, 'BAD_SIGNATURE'],
    ['RS256 with the right key', async () => {
      const { importJWK } = await import('jose');
      const jwk = await exportJWK(org1.privateKey);
      const rsKey = await importJWK({ ...jwk, alg: 'RS256' }, 'RS256');
      return signJws({ privateKey: rsKey as never, kid: org1.kid }, good(), { alg: 'RS256' });
    }, 400, 'BAD_SIGNATURE'],
    ['header says PS256, signature is RSASSA-PKCS1-v1_5 (RS256) with the right key', async () => {
      const input = `${b64url({ alg: 'PS256', kid: org1.kid, typ: 'JWT' })}.${b64url(good())}`;
      const pkcs1 = createSign('sha256').update(input).sign(KeyObject.from(org1.privateKey as unknown as webcrypto.CryptoKey));
      return `${input}.${pkcs1.toString('base64url')}`;
    }, 400, 'BAD_SIGNATURE', "the JWS signature does not verify with the organisation's key for this kid"],
    ['RSA-PSS with the right key but a salt other than 32 bytes (RFC 7518 §3.5)', async () => {
      const input = `${b64url({ alg: 'PS256', kid: org1.kid, typ: 'JWT' })}.${b64url(good())}`;
      const key = KeyObject.from(org1.privateKey as unknown as webcrypto.CryptoKey);
      const salted = nodeSign('sha256', Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 });
      return `${input}.${salted.toString('base64url')}`;
    }, 400, 'BAD_SIGNATURE'],
    ['no kid', () => signJws(org1, good(), { kid: undefined }), 400, 'BAD_SIGNATURE', 'the JWS header must carry a kid'],
    ['unknown kid', () => signJws({ privateKey: org1.privateKey, kid: 'no-such-kid' }, good()), 400, 'BAD_SIGNATURE', 'the JWS kid is not among the signing keys the organisation publishes in the directory'],
    ['jwk header with the attacker key', () => signJws(attackerKey, good(), { jwk: attackerJwk }), 400, 'BAD_SIGNATURE', "the JWS header must not carry jwk: keys come only from the organisation's JWKS in the directory"],
    ['jku header pointing at the attacker', () => signJws(attackerKey, good(), { jku: 'https://attacker.example/jwks' }), 400, 'BAD_SIGNATURE'],
    ['x5c header with an attacker certificate', () => signJws(attackerKey, good(), { x5c: ['MIIB'] }), 400, 'BAD_SIGNATURE'],
    ['x5u header', () => signJws(org1, good(), { x5u: 'https://attacker.example/cert.pem' }), 400, 'BAD_SIGNATURE'],
    ['signed by the attacker under the org kid', () => signJws(attackerKey, good()), 400, 'BAD_SIGNATURE', "the JWS signature does not verify with the organisation's key for this kid"],
    ['unknown crit', () => signRawPs256(org1.privateKey, { alg: 'PS256', kid: org1.kid, crit: ['urn:x'], 'urn:x': true }, JSON.stringify(good())), 400, 'BAD_SIGNATURE', 'the JWS header lists crit parameters the gateway does not understand'],
    ['a well-formed PS256 JWS signed the raw way passes the header rules (control for the row above)', async () => {
      // Same construction as the crit case but with nothing wrong in it except an iss the gateway refuses.
      return signRawPs256(org1.privateKey, { alg: 'PS256', kid: org1.kid }, JSON.stringify({ ...good(), iss: 'control' }));
    }, 403, 'INVALID_CLIENT', 'the JWS iss must be the organisation id of the client certificate'],
    ['b64: false', async () => `${b64false.protected}.${b64false.payload}.${b64false.signature}`, 400, 'BAD_SIGNATURE'],
    ['b64: false without crit', () => signJws(org1, good(), { b64: false }), 400, 'BAD_SIGNATURE', 'the JWS payload must be base64url-encoded (b64: false is not accepted)'],
    ['typ other than JWT', () => signJws(org1, good(), { typ: 'JOSE+JSON' }), 400, 'BAD_SIGNATURE', 'the JWS typ, when present, must be JWT'],
    ['JSON serialization', async () => JSON.stringify(flattened), 400, 'BAD_SIGNATURE'],
    ['payload not JSON', () => signJws(org1, 'not json at all'), 400, 'BAD_SIGNATURE', 'the JWS payload is not JSON (a JWT claims set is required)'],
    ['payload a JSON array', () => signJws(org1, [good()]), 400, 'BAD_SIGNATURE'],
    ['garbage', async () => 'hello.world', 400, 'BAD_SIGNATURE'],
    ['tampered payload', async () => {
      const [h, , s] = (await signJws(org1, good())).split('.');
      return `${h}.${b64url({ ...good(), data: { payment: { amount: '999999.00' } } })}.${s}`;
    }, 400, 'BAD_SIGNATURE'],
    ['signed with another org\'s real key (kid of that org)', () => signJws(g.org2, requestClaims(g.org2, CONSENTS, { iss: org1.orgId })), 400, 'BAD_SIGNATURE'],
    ['iat as a string', () => signJws(org1, { ...good(), iat: String(Math.floor(now())) }), 403, 'INVALID_CLIENT', 'the JWS iat must be a NumericDate'],
    ['iat missing', () => signJws(org1, { ...good(), iat: undefined }), 403, 'INVALID_CLIENT'],
    ['iat 61 s old', () => signJws(org1, { ...good(), iat: now() - 61 }), 403, 'INVALID_CLIENT', 'the JWS iat must be within 60 seconds of the current time'],
    ['iat 61 s ahead', () => signJws(org1, { ...good(), iat: now() + 61 }), 403, 'INVALID_CLIENT'],
    ['exp in the past', () => signJws(org1, { ...good(), exp: now() - 3600 }), 403, 'INVALID_CLIENT', 'the JWS has expired (exp)'],
    ['nbf an hour ahead', () => signJws(org1, { ...good(), nbf: now() + 3600 }), 403, 'INVALID_CLIENT', 'the JWS is not yet valid (nbf)'],
    ['wrong aud', () => signJws(org1, { ...good(), aud: `${BASE_URL}/open-banking/payments/v4/pix/payments` }), 403, 'INVALID_CLIENT', 'the JWS aud must be the URL of the resource being called'],
    ['aud array without ours', () => signJws(org1, { ...good(), aud: ['https://other.example', `${BASE_URL}/x`] }), 403, 'INVALID_CLIENT'],
    ['aud with a trailing slash', () => signJws(org1, { ...good(), aud: `${BASE_URL}${CONSENTS}/` }), 403, 'INVALID_CLIENT'],
    ['no aud', () => signJws(org1, { ...good(), aud: undefined }), 403, 'INVALID_CLIENT'],
    ['iss of another org', () => signJws(org1, { ...good(), iss: g.org2.orgId }), 403, 'INVALID_CLIENT', 'the JWS iss must be the organisation id of the client certificate'],
    ['jti not a UUID', () => signJws(org1, { ...good(), jti: 'not-a-uuid' }), 403, 'INVALID_CLIENT', 'the JWS jti must be a UUID v4'],
    ['jti a UUID v1', () => signJws(org1, { ...good(), jti: 'c232ab00-9414-11ec-b3c8-9e6bdeced846' }), 403, 'INVALID_CLIENT'],
    ['jti missing', () => signJws(org1, { ...good(), jti: undefined }), 403, 'INVALID_CLIENT'],
  ];
  for (const [what, make, status, code, detail] of cases) {
    const body = await make();
    const res = await g.post(CONSENTS, body);
    tt.equal(res.status, status, `${what} → ${status}`);
    tt.equal(res.json().errors[0]?.code, code, `${what} → ${code}`);
    if (detail !== undefined) tt.equal(res.json().errors[0]?.detail, detail, `${what}: detail`);
    else tt.comment(`${what}: ${res.json().errors[0]?.detail}`);
  }
  tt.equal(upstream.requests.length, 0, 'no refused request reached the upstream');
});

t.test('content type, empty and oversized bodies', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url, { server: '  bodyLimit: 4096\n' });
  const jws = await signJws(g.org1, requestClaims(g.org1, CONSENTS));
  const cases: [string, string | Buffer | undefined, string | null, number, string, string?][] = [
    ['application/json', jws, 'application/json', 415, 'CONTEUDO_NAO_SUPORTADO', 'the request body must be a signed JWS with Content-Type application/jwt'],
    ['text/plain', jws, 'text/plain', 415, 'CONTEUDO_NAO_SUPORTADO'],
    ['application/jwt-ish', jws, 'application/jwtx', 415, 'CONTEUDO_NAO_SUPORTADO'],
    ['no content type', jws, null, 415, 'CONTEUDO_NAO_SUPORTADO'],
    ['empty body', '', 'application/jwt', 400, 'BAD_SIGNATURE', 'the request body is empty: a JWS in compact serialization is required'],
    ['no body at all', undefined, 'application/jwt', 400, 'BAD_SIGNATURE'],
    ['oversized body', Buffer.alloc(5000, 'a'), 'application/jwt', 413, 'PAYLOAD_MUITO_GRANDE'],
  ];
  for (const [what, body, type, status, code, detail] of cases) {
    const res = await g.post(CONSENTS, body, { contentType: type });
    tt.equal(res.status, status, `${what} → ${status}`);
    tt.equal(res.json().errors[0]?.code, code, what);
    if (detail !== undefined) tt.equal(res.json().errors[0]?.detail, detail);
  }
  const ok = await g.post(CONSENTS, jws, { contentType: 'APPLICATION/JWT;charset=UTF-8' });
  tt.equal(ok.status, 200, 'media type case-insensitive, parameters allowed');
  tt.equal(upstream.requests.length, 1);
});

t.test('a certificate of an org with no keys in the directory, and no certificate at all', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url);
  g.directory.unpublish(g.org2.orgId);
  const res = await g.post(CONSENTS, await signJws(g.org2, requestClaims(g.org2, CONSENTS)), { cert: g.gw.pki.client2 });
  tt.equal(res.status, 400, 'directory 404 → no keys → unknown kid');
  tt.equal(res.json().errors[0]?.code, 'BAD_SIGNATURE');
  const anonymous = await send(g.gw.port, {
    method: 'POST', path: CONSENTS, headers: { 'x-fapi-interaction-id': crypto.randomUUID(), 'content-type': 'application/jwt' }, body: 'a.b.c', ca: g.gw.pki.ca.cert,
  });
  tt.equal(anonymous.status, 401);
  tt.equal(anonymous.json().errors[0]?.code, 'INVALID_CLIENT');
  tt.equal(upstream.requests.length, 0);
});
