// Properties of the JWS parser and claim checks (src/jws/compact.ts), the pure part of SPEC §2 that
// the jws-request check runs around the directory lookup and the replay store: never a throw outside
// the GatewayError catalogue, never an acceptance of what SPEC §2 refuses, and every well-formed JWS
// signed by the right key with valid claims accepted.
import t from 'tap';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { generateKeyPair, type CryptoKey } from 'jose';
import { BadSignatureError, InvalidClientError, type GatewayError } from '../../src/errors.js';
import { checkClaims, CLOCK_SKEW_SECONDS, parseClaims, parseCompactJws, verifyPs256 } from '../../src/jws/compact.js';
import { BASE_URL, signRawBytes } from '../helpers/jws.js';
import { jsonObjectTree, jsonTree, mutated, serialize, spelling, type JsonTree } from './arbitraries.js';

const KID = 'org-key-1';
const ORG = randomUUID();
const AUD = `${BASE_URL}/open-banking/payments/v4/consents`;
const NOW = 1_800_000_000;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const RUNS = { numRuns: 300 };

const { privateKey, publicKey } = (await generateKeyPair('PS256', { extractable: true })) as { privateKey: CryptoKey; publicKey: CryptoKey };

/** What the jws-request check does, minus I/O: the directory knows one key, under KID. */
function accept(body: string | Buffer): Record<string, unknown> {
  const jws = parseCompactJws(body);
  if (jws.kid !== KID) throw new BadSignatureError('unknown kid (stands for the directory lookup)');
  const claims = parseClaims(verifyPs256(jws, [publicKey]));
  checkClaims(claims, { aud: AUD, iss: ORG, nowSeconds: NOW });
  return claims;
}

/** The refusal `accept` threw; anything outside the catalogue fails the property. */
function refusal(body: string | Buffer): GatewayError | undefined {
  try {
    accept(body);
    return undefined;
  } catch (err) {
    if (err instanceof BadSignatureError || err instanceof InvalidClientError) return err;
    throw new Error(`not a catalogue error for ${JSON.stringify(body.toString())}`, { cause: err });
  }
}

const goodClaims = (): Record<string, unknown> => ({ aud: AUD, iss: ORG, iat: NOW, jti: randomUUID(), data: { amount: '1.00' } });
const sign = (header: unknown, claims: unknown): string =>
  signRawBytes(privateKey, typeof header === 'string' ? header : JSON.stringify(header), typeof claims === 'string' ? claims : JSON.stringify(claims));
const GOOD = sign({ alg: 'PS256', kid: KID, typ: 'JWT' }, goodClaims());

const b64urlSegment = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), maxLength: 64 });
const asciiTrim = (s: string): string => s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');

t.test('control: the JWS the properties start from is accepted', async (tt) => {
  tt.equal(refusal(GOOD), undefined);
});

t.test('arbitrary input: only catalogue errors, never an acceptance', async (tt) => {
  const inputs = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    fc.array(b64urlSegment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')),
    // The good header and payload under a random signature of any length.
    b64urlSegment.map((sig) => `${GOOD.slice(0, GOOD.lastIndexOf('.'))}.${sig}`),
    fc.uint8Array({ minLength: 250, maxLength: 520 }).map((sig) => `${GOOD.slice(0, GOOD.lastIndexOf('.'))}.${Buffer.from(sig).toString('base64url')}`),
    // Random JSON as header and payload, under a random signature.
    fc.tuple(jsonTree, jsonTree, b64urlSegment).map(([h, p, s]) => `${Buffer.from(serialize(h)).toString('base64url')}.${Buffer.from(serialize(p)).toString('base64url')}.${s}`),
  );
  fc.assert(
    fc.property(inputs, (body) => {
      if (refusal(body) === undefined) throw new Error(`accepted ${JSON.stringify(body.toString())}`);
    }),
    { numRuns: 500 },
  );
  tt.pass();
});

