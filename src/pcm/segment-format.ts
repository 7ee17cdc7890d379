/**
 * The spool's record format: one line per report, `<crc32 hex8> <arrival ms> <report JSON>\n`.
 * The CRC covers everything between the first space and the newline, so a torn or zero-filled tail
 * after a crash (or any corrupted byte) is recognised and skipped — never sent, never fatal — and
 * the records before and after it are still read. Pure functions: the property tests drive them.
 */
import { crc32 } from 'node:zlib';

const NEWLINE = 0x0a;
const SPACE = 0x20;

/**
 * One record line as text: the reporter queues text and encodes each write whole, so taking a
 * report allocates no Buffer (crc32 reads a string as its UTF-8 bytes, as Buffer.from writes it).
 */
export function recordLine(arrivedAt: number, json: string): string {
  const body = `${Math.trunc(arrivedAt)} ${json}`;
  return `${crc32(body).toString(16).padStart(8, '0')} ${body}\n`;
}

/** One record line, as bytes to append. */
export function encodeRecord(arrivedAt: number, json: string): Buffer {
  return Buffer.from(recordLine(arrivedAt, json), 'utf8');
}

/** A record read back. */
export interface DecodedRecord {
  readonly arrivedAt: number;
  /**
   * The report JSON as written (UTF-8), a view into the parsed buffer: batches are built from
   * these bytes without decoding them to strings and back.
   */
  readonly json: Buffer;
}

export interface ParsedChunk {
  readonly records: DecodedRecord[];
  /** Complete lines that failed their check (torn, zero-filled or corrupted): skipped. */
  readonly corrupt: number;
  /** Offset just past the last complete line (newline) in the buffer; bytes after it are an unfinished line. */
  readonly consumed: number;
}

/**
 * Parse every complete line of `buf` (at most `max` valid records). Bytes after the last newline
 * are left unconsumed: the caller decides whether they are a line still being read or a torn tail.
 */
export function parseRecords(buf: Buffer, max = Number.POSITIVE_INFINITY): ParsedChunk {
  const records: DecodedRecord[] = [];
  let corrupt = 0;
  let start = 0;
  while (records.length < max) {
    const nl = buf.indexOf(NEWLINE, start);
    if (nl === -1) break;
    const record = decodeLine(buf, start, nl);
    if (record === undefined) corrupt++;
    else records.push(record);
    start = nl + 1;
  }
  return { records, corrupt, consumed: start };
}

/** Read byte by byte: no string is made for the checksum or the arrival time. */
function decodeLine(buf: Buffer, start: number, nl: number): DecodedRecord | undefined {
  // `<8 hex> <digits> {`: the shortest valid line is well over 12 bytes.
  if (nl - start < 13 || buf[start + 8] !== SPACE) return undefined;
  let sum = 0;
  for (let i = start; i < start + 8; i++) {
    const digit = hexValue(buf[i] as number);
    if (digit === -1) return undefined;
    sum = sum * 16 + digit;
  }
  const body = buf.subarray(start + 9, nl);
  if (crc32(body) !== sum) return undefined;
  let arrivedAt = 0;
  let i = 0;
  for (; i < body.length && body[i] !== SPACE; i++) {
    const c = (body[i] as number) - 0x30;
    if (c < 0 || c > 9) return undefined;
    arrivedAt = arrivedAt * 10 + c;
  }
  if (i === 0 || i >= body.length || !Number.isSafeInteger(arrivedAt)) return undefined;
  return { arrivedAt, json: body.subarray(i + 1) };
}

/** Lower-case hex digits only, as encodeRecord writes them; -1 for anything else. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}
