/**
 * PEM text (RFC 7468) → labelled DER blocks. Text only: the DER is handed to node:crypto or
 * @peculiar/x509 for parsing. Stricter than `PemConverter.decodeWithHeaders` (which silently drops a
 * truncated block or one whose body is not base64): a broken block is an error naming what is wrong.
 */

/** One `-----BEGIN <label>----- … -----END <label>-----` block. */
export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

export type PemParse =
  | { readonly ok: true; readonly blocks: readonly PemBlock[]; /** Text outside every block. */ readonly outside: string }
  | { readonly ok: false; readonly reason: string };

const BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;
/** Whitespace allowed inside a base64 body: line breaks, and the spaces or tabs some load balancers put in their place. */
const BODY_WHITESPACE = /[ \t\r\n]+/g;
/** Canonical base64 (RFC 4648 §4) with its padding. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Splits `text` into its PEM blocks; fails on a BEGIN line without its END line or a body that is not base64. */
export function parsePem(text: string): PemParse {
  const blocks: PemBlock[] = [];
  let outside = '';
  let cursor = 0;
  BEGIN.lastIndex = 0;
  for (let m = BEGIN.exec(text); m !== null; m = BEGIN.exec(text)) {
    const label = m[1] ?? '';
    const bodyStart = m.index + m[0].length;
    const endLine = `-----END ${label}-----`;
    const end = text.indexOf(endLine, bodyStart);
    const nextBegin = text.indexOf('-----BEGIN ', bodyStart);
    if (end < 0 || (nextBegin >= 0 && nextBegin < end)) {
      return { ok: false, reason: `a "BEGIN ${label}" line has no matching "END ${label}" line (truncated?)` };
    }
    const der = base64ToDer(text.slice(bodyStart, end));
    if (der === undefined) return { ok: false, reason: `the body of the ${label} block is not base64` };
    blocks.push({ label, der });
    outside += text.slice(cursor, m.index);
    cursor = end + endLine.length;
    BEGIN.lastIndex = cursor;
  }
  outside += text.slice(cursor);
  return { ok: true, blocks, outside };
}

/** Base64 (whitespace tolerated) → bytes, or undefined when it is not canonical, padded base64. */
export function base64ToDer(body: string): Buffer | undefined {
  const compact = body.replace(BODY_WHITESPACE, '');
  if (compact.length === 0 || !BASE64.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}