t.test('a mutated valid JWS: only catalogue errors; accepted only when the edit left the same JWS (give or take ASCII white space)', async (tt) => {
  fc.assert(
    fc.property(mutated(fc.constant(GOOD)), (body) => {
      if (refusal(body) === undefined && asciiTrim(body) !== GOOD) throw new Error(`accepted an edited JWS ${JSON.stringify(body)}`);
    }),
    { numRuns: 500 },
  );
  tt.pass();
});

/** SPEC §2 JOSE header rules, written from the SPEC: whether a header may be accepted. */
function headerAcceptable(h: Record<string, unknown>): boolean {
  if (h.alg !== 'PS256') return false; // PS256 only
  if (h.kid !== KID) return false; // kid required (and the directory knows only KID)
  if (h.typ !== undefined && !(typeof h.typ === 'string' && ['jwt', 'application/jwt'].includes(h.typ.toLowerCase()))) return false;
  if (['jku', 'x5u', 'jwk', 'x5c'].some((k) => k in h)) return false; // key-carrying headers never used
  if (h.crit !== undefined) return false; // unknown crit
  if (h.b64 !== undefined && h.b64 !== true) return false; // RFC 7797
  return true;
}

/** Mostly absent (undefined members vanish in JSON.stringify), sometimes one of `values`. */
const rarely = <T>(values: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, values);

const headers = fc.record({
  alg: fc.oneof({ weight: 6, arbitrary: fc.constant('PS256') }, fc.constantFrom('none', 'None', 'HS256', 'RS256', 'ES256', 'PS384', 'ps256', 'PS256 ', ''), fc.string(), fc.integer(), fc.constant(null), fc.constant(undefined)),
  kid: fc.oneof({ weight: 6, arbitrary: fc.constant(KID) }, fc.constantFrom('', 'other', ` ${KID}`), fc.string(), fc.integer(), fc.constant(null), fc.constant([KID]), fc.constant(undefined)),
  typ: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, fc.constantFrom('JWT', 'jwt', 'application/jwt', 'Application/JWT', 'JOSE', 'JWT ', 'application/jose', 'at+jwt'), fc.string(), fc.integer()),
  crit: rarely(fc.oneof(fc.array(fc.string(), { maxLength: 2 }), fc.constant([]), fc.string(), fc.constant(null))),
  b64: rarely(fc.constantFrom(true, false, 'true', null, 0)),
  jku: rarely(fc.constantFrom('https://attacker.example/jwks', '', null)),
  x5u: rarely(fc.constant('https://attacker.example/cert.pem')),
  jwk: rarely(fc.constant({ kty: 'RSA', n: 'AQAB', e: 'AQAB' })),
  x5c: rarely(fc.constant(['MIIB'])),
  cty: rarely(fc.constantFrom('JWT', 'json')),
  extra: rarely(jsonTree.map((tree) => JSON.parse(serialize(tree)) as unknown)),
});

t.test('random JOSE headers, validly signed: accepted exactly when SPEC §2 allows the header; refused as BAD_SIGNATURE', async (tt) => {
  let accepted = 0;
  fc.assert(
    fc.property(headers, (generated) => {
      // Only header members drive the outcome: the signature and the claims are good.
      const header = JSON.parse(JSON.stringify(generated)) as Record<string, unknown>;
      const err = refusal(sign(header, goodClaims()));
      const expected = headerAcceptable(header);
      if (expected !== (err === undefined)) throw new Error(`header ${JSON.stringify(header)}: expected ${expected ? 'accepted' : 'refused'}, got ${err?.detail ?? 'accepted'}`);
      if (err !== undefined && !(err instanceof BadSignatureError)) throw new Error(`header ${JSON.stringify(header)}: ${err.code}, not BAD_SIGNATURE`);
      if (err === undefined) accepted++;
    }),
    RUNS,
  );
  tt.ok(accepted > 0, `some headers were acceptable (${accepted})`);
});

