/**
 * fast-check arbitraries for the JWS property tests: JSON documents that may repeat member names
 * (with the reference answer computed independently of src/jws/strict-json.ts), and JSON-ish noise.
 */
import fc from 'fast-check';

/** A JSON document as a tree, so members can repeat (a JS object cannot hold two equal names). */
export type JsonTree =
  | { readonly kind: 'object'; readonly members: readonly (readonly [string, JsonTree])[] }
  | { readonly kind: 'array'; readonly items: readonly JsonTree[] }
  | { readonly kind: 'leaf'; readonly text: string };

/** Member names from a small pool (so repeats are common), some needing escapes. */
const memberName = fc.constantFrom('a', 'b', 'alg', 'kid', 'jti', 'iss', 'é', '\u0000', '"', '\\', 'a b', '💳', '');

/** Leaf values as JSON text, including the number spellings JSON allows. */
const leaf = fc.oneof(
  fc.constantFrom('true', 'false', 'null', '0', '-0', '1e5', '1E+2', '-1.5e-3', '0.5', '123456789012345678901234567890', '"x"', '""', '"\\u00e9\\n"'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.string({ unit: 'binary', maxLength: 8 }).map((s) => JSON.stringify(s)),
);

export const jsonTree: fc.Arbitrary<JsonTree> = fc.letrec<{ tree: JsonTree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf.map((text): JsonTree => ({ kind: 'leaf', text })),
    fc.array(fc.tuple(memberName, tie('tree')), { maxLength: 5 }).map((members): JsonTree => ({ kind: 'object', members })),
    fc.array(tie('tree'), { maxLength: 4 }).map((items): JsonTree => ({ kind: 'array', items })),
  ),
})).tree;

/** An object at the top (JOSE headers and claims sets are objects). */
export const jsonObjectTree: fc.Arbitrary<JsonTree> = fc
  .array(fc.tuple(memberName, jsonTree), { maxLength: 6 })
  .map((members): JsonTree => ({ kind: 'object', members }));

export interface Spelling {
  /** White space put between every two tokens (RFC 8259 §2 allows it anywhere between them). */
  readonly ws: string;
  /** Spell every member-name character as a \u escape. */
  readonly escapeNames: boolean;
}

export const spelling: fc.Arbitrary<Spelling> = fc.record({
  ws: fc.constantFrom('', ' ', '\n', '\t\r\n ', '  '),
  escapeNames: fc.boolean(),
});

/** The JSON text of a tree. */
export function serialize(tree: JsonTree, how: Spelling = { ws: '', escapeNames: false }): string {
  const w = how.ws;
  switch (tree.kind) {
    case 'leaf':
      return tree.text;
    case 'array':
      return `[${w}${tree.items.map((i) => serialize(i, how)).join(`${w},${w}`)}${w}]`;
    case 'object':
      return `{${w}${tree.members.map(([k, v]) => `${name(k, how.escapeNames)}${w}:${w}${serialize(v, how)}`).join(`${w},${w}`)}${w}}`;
  }
}

function name(k: string, escape: boolean): string {
  if (!escape) return JSON.stringify(k);
  let out = '"';
  for (let i = 0; i < k.length; i++) out += `\\u${k.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return `${out}"`;
}

/**
 * The first member name that repeats within one object, in document order (a member's name is
 * seen before its value), or undefined. The reference answer for the strict-JSON scanner.
 */
export function firstRepeat(tree: JsonTree): string | undefined {
  if (tree.kind === 'leaf') return undefined;
  if (tree.kind === 'array') {
    for (const item of tree.items) {
      const found = firstRepeat(item);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const seen = new Set<string>();
  for (const [k, v] of tree.members) {
    if (seen.has(k)) return k;
    seen.add(k);
    const found = firstRepeat(v);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Edit a text: replace, insert or delete characters, mostly JSON punctuation and number parts. */
export function mutated(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const piece = fc.oneof(
    fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', 'u', '0', '1', '.', 'e', '-', '+', ' ', '\u00a0', '\ufeff', 'n', 't', '\u0001', '\\u12', '\\uD800', 'x'),
    fc.string({ unit: 'binary', maxLength: 2 }),
  );
  const edit = fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.constantFrom('replace', 'insert', 'delete'), piece);
  return fc.tuple(base, fc.array(edit, { minLength: 1, maxLength: 3 })).map(([text, edits]) => {
    let out = text;
    for (const [at, len, op, p] of edits) {
      const i = out.length === 0 ? 0 : at % (out.length + 1);
      if (op === 'insert') out = out.slice(0, i) + p + out.slice(i);
      else if (op === 'delete') out = out.slice(0, i) + out.slice(i + len + 1);
      else out = out.slice(0, i) + p + out.slice(i + len + 1);
    }
    return out;
  });
}
