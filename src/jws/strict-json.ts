/**
 * Strict JSON for JOSE: `JSON.parse` semantics, except that an object repeating a member name (at
 * any depth) is refused. RFC 7515 §4 and RFC 7519 §4: a JOSE header or claims set with duplicate
 * names must be rejected (or only the last kept) — parsers that keep the first and parsers that keep
 * the last would read `{"alg":"none","alg":"PS256"}` differently, and the upstream receives the
 * original bytes (SPEC §2).
 *
 * {@link findJsonFlaw} is one iterative pass over the text (no recursion, so nesting depth cannot
 * overflow the stack) that validates the RFC 8259 grammar exactly as `JSON.parse` does and compares
 * member names after unescaping (`"alg"` and `"\u0061lg"` are the same name). It allocates only the
 * member-name strings and one small list per object; the values are then built by `JSON.parse`.
 */

/** Why a text is not strict JSON. */
export interface JsonFlaw {
  /** `syntax`: not JSON at all (what `JSON.parse` refuses); `duplicate`: an object repeats `member`. */
  readonly kind: 'syntax' | 'duplicate';
  /** UTF-16 offset where the scan stopped. */
  readonly at: number;
  /** The repeated member name (unescaped), for `duplicate`. */
  readonly member?: string;
}

/** Thrown by {@link parseStrictJson}; the `flaw` says which rule the text broke. */
export class StrictJsonError extends SyntaxError {
  readonly flaw: JsonFlaw;
  constructor(flaw: JsonFlaw) {
    super(flaw.kind === 'duplicate' ? 'JSON object repeats a member name' : 'not JSON');
    this.name = 'StrictJsonError';
    this.flaw = flaw;
  }
}

/** Objects with more members than this switch from a linear scan to a Set for the name check. */
const LINEAR_MEMBERS = 16;

const QUOTE = 0x22; // "
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** An open container: an array (null) or an object's member names so far. */
type Frame = string[] | Set<string> | null;

/** Set by scanString: the last string scanned held a backslash escape. */
let lastStringEscaped = false;

/**
 * Undefined when `text` is JSON that `JSON.parse` accepts and no object in it repeats a member
 * name; else a `syntax` flaw when `JSON.parse` would refuse the text, else the first repeat in
 * document order.
 */
export function findJsonFlaw(text: string): JsonFlaw | undefined {
  const n = text.length;
  const stack: Frame[] = [];
  // A repeat is remembered and the scan goes on: text that is not JSON at all is reported as such.
  repeated = undefined;
  let i = skipWhitespace(text, 0);
  // Each turn of the loop reads one value at i, then closes containers and consumes separators up
  // to the start of the next value.
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === OPEN_BRACE) {
      i = skipWhitespace(text, i + 1);
      if (text.charCodeAt(i) === CLOSE_BRACE) {
        i++;
      } else {
        stack.push([]);
        i = memberName(text, i, stack);
        if (i < 0) return { kind: 'syntax', at: -i - 1 };
        continue;
      }
    } else if (c === OPEN_BRACKET) {
      i = skipWhitespace(text, i + 1);
      if (text.charCodeAt(i) === CLOSE_BRACKET) {
        i++;
      } else {
        stack.push(null);
        continue;
      }
    } else if (c === QUOTE) {
      i = scanString(text, i);
      if (i < 0) return { kind: 'syntax', at: -i - 1 };
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      i = scanNumber(text, i);
      if (i < 0) return { kind: 'syntax', at: -i - 1 };
    } else if (text.startsWith('true', i)) {
      i += 4;
    } else if (text.startsWith('false', i)) {
      i += 5;
    } else if (text.startsWith('null', i)) {
      i += 4;
    } else {
      return { kind: 'syntax', at: i };
    }

    // After a value: close what ends here, then find where the next value starts.
    for (;;) {
      i = skipWhitespace(text, i);
      if (stack.length === 0) {
        if (i !== n) return { kind: 'syntax', at: i };
        return repeated === undefined ? undefined : { kind: 'duplicate', at: repeatedAt, member: repeated };
      }
      const top = stack[stack.length - 1];
      const d = text.charCodeAt(i);
      if (d === COMMA) {
        i = skipWhitespace(text, i + 1);
        if (top !== null) {
          i = memberName(text, i, stack);
          if (i < 0) return { kind: 'syntax', at: -i - 1 };
        }
        break;
      }
      if (d === (top === null ? CLOSE_BRACKET : CLOSE_BRACE)) {
        stack.pop();
        i++;
        continue;
      }
      return { kind: 'syntax', at: i };
    }
  }
}