/** SPEC §2 claim rules, written from the SPEC. */
function claimsAcceptable(c: Record<string, unknown>): boolean {
  const aud = c.aud;
  if (!(aud === AUD || (Array.isArray(aud) && aud.includes(AUD)))) return false;
  if (c.iss !== ORG) return false;
  if (typeof c.iat !== 'number' || Math.abs(NOW - c.iat) > CLOCK_SKEW_SECONDS) return false;
  if (c.exp !== undefined && !(typeof c.exp === 'number' && c.exp >= NOW - CLOCK_SKEW_SECONDS)) return false;
  if (c.nbf !== undefined && !(typeof c.nbf === 'number' && c.nbf <= NOW + CLOCK_SKEW_SECONDS)) return false;
  return typeof c.jti === 'string' && UUID_V4.test(c.jti);
}

const uuidV4 = fc.uuid({ version: 4 }).chain((u) => fc.constantFrom(u, u.toUpperCase()));
const skew = fc.oneof(fc.integer({ min: -CLOCK_SKEW_SECONDS, max: CLOCK_SKEW_SECONDS }), fc.double({ min: -CLOCK_SKEW_SECONDS, max: CLOCK_SKEW_SECONDS, noNaN: true }));
const claimSets = fc.record(
  {
    aud: fc.oneof(
      { weight: 4, arbitrary: fc.constant(AUD) },
      fc.constant([`${BASE_URL}/other`, AUD]),
      fc.constantFrom(`${AUD}/`, AUD.toUpperCase(), `${AUD}?a=1`, BASE_URL, '', [`${BASE_URL}/other`], []),
      fc.string(),
      fc.integer(),
      fc.constant(undefined),
    ),
    iss: fc.oneof({ weight: 4, arbitrary: fc.constant(ORG) }, fc.constantFrom(ORG.toUpperCase(), randomUUID(), '', undefined), fc.string(), fc.constant([ORG])),
    iat: fc.oneof(
      { weight: 4, arbitrary: skew.map((s) => NOW + s) },
      fc.integer({ min: 61, max: 100_000 }).chain((s) => fc.constantFrom(NOW + s, NOW - s)),
      fc.constantFrom(String(NOW), null, true, [NOW], 1e308, -1e308, undefined),
    ),
    jti: fc.oneof({ weight: 4, arbitrary: uuidV4 }, fc.uuid({ version: [1, 3, 5, 6, 7, 8] }), fc.constantFrom('not-a-uuid', '', '00000000-0000-4000-8000-00000000000g', undefined), fc.string(), fc.integer()),
    exp: rarely(fc.oneof(fc.integer({ min: -1000, max: 1000 }).map((s) => NOW + s), fc.constantFrom('soon', null))),
    nbf: rarely(fc.oneof(fc.integer({ min: -1000, max: 1000 }).map((s) => NOW + s), fc.constantFrom('now', null))),
    data: jsonTree.map((tree) => JSON.parse(serialize(tree)) as unknown),
  });

t.test('random claims, validly signed: accepted exactly when SPEC §2 allows them; refused as INVALID_CLIENT', async (tt) => {
  let accepted = 0;
  fc.assert(
    fc.property(claimSets, (claims) => {
      const roundTripped = JSON.parse(JSON.stringify(claims)) as Record<string, unknown>;
      const err = refusal(sign({ alg: 'PS256', kid: KID, typ: 'JWT' }, roundTripped));
      const expected = claimsAcceptable(roundTripped);
      if (expected !== (err === undefined)) throw new Error(`claims ${JSON.stringify(roundTripped)}: expected ${expected ? 'accepted' : 'refused'}, got ${err?.detail ?? 'accepted'}`);
      if (err !== undefined && !(err instanceof InvalidClientError)) throw new Error(`claims ${JSON.stringify(roundTripped)}: ${err.code}, not INVALID_CLIENT`);
      if (err === undefined) accepted++;
    }),
    RUNS,
  );
  tt.ok(accepted > 0, `some claim sets were acceptable (${accepted})`);
});

