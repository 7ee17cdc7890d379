// Property tests of the OFB catalogue lookup (src/ofb/catalogue.ts): random methods and paths never
// throw and match only what a naive reading of the templates allows; an encoded slash or backslash
// never fills a {param}; every template instantiated with safe ids is found, with the last id as
// resourceId; of several matching templates the literal-first one wins.
import t from 'tap';
import fc from 'fast-check';
import { OFB_ENDPOINTS, findEndpoint, type OfbEndpoint } from '../../src/ofb/catalogue.js';

const RUNS = Number(process.env.GUARITA_PROPERTY_RUNS ?? 1) * 1000;

const PARAM = /^\{[A-Za-z]+\}$/;
const segmentsOf = (e: OfbEndpoint) => e.template.split('/');
/** Every literal segment of the catalogue: the vocabulary of paths that come close to a template. */
const LITERALS = [...new Set(OFB_ENDPOINTS.flatMap((e) => segmentsOf(e).filter((s) => s !== '' && !PARAM.test(s))))];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'get', ''];

/** The reference reading of a template: same segment count, literals equal, params non-empty without %2F/%5C. */
function naive(e: OfbEndpoint, method: string, path: string): boolean {
  if (e.method !== (method === 'HEAD' ? 'GET' : method)) return false;
  const want = segmentsOf(e);
  const got = path.split('/');
  return want.length === got.length && want.every((s, i) => (PARAM.test(s) ? (got[i] as string).length > 0 && !/%2f|%5c/i.test(got[i] as string) : s === got[i]));
}

/** Kind sequence for "literal first": 0 literal, 1 param; the smallest sequence wins. */
const kinds = (e: OfbEndpoint) => segmentsOf(e).map((s) => (PARAM.test(s) ? 1 : 0));
function literalFirst(a: OfbEndpoint, b: OfbEndpoint): number {
  const ka = kinds(a);
  const kb = kinds(b);
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) if (ka[i] !== kb[i]) return (ka[i] as number) - (kb[i] as number);
  return 0;
}

const safeId = fc.stringMatching(/^[A-Za-z0-9._~:-]{1,40}$/).filter((id) => !LITERALS.includes(id));
const encodedSlash = fc.tuple(fc.stringMatching(/^[A-Za-z0-9-]{0,8}$/), fc.constantFrom('%2F', '%2f', '%5C', '%5c'), fc.stringMatching(/^[A-Za-z0-9-]{0,8}$/)).map((p) => p.join(''));
const endpoint = fc.constantFrom(...OFB_ENDPOINTS);

/** A template with each {param} replaced by one of the given generator's values. */
function instantiate(e: OfbEndpoint, ids: fc.Arbitrary<string>): fc.Arbitrary<{ path: string; ids: string[] }> {
  const segments = segmentsOf(e);
  const params = segments.filter((s) => PARAM.test(s)).length;
  return fc.array(ids, { minLength: params, maxLength: params }).map((values) => {
    let next = 0;
    return { path: segments.map((s) => (PARAM.test(s) ? (values[next++] as string) : s)).join('/'), ids: values };
  });
}

t.test('random methods and paths: never throws; a match is one the templates allow, literal-first', async (tt) => {
  const nearPath = fc.array(fc.oneof(fc.constantFrom(...LITERALS), safeId, encodedSlash, fc.constant(''), fc.string({ maxLength: 6 })), { maxLength: 9 }).map((parts) => `/${parts.join('/')}`);
  const closePath = endpoint.chain((e) => instantiate(e, fc.oneof(safeId, fc.constantFrom(...LITERALS)))).map((x) => x.path);
  fc.assert(
    fc.property(fc.constantFrom(...METHODS), fc.oneof(fc.string(), fc.string({ unit: 'binary' }), nearPath, closePath), (method, path) => {
      const found = findEndpoint(method, path);
      const candidates = OFB_ENDPOINTS.filter((e) => naive(e, method, path));
      if (found === undefined) return candidates.length === 0;
      if (!candidates.includes(found.endpoint)) return false;
      return candidates.every((c) => literalFirst(found.endpoint, c) <= 0);
    }),
    { numRuns: RUNS },
  );
  tt.pass('held');
});

t.test('an encoded slash or backslash never fills a {param}', async (tt) => {
  fc.assert(
    fc.property(
      endpoint.filter((e) => e.template.includes('{')),
      fc.nat(),
      encodedSlash,
      (e, n, bad) => {
        // One of the template's params (the n-th, cyclically) holds the encoded slash, the others a safe id.
        const params = segmentsOf(e).filter((s) => PARAM.test(s)).length;
        let i = 0;
        const path = e.template.replace(/\{[A-Za-z]+\}/g, () => (i++ === n % params ? bad : 'id-1'));
        return findEndpoint(e.method, path) === undefined;
      },
    ),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(endpoint.chain((e) => instantiate(e, fc.oneof(safeId, encodedSlash))), fc.constantFrom(...METHODS), ({ path }, method) => {
      const found = findEndpoint(method, path);
      if (found === undefined) return true;
      const segments = segmentsOf(found.endpoint);
      return path.split('/').every((part, i) => !PARAM.test(segments[i] as string) || !/%2f|%5c/i.test(part));
    }),
    { numRuns: RUNS },
  );
  tt.pass('held');
});

t.test('every template instantiated with safe ids is found, with the last id as resourceId', async (tt) => {
  fc.assert(
    fc.property(endpoint.chain((e) => instantiate(e, safeId).map((x) => ({ e, ...x }))), ({ e, path, ids }) => {
      const found = findEndpoint(e.method, path);
      return found?.endpoint === e && found.resourceId === (ids.at(-1) ?? '');
    }),
    { numRuns: RUNS },
  );
  tt.pass('held');
});
