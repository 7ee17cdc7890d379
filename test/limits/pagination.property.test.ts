// Properties of the pagination-key reader (SPEC §10, pagination follow-ups are free): it never throws
// whatever the upstream sends; it finds exactly the keys of the links.* URLs, whatever else the body
// holds; a request's key round-trips through URL encoding.
import t from 'tap';
import fc from 'fast-check';
import { paginationKeysIn, requestPaginationKey } from '../../src/limits/pagination.js';

const RUNS = Number(process.env.GUARITA_PROPERTY_RUNS ?? 100);
const key = fc.string({ minLength: 1, maxLength: 30 });

t.test('never throws on any bytes or any JSON', async (tt) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => Array.isArray(paginationKeysIn(Buffer.from(bytes)))), { numRuns: RUNS });
  fc.assert(fc.property(fc.jsonValue(), (value) => Array.isArray(paginationKeysIn(Buffer.from(JSON.stringify({ links: value, v: value }))))), { numRuns: RUNS });
  tt.pass(`${RUNS} runs each`);
});

t.test('finds exactly the keys of the links URLs', async (tt) => {
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 8 }), key, { maxKeys: 5 }), key, (links, decoy) => {
      const urls = Object.fromEntries(Object.entries(links).map(([name, k]) => [name, `https://api.bank.example/x?page=2&pagination-key=${encodeURIComponent(k)}`]));
      const body = Buffer.from(JSON.stringify({ data: { note: `/x?pagination-key=${encodeURIComponent(decoy)}` }, links: urls }));
      const found = paginationKeysIn(body).sort();
      // `self` repeats the request URL: not a key the bank handed out.
      const wanted = [...new Set(Object.entries(links).flatMap(([name, k]) => (name === 'self' ? [] : [k])))].sort();
      return JSON.stringify(found) === JSON.stringify(wanted);
    }),
    { numRuns: RUNS },
  );
  tt.pass(`${RUNS} runs`);
});

t.test("a request's key round-trips through URL encoding", async (tt) => {
  fc.assert(fc.property(key, (k) => requestPaginationKey(`/a/b?page=3&pagination-key=${encodeURIComponent(k)}`) === k), { numRuns: RUNS });
  tt.pass(`${RUNS} runs`);
});