/** An object tree with `name` twice: at the top, or inside a member at some depth. */
function withRepeat(base: JsonTree, name: string, v1: JsonTree, v2: JsonTree, depth: number): JsonTree {
  const members = base.kind === 'object' ? base.members : [];
  let inner: JsonTree = { kind: 'object', members: [[name, v1], ...members, [name, v2]] };
  for (let i = 0; i < depth; i++) inner = i % 2 === 0 ? { kind: 'object', members: [['nested', inner]] } : { kind: 'array', items: [inner] };
  return inner;
}

const repeatArgs = fc.tuple(jsonObjectTree, fc.constantFrom('alg', 'kid', 'jti', 'iss', 'x', 'é'), jsonTree, jsonTree, fc.nat({ max: 4 }), spelling);

t.test('a repeated member name anywhere in the protected header or the payload: always BAD_SIGNATURE', async (tt) => {
  fc.assert(
    fc.property(repeatArgs, fc.boolean(), ([base, name, v1, v2, depth, how], inHeader) => {
      const repeated = withRepeat(base, name, v1, v2, depth);
      let header: string;
      let payload: string;
      if (inHeader) {
        // A valid header with the repeat among its members (depth 0) or under a member.
        const members: [string, JsonTree][] = [['alg', { kind: 'leaf', text: '"PS256"' }], ['kid', { kind: 'leaf', text: JSON.stringify(KID) }]];
        const tree: JsonTree = { kind: 'object', members: depth === 0 && repeated.kind === 'object' ? [...members, ...repeated.members] : [...members, ['ext', repeated]] };
        header = serialize(tree, how);
        payload = JSON.stringify(goodClaims());
      } else {
        header = JSON.stringify({ alg: 'PS256', kid: KID });
        const claims = goodClaims();
        const tree: JsonTree = { kind: 'object', members: [...Object.entries(claims).map(([k, v]): [string, JsonTree] => [k, { kind: 'leaf', text: JSON.stringify(v) }]), ['data', repeated]] };
        payload = serialize(tree, how);
      }
      const err = refusal(signRawBytes(privateKey, header, payload));
      if (!(err instanceof BadSignatureError) || !err.detail.includes('repeats a JSON member name')) {
        throw new Error(`${inHeader ? 'header' : 'payload'} ${inHeader ? header : payload}: ${err?.detail ?? 'accepted'}`);
      }
    }),
    RUNS,
  );
  tt.pass();
});

t.test('a well-formed JWS signed with the key, random valid claims and typ: accepted, claims as sent', async (tt) => {
  const valid = fc.record({
    typ: fc.constantFrom(undefined, 'JWT', 'jwt', 'application/jwt'),
    aud: fc.oneof(fc.constant(AUD), fc.array(fc.webUrl(), { maxLength: 3 }).chain((others) => fc.shuffledSubarray([...others, AUD], { minLength: others.length + 1 }))),
    iat: skew.map((s) => NOW + s),
    jti: uuidV4,
    exp: fc.option(fc.integer({ min: -CLOCK_SKEW_SECONDS, max: 86_400 }).map((s) => NOW + s), { nil: undefined }),
    nbf: fc.option(fc.integer({ min: -86_400, max: CLOCK_SKEW_SECONDS }).map((s) => NOW + s), { nil: undefined }),
    data: fc.jsonValue(),
    ws: fc.constantFrom('', '\n', '\r\n', ' \t'),
  });
  fc.assert(
    fc.property(valid, ({ typ, ws, ...rest }) => {
      const claims = JSON.parse(JSON.stringify({ ...rest, iss: ORG })) as Record<string, unknown>;
      const body = `${ws}${sign({ alg: 'PS256', kid: KID, ...(typ === undefined ? {} : { typ }) }, claims)}${ws}`;
      tt.strictSame(accept(body), claims);
    }),
    { numRuns: 200 },
  );
});
