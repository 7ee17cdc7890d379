// SPEC §2 / RFC 7515 §4: a protected header or payload whose JSON repeats a member name (at any
// depth) is a bad signature — 400 BAD_SIGNATURE, never forwarded. Regression: such a JWS was
// accepted (jose and JSON.parse keep the last of two names) while its original bytes went upstream,
// where a first-wins parser reads {"alg":"none",…,"alg":"PS256"} or two jti differently.
// Also: the header and payload must be UTF-8 JSON objects.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { startUpstream } from '../helpers/upstream.js';
import { startJwsGateway, CONSENTS } from '../helpers/jws-gateway.js';
import { b64url, requestClaims, signJws, signRawBytes, signSegments } from '../helpers/jws.js';

/** A base64url segment made 1 (mod 4) characters long by appending 'A's: no decoder agrees on what it means. */
const dangling = (segment: string): string => segment + 'A'.repeat((5 - (segment.length % 4)) % 4 || 4);

/** `json` (an object's JSON text) with `members` (raw `"name":value` text) appended before its closing brace. */
const withMembers = (json: string, ...members: string[]): string => `${json.slice(0, -1)},${members.join(',')}}`;

t.test('a protected header repeating a member name was accepted: now 400 BAD_SIGNATURE, nothing forwarded, the directory not asked', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url);
  const org1 = g.org1;
  const payload = () => JSON.stringify(requestClaims(org1, CONSENTS));
  const kid = JSON.stringify(org1.kid);
  const cases: [string, string, string?][] = [
    ['alg none, then alg PS256 (a last-wins parser sees PS256, a first-wins one none)', `{"alg":"none","kid":${kid},"typ":"JWT","alg":"PS256"}`, 'the JWS protected header repeats a JSON member name ("alg")'],
    ['alg PS256, then alg none', `{"alg":"PS256","kid":${kid},"alg":"none"}`],
    ['two kids: the org key and another', `{"alg":"PS256","kid":"someone-else","kid":${kid}}`, 'the JWS protected header repeats a JSON member name ("kid")'],
    ['the repeat spelled with an escape ("\\u0061lg" is "alg")', `{"alg":"PS256","kid":${kid},"\\u0061lg":"none"}`, 'the JWS protected header repeats a JSON member name ("alg")'],
    ['typ twice, same value', `{"alg":"PS256","kid":${kid},"typ":"JWT","typ":"JWT"}`],
    ['a repeat inside a nested header member', `{"alg":"PS256","kid":${kid},"x-ext":{"a":1,"a":2}}`],
  ];
  for (const [what, header, detail] of cases) {
    const res = await g.post(CONSENTS, signRawBytes(org1.privateKey, header, payload()));
    tt.equal(res.status, 400, `${what} → 400`);
    tt.equal(res.json().errors[0]?.code, 'BAD_SIGNATURE', what);
    tt.equal(res.json().errors[0]?.detail, detail ?? res.json().errors[0]?.detail, `${what}: detail`);
  }
  tt.equal(upstream.requests.length, 0, 'nothing forwarded');
  tt.equal(g.directory.fetches(), 0, 'refused before any key lookup');

  // Control: the same construction without the repeat passes.
  const ok = await g.post(CONSENTS, signRawBytes(org1.privateKey, `{"alg":"PS256","kid":${kid},"typ":"JWT"}`, payload()));
  tt.equal(ok.status, 200, ok.body);
  tt.equal(upstream.requests.length, 1);
});

t.test('a payload repeating jti, iss or a nested member was accepted: now 400 BAD_SIGNATURE, nothing forwarded', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url);
  const org1 = g.org1;
  const claims = () => JSON.stringify(requestClaims(org1, CONSENTS));
  const cases: [string, () => string, string?][] = [
    ['two jti (replay store keyed on one, upstream reads the other)', () => withMembers(claims(), `"jti":"${randomUUID()}"`), 'the JWS payload repeats a JSON member name ("jti")'],
    ['two iss (ours and another org)', () => withMembers(claims(), `"iss":${JSON.stringify(g.org2.orgId)}`), 'the JWS payload repeats a JSON member name ("iss")'],
    ['two aud', () => withMembers(claims(), '"aud":"https://elsewhere.example/x"')],
    ['two data members', () => withMembers(claims(), '"data":{"payment":{"amount":"999999.00"}}')],
    ['a repeat deep inside data', () => withMembers(JSON.stringify(requestClaims(org1, CONSENTS, { data: undefined })), '"data":{"payment":{"amount":"1.00","currency":"BRL","amount":"999999.00"}}'), 'the JWS payload repeats a JSON member name ("amount")'],
    ['a repeat in an object inside an array', () => withMembers(JSON.stringify(requestClaims(org1, CONSENTS, { data: undefined })), '"data":{"items":[{"a":1},{"b":1,"b":2}]}')],
    ['a repeat spelled with escapes', () => withMembers(claims(), `"\\u006a\\u0074\\u0069":"${randomUUID()}"`)],
  ];
  for (const [what, make, detail] of cases) {
    const res = await g.post(CONSENTS, signRawBytes(org1.privateKey, `{"alg":"PS256","kid":${JSON.stringify(org1.kid)}}`, make()));
    tt.equal(res.status, 400, `${what} → 400`);
    tt.equal(res.json().errors[0]?.code, 'BAD_SIGNATURE', what);
    if (detail !== undefined) tt.equal(res.json().errors[0]?.detail, detail, `${what}: detail`);
  }
  tt.equal(upstream.requests.length, 0, 'nothing forwarded');

  // Control: equal names in different objects are not repeats.
  const siblings = withMembers(JSON.stringify(requestClaims(org1, CONSENTS, { data: undefined })), '"data":{"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]}');
  const ok = await g.post(CONSENTS, signRawBytes(org1.privateKey, `{"alg":"PS256","kid":${JSON.stringify(org1.kid)}}`, siblings));
  tt.equal(ok.status, 200, ok.body);
  tt.equal(upstream.requests.length, 1);
});

