// Properties of the strict JSON scanner (src/jws/strict-json.ts): exactly JSON.parse's grammar,
// plus refusing a member name repeated within one object (RFC 7515 §4, SPEC §2).
import t from 'tap';
import fc from 'fast-check';
import { findJsonFlaw, parseStrictJson, StrictJsonError } from '../../src/jws/strict-json.js';
import { firstRepeat, jsonTree, mutated, serialize, spelling } from './arbitraries.js';

const RUNS = { numRuns: 500 };

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

t.test('a generated document: no flaw iff no object repeats a name; otherwise the first repeat, in document order', async (tt) => {
  fc.assert(
    fc.property(jsonTree, spelling, (tree, how) => {
      const text = serialize(tree, how);
      const repeat = firstRepeat(tree);
      const flaw = findJsonFlaw(text);
      if (repeat === undefined) {
        if (flaw !== undefined) throw new Error(`flaw ${JSON.stringify(flaw)} in ${JSON.stringify(text)}`);
        // JSON.parse semantics otherwise: the same value.
        tt.strictSame(parseStrictJson(text), JSON.parse(text));
      } else {
        if (flaw?.kind !== 'duplicate' || flaw.member !== repeat) throw new Error(`expected repeat ${JSON.stringify(repeat)}, got ${JSON.stringify(flaw)} for ${JSON.stringify(text)}`);
      }
    }),
    RUNS,
  );
  tt.pass('500 documents');
});

t.test('agrees with JSON.parse on what is JSON at all: random strings and edited documents', async (tt) => {
  const texts = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', '0', '1', '-', '.', 'e', 'E', '+', ' ', 'a', 'u', 'true', 'null'), maxLength: 30 }),
    mutated(fc.tuple(jsonTree, spelling).map(([tree, how]) => serialize(tree, how))),
  );
  fc.assert(
    fc.property(texts, (text) => {
      const flaw = findJsonFlaw(text);
      const ok = parses(text);
      // A syntax flaw exactly when JSON.parse refuses; a repeat is reported only in text JSON.parse accepts.
      if ((flaw?.kind === 'syntax') === ok) throw new Error(`scanner ${JSON.stringify(flaw)} vs JSON.parse ${ok} for ${JSON.stringify(text)}`);
    }),
    { numRuns: 1000 },
  );
  tt.pass('1000 texts');
});

t.test('parseStrictJson throws only StrictJsonError', async (tt) => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary' }), mutated(jsonTree.map((x) => serialize(x)))), (text) => {
      try {
        parseStrictJson(text);
      } catch (err) {
        if (!(err instanceof StrictJsonError)) throw err;
      }
    }),
    RUNS,
  );
  tt.pass();
});

t.test('deep nesting cannot overflow the stack; numbers and escapes at the end of the text', async (tt) => {
  const deep = '['.repeat(200_000) + ']'.repeat(200_000);
  tt.equal(findJsonFlaw(deep), undefined, '200 000 nested arrays');
  tt.equal(findJsonFlaw('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)), undefined, '100 000 nested objects');
  tt.equal(findJsonFlaw('['.repeat(200_000))?.kind, 'syntax', 'unclosed');
  for (const text of ['1', '-', '1.', '1e', '1e+', '"\\u12', '"\\', '"', 'tru', '{"a"', '{"a":', '{"a":1', '[1,', '01', '-01', '1.e5', '.5', '+1', 'NaN', 'Infinity', '\ufeff{}', '{}\u00a0', '{"a":1,}', '[1,]', '"\t"', '"\u007f"', '{"a":1}{"b":2}']) {
    tt.equal(findJsonFlaw(text)?.kind === 'syntax', !parses(text), JSON.stringify(text));
  }
  tt.same(findJsonFlaw('{"a":1,"\\u0061":2}'), { kind: 'duplicate', at: 7, member: 'a' }, 'an escaped spelling of the same name');
  tt.equal(findJsonFlaw('{"a":1,"a":2,}')?.kind, 'syntax', 'a repeat in text that is not JSON anyway: reported as not JSON');
  tt.equal(findJsonFlaw('{"a":1,"A":2,"a ":3,"\\/":4,"/":5}')?.member, '/', 'names compared exactly, after unescaping');
  const wide = `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"k7":0}`;
  tt.equal(findJsonFlaw(wide)?.member, 'k7', 'past the linear scan, the Set finds the repeat');
});
