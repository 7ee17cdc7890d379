// SPEC §2, §5: an unknown kid is a bad signature only when the org's JWKS was fetched successfully
// after the kid could have appeared; when the refetch fails because the directory is unreachable →
// 503 SERVICE_UNAVAILABLE, and the cached key keeps working. Regression: a key rotated during a
// directory outage got 400 BAD_SIGNATURE, and still 400 for the refetch cooldown once the directory
// was back (the failed refetch started the cooldown).
import t from 'tap';
import { generateOrgKey } from '../../src/dev/mock-directory.js';
import { startRestartableDirectory } from '../helpers/directory.js';
import { startUpstream } from '../helpers/upstream.js';
import { startJwsGateway, CONSENTS } from '../helpers/jws-gateway.js';
import { requestClaims, signJws } from '../helpers/jws.js';

const COOLDOWN_SECONDS = 1;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a key rotated during a directory outage gave 400 BAD_SIGNATURE: now 503 while the directory is down, and 200 as soon as it is back', async (tt) => {
  const d = await startRestartableDirectory(tt);
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url, {
    testDirectory: d,
    directory: { cacheTtlSeconds: 300, maxStaleSeconds: 3600, refetchCooldownSeconds: COOLDOWN_SECONDS },
  });
  const org1 = g.org1;
  const ok = await g.post(CONSENTS, await signJws(org1, requestClaims(org1, CONSENTS)));
  tt.equal(ok.status, 200, ok.body);
  await sleep(COOLDOWN_SECONDS * 1000 + 100);

  // The directory becomes unreachable (connections refused); meanwhile the org rotates its key.
  await d.stop();
  const rotated = await generateOrgKey(org1.orgId, 'org1-rotated-during-outage');
  d.directory.publish(org1.orgId, [org1.publicJwk, rotated.publicJwk]);

  for (let i = 0; i < 2; i++) {
    const res = await g.post(CONSENTS, await signJws(rotated, requestClaims(rotated, CONSENTS)));
    tt.equal(res.status, 503, `request ${i + 1} with the rotated kid: the directory could not say → 503`);
    tt.equal(res.json().errors[0]?.code, 'SERVICE_UNAVAILABLE');
    tt.equal(res.json().errors[0]?.detail, 'a service the gateway depends on is unavailable; try again later');
  }
  tt.equal(upstream.requests.length, 1, 'nothing forwarded during the outage');
  const cached = await g.post(CONSENTS, await signJws(org1, requestClaims(org1, CONSENTS)));
  tt.equal(cached.status, 200, 'the cached key keeps working meanwhile');
  tt.equal(upstream.requests.length, 2);

  // Back well within the cooldown of the failed refetch: the rotated key is found at once.
  await d.start();
  const back = await g.post(CONSENTS, await signJws(rotated, requestClaims(rotated, CONSENTS)));
  tt.equal(back.status, 200, back.body);
  tt.equal(upstream.requests.length, 3);
  tt.equal(upstream.requests[2]?.headers['x-jws-verified'], 'true');

  // Control: a kid the org really does not publish is still a bad signature, with no outage.
  const unknown = await g.post(CONSENTS, await signJws({ privateKey: org1.privateKey, kid: 'never-published' }, requestClaims(org1, CONSENTS)));
  tt.equal(unknown.status, 400);
  tt.equal(unknown.json().errors[0]?.code, 'BAD_SIGNATURE');
  tt.equal(upstream.requests.length, 3);
});

t.test('the directory answering HTTP 503 is an outage too: 503, never 400, until it answers again', async (tt) => {
  const d = await startRestartableDirectory(tt);
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url, {
    testDirectory: d,
    directory: { cacheTtlSeconds: 300, maxStaleSeconds: 3600, refetchCooldownSeconds: COOLDOWN_SECONDS },
  });
  const org1 = g.org1;
  tt.equal((await g.post(CONSENTS, await signJws(org1, requestClaims(org1, CONSENTS)))).status, 200);
  await sleep(COOLDOWN_SECONDS * 1000 + 100);
  d.directory.setDown(true);
  const rotated = await generateOrgKey(org1.orgId, 'org1-rotated-on-503');
  d.directory.publish(org1.orgId, [org1.publicJwk, rotated.publicJwk]);
  const refused = await g.post(CONSENTS, await signJws(rotated, requestClaims(rotated, CONSENTS)));
  tt.equal(refused.status, 503);
  tt.equal(refused.json().errors[0]?.code, 'SERVICE_UNAVAILABLE');
  d.directory.setDown(false);
  tt.equal((await g.post(CONSENTS, await signJws(rotated, requestClaims(rotated, CONSENTS)))).status, 200, 'found as soon as the directory answers');
  tt.equal(upstream.requests.length, 2);
});