t.test('a header or payload that is not a UTF-8 JSON object was accepted or misread: now 400 BAD_SIGNATURE, nothing forwarded', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url);
  const org1 = g.org1;
  const kid = JSON.stringify(org1.kid);
  const header = `{"alg":"PS256","kid":${kid}}`;
  const claims = JSON.stringify(requestClaims(org1, CONSENTS));
  const latin1Kid = Buffer.concat([Buffer.from(`{"alg":"PS256","kid":${kid.slice(0, -1)}`), Buffer.from([0xe9]), Buffer.from('"}')]);
  const cases: [string, () => Promise<string> | string, string?][] = [
    // jose's decodeProtectedHeader turned invalid UTF-8 into U+FFFD and went on.
    ['header with a byte that is not UTF-8', () => signRawBytes(org1.privateKey, latin1Kid, claims), 'the JWS protected header is not valid UTF-8'],
    ['header a JSON array', () => signRawBytes(org1.privateKey, `[${header}]`, claims), 'the JWS protected header is not a JSON object'],
    ['header a JSON string', () => signRawBytes(org1.privateKey, JSON.stringify(header), claims)],
    ['header with a UTF-8 BOM', () => signRawBytes(org1.privateKey, `\ufeff${header}`, claims)],
    ['header with a trailing comma', () => signRawBytes(org1.privateKey, `{"alg":"PS256","kid":${kid},}`, claims), 'the JWS protected header is not base64url-encoded JSON'],
    ['payload with a byte that is not UTF-8', () => signRawBytes(org1.privateKey, header, Buffer.concat([Buffer.from(claims.slice(0, -1)), Buffer.from(',"x":"\xff"}', 'latin1')])), 'the JWS payload is not valid UTF-8'],
    ['payload an overlong UTF-8 encoding of "/"', () => signRawBytes(org1.privateKey, header, Buffer.concat([Buffer.from(claims.slice(0, -1)), Buffer.from([0x2c, 0x22, 0x78, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d])]))],
    ['payload a JSON string', () => signRawBytes(org1.privateKey, header, JSON.stringify(claims)), 'the JWS payload is not a JSON object (a JWT claims set is required)'],
    ['payload a number', () => signRawBytes(org1.privateKey, header, '42')],
    ['payload with a UTF-8 BOM', () => signRawBytes(org1.privateKey, header, `\ufeff${claims}`)],
    ['payload with NaN', () => signRawBytes(org1.privateKey, header, withMembers(claims, '"x":NaN'))],
  ];
  for (const [what, make, detail] of cases) {
    const res = await g.post(CONSENTS, await make());
    tt.equal(res.status, 400, `${what} → 400`);
    tt.equal(res.json().errors[0]?.code, 'BAD_SIGNATURE', what);
    if (detail !== undefined) tt.equal(res.json().errors[0]?.detail, detail, `${what}: detail`);
  }
  tt.equal(upstream.requests.length, 0, 'nothing forwarded');
});

t.test('a second encoding of the same signature, or Unicode white space around the body, was accepted: now 400 BAD_SIGNATURE', async (tt) => {
  const upstream = await startUpstream(tt);
  const g = await startJwsGateway(tt, upstream.url);
  const org1 = g.org1;
  // A 256-byte signature is 342 base64url characters: the last carries 4 unused bits.
  const jws = await signJws(org1, requestClaims(org1, CONSENTS));
  const last = jws.at(-1) as string;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const twin = jws.slice(0, -1) + alphabet[alphabet.indexOf(last) | 1];
  tt.equal(Buffer.from(twin.split('.')[2] as string, 'base64url').equals(Buffer.from(jws.split('.')[2] as string, 'base64url')), true, 'the twin decodes to the same signature bytes');
  const cases: [string, Buffer | string, string?][] = [
    ['the signature with its unused bits set', twin, 'the JWS parts must be canonical base64url without padding (RFC 7515 §2)'],
    // Node's decoder drops a dangling character; other decoders refuse the segment. Signed as sent.
    ['a payload segment one character past a whole group, validly signed', signSegments(org1.privateKey, `${b64url({ alg: 'PS256', kid: org1.kid })}.${dangling(b64url(requestClaims(org1, CONSENTS)))}`)],
    ['a no-break space after the JWS', Buffer.concat([Buffer.from(jws), Buffer.from([0xc2, 0xa0])]), 'the request body must be a JWS in compact serialization (header.payload.signature)'],
    ['a BOM before the JWS', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(jws)])],
  ];
  for (const [what, body, detail] of cases) {
    const res = await g.post(CONSENTS, body);
    tt.equal(res.status, 400, `${what} → 400`);
    tt.equal(res.json().errors[0]?.code, 'BAD_SIGNATURE', what);
    if (detail !== undefined) tt.equal(res.json().errors[0]?.detail, detail, `${what}: detail`);
  }
  tt.equal(upstream.requests.length, 0, 'nothing forwarded');
  const ok = await g.post(CONSENTS, `${jws}\r\n`);
  tt.equal(ok.status, 200, 'ASCII white space around the JWS is still tolerated (a body written by a shell tool)');
});
