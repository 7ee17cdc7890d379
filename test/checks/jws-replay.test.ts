// SPEC §2 replay: a jti already seen for the same client within 86 400 s → 403 INVALID_CLIENT;
// recorded only after the signature verified, atomically.
import t from 'tap';
import { startUpstream } from '../helpers/upstream.js';
import { startJwsGateway, CONSENTS } from '../helpers/jws-gateway.js';
import { requestClaims, signJws } from '../helpers/jws.js';

t.test('a reused jti is refused with 403 INVALID_CLIENT and never forwarded', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url);
  const claims = requestClaims(g.org1, CONSENTS);
  const first = await g.post(CONSENTS, await signJws(g.org1, claims));
  tt.equal(first.status, 200);
  const replayed = await g.post(CONSENTS, await signJws(g.org1, claims));
  tt.equal(replayed.status, 403, 'same jti, freshly signed');
  tt.equal(replayed.json().errors[0]?.code, 'INVALID_CLIENT');
  tt.equal(replayed.json().errors[0]?.detail, 'the JWS jti was already used by this client (replay)');
  const sameBytes = await g.post(CONSENTS, await signJws(g.org1, claims));
  tt.equal(sameBytes.status, 403);
  const upper = await g.post(CONSENTS, await signJws(g.org1, { ...claims, jti: String(claims.jti).toUpperCase() }));
  tt.equal(upper.status, 403, 'the jti is compared as a UUID (case-insensitive)');
  tt.equal(upstream.requests.length, 1);

  const otherOrg = await g.post(CONSENTS, await signJws(g.org2, requestClaims(g.org2, CONSENTS, { jti: claims.jti })), { cert: g.gw.pki.client2 });
  tt.equal(otherOrg.status, 200, 'jti uniqueness is per client: another org may use the same value');
});

t.test("a forged JWS carrying a victim's jti cannot burn it: the victim's genuine request still passes", async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url);
  const victim = requestClaims(g.org1, CONSENTS);
  // The attacker (org2's key, and a claims failure) tries to record the victim's jti first.
  const forgedSignature = await g.post(CONSENTS, await signJws({ privateKey: g.org2.privateKey, kid: g.org1.kid }, victim));
  tt.equal(forgedSignature.status, 400);
  const forgedClaims = await g.post(CONSENTS, await signJws(g.org1, { ...victim, aud: 'https://elsewhere.example/x' }));
  tt.equal(forgedClaims.status, 403, 'a claims failure does not record the jti either');
  const genuine = await g.post(CONSENTS, await signJws(g.org1, victim));
  tt.equal(genuine.status, 200, 'the victim passes');
  tt.equal(upstream.requests.length, 1);
  tt.equal(upstream.requests[0]?.headers['x-jws-jti'], victim.jti);
});

t.test('two concurrent requests with one jti: exactly one passes', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url);
  for (let round = 0; round < 3; round++) {
    const claims = requestClaims(g.org1, CONSENTS);
    const bodies = await Promise.all(Array.from({ length: 6 }, () => signJws(g.org1, claims)));
    const results = await Promise.all(bodies.map((b) => g.post(CONSENTS, b)));
    const statuses = results.map((r) => r.status).sort();
    tt.same(statuses, [200, 403, 403, 403, 403, 403], `round ${round}: one 200, the rest 403`);
  }
  tt.equal(upstream.requests.length, 3);
});
