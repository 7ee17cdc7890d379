// SPEC §2 key lookup as properties, over random histories of a real mock directory (up/down, keys
// published and withdrawn) and a fake clock: an unknown kid is a bad signature only when the JWKS was
// fetched successfully within the cooldown (or by the refetch it triggered); an outage is a 503,
// never a 400; a cached key keeps working within maxStaleSeconds; nothing outside the catalogue.
import t from 'tap';
import fc from 'fast-check';
import { createDirectoryJwks } from '../../src/clients/directory-jwks.js';
import { generateOrgKey, type OrgSigningKey } from '../../src/dev/mock-directory.js';
import { BadSignatureError, ServiceUnavailableError } from '../../src/errors.js';
import { startTestDirectory } from '../helpers/directory.js';
import { testPki } from '../helpers/gateway.js';

const TTL = 300;
const STALE = 600;
const COOLDOWN = 60;
const KIDS = ['k0', 'k1', 'k2'] as const;

type Action =
  | { readonly type: 'advance'; readonly seconds: number }
  | { readonly type: 'down'; readonly down: boolean }
  | { readonly type: 'publish'; readonly kids: readonly string[] }
  | { readonly type: 'query'; readonly kid: string };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.integer({ min: 0, max: 250 }).map((seconds): Action => ({ type: 'advance', seconds })),
  fc.boolean().map((down): Action => ({ type: 'down', down })),
  fc.subarray([...KIDS]).map((kids): Action => ({ type: 'publish', kids })),
  { weight: 3, arbitrary: fc.constantFrom(...KIDS, 'never').map((kid): Action => ({ type: 'query', kid })) },
);

t.test('random directory histories: 400 only after a successful fetch within the cooldown, 503 only when down, cached keys keep working', async (tt) => {
  const d = await startTestDirectory(tt);
  const { dir } = await testPki();
  const orgId = d.org1.orgId;
  const keys: OrgSigningKey[] = await Promise.all(KIDS.map((kid) => generateOrgKey(orgId, kid)));
  const jwkOf = (kid: string) => keys.find((k) => k.kid === kid)?.publicJwk;

  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 25 }), async (actions) => {
      let now = 0;
      let down = false;
      let published: readonly string[] = ['k0'];
      /** The directory's last successful answer: when, and which kids it listed. */
      let last: { at: number; kids: readonly string[] } | undefined;
      d.directory.setDown(false);
      d.directory.publish(orgId, published.map((k) => jwkOf(k)!));
      const jwks = createDirectoryJwks(
        { jwksUri: d.directory.jwksUri, ca: `${dir}/ca.crt`, cacheTtlSeconds: TTL, maxStaleSeconds: STALE, refetchCooldownSeconds: COOLDOWN, timeoutMs: 2000 },
        { now: () => now * 1000 },
      );
      try {
        for (const a of actions) {
          if (a.type === 'advance') now += a.seconds;
          else if (a.type === 'down') d.directory.setDown((down = a.down));
          else if (a.type === 'publish') d.directory.publish(orgId, (published = a.kids).map((k) => jwkOf(k)!));
          else {
            const before = d.directory.fetches(orgId);
            let outcome: 'ok' | 'bad-signature' | 'unavailable';
            try {
              await jwks.keysFor({ orgId }, a.kid);
              outcome = 'ok';
            } catch (err) {
              if (err instanceof BadSignatureError) outcome = 'bad-signature';
              else if (err instanceof ServiceUnavailableError) outcome = 'unavailable';
              else throw err;
            }
            if (d.directory.fetches(orgId) > before && !down) last = { at: now, kids: published };
            const story = `${JSON.stringify(actions)}: query ${a.kid} at ${now} → ${outcome} (last success ${JSON.stringify(last)}, down ${down})`;
            const known = last !== undefined && last.kids.includes(a.kid);
            const recent = last !== undefined && now - last.at < COOLDOWN;
            // SPEC §2: a key comes only from what the directory last published.
            if (outcome === 'ok' && !known) throw new Error(`key served that the last fetch did not list: ${story}`);
            // SPEC §2: an unknown kid is a bad signature only after a successful fetch within the cooldown.
            if (outcome === 'bad-signature' && (known || !recent)) throw new Error(`400 without a recent successful fetch that lacks the kid: ${story}`);
            // SPEC §5: 503 only while the directory cannot answer.
            if (outcome === 'unavailable' && !down) throw new Error(`503 with the directory up: ${story}`);
            // SPEC §2: the cached key keeps working within the staleness bound.
            if (known && now - last!.at < TTL + STALE && outcome !== 'ok') throw new Error(`a cached key refused: ${story}`);
            // SPEC §2: a fetch within the cooldown that lacks the kid makes it a bad signature, outage or not.
            if (!known && recent && outcome !== 'bad-signature') throw new Error(`an unknown kid within the cooldown not refused as a bad signature: ${story}`);
          }
        }
      } finally {
        await jwks.close();
      }
    }),
    { numRuns: 60 },
  );
  tt.pass();
});