/**
 * `JSON.parse(text)`, refusing what {@link findJsonFlaw} finds.
 * @throws StrictJsonError
 */
export function parseStrictJson(text: string): unknown {
  const flaw = findJsonFlaw(text);
  if (flaw !== undefined) throw new StrictJsonError(flaw);
  return JSON.parse(text) as unknown;
}

/** The first repeated member name found by memberName in this scan, and where. */
let repeated: string | undefined;
let repeatedAt = 0;

/**
 * Read `"name" :` at i (white space before it already skipped) into the object on top of the
 * stack, noting the first repeated name. Returns the index of the member's value, or -(index + 1)
 * of a syntax error.
 */
function memberName(text: string, i: number, stack: Frame[]): number {
  if (text.charCodeAt(i) !== QUOTE) return -i - 1;
  const end = scanString(text, i);
  if (end < 0) return end;
  // Most names need no unescaping; escaped ones are decoded so "\u0061lg" equals "alg".
  const name = lastStringEscaped ? (JSON.parse(text.slice(i, end)) as string) : text.slice(i + 1, end - 1);
  const top = stack.length - 1;
  const names = stack[top] as string[] | Set<string>;
  if (Array.isArray(names)) {
    if (!names.includes(name)) {
      names.push(name);
      if (names.length > LINEAR_MEMBERS) stack[top] = new Set(names);
    } else if (repeated === undefined) {
      repeated = name;
      repeatedAt = i;
    }
  } else if (!names.has(name)) {
    names.add(name);
  } else if (repeated === undefined) {
    repeated = name;
    repeatedAt = i;
  }
  const colon = skipWhitespace(text, end);
  if (text.charCodeAt(colon) !== COLON) return -colon - 1;
  return skipWhitespace(text, colon + 1);
}

/** RFC 8259 §2: the four insignificant white-space characters, nothing else. */
function skipWhitespace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/**
 * RFC 8259 §7: a string without escapes (the common case), and any string; control characters
 * must be escaped inside strings, hence their range in the patterns. Sticky: matched at lastIndex.
 */
// eslint-disable-next-line no-control-regex -- RFC 8259 §7 refuses raw U+0000–U+001F in strings
const PLAIN_STRING = /"[^"\\\x00-\x1f]*"/y;
// eslint-disable-next-line no-control-regex -- as above
const STRING = /"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4}))*"/y;

/**
 * RFC 8259 §7: the string starting at the quote at i. Returns the index after its closing quote,
 * or -(i + 1) when no valid string starts there. V8 compiles the sticky patterns to machine code,
 * which is faster than a charCodeAt loop.
 */
function scanString(text: string, i: number): number {
  PLAIN_STRING.lastIndex = i;
  if (PLAIN_STRING.test(text)) {
    lastStringEscaped = false;
    return PLAIN_STRING.lastIndex;
  }
  STRING.lastIndex = i;
  if (STRING.test(text)) {
    lastStringEscaped = true;
    return STRING.lastIndex;
  }
  return -i - 1;
}

/** RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. */
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** The number at i: the index after it, or -(i + 1). */
function scanNumber(text: string, i: number): number {
  NUMBER.lastIndex = i;
  return NUMBER.test(text) ? NUMBER.lastIndex : -i - 1;
}
