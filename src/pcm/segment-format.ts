/**
 * The spool's record format: one line per report, `<crc32 hex8> <arrival ms> <report JSON>\n`.
 * The CRC covers everything between the first space and the newline, so a torn or zero-filled tail
 * after a crash (or any corrupted byte) is recognised and skipped — never sent, never fatal — and
 * the records before and after it are still read. Pure functions: the property tests drive them.
 */
import { crc32 } from 'node:zlib';

const NEWLINE = 0x0a;

/** One record line, as bytes to append. */
export function encodeRecord(arrivedAt: number, json: string): Buffer {
  const body = `${Math.trunc(arrivedAt)} ${json}`;
  const sum = crc32(body).toString(16).padStart(8, '0');
  return Buffer.from(`${sum} ${body}\n`, 'utf8');
}

/** A record read back. */
export interface DecodedRecord {
  readonly arrivedAt: number;
  /** The report JSON, as written. */
  readonly json: string;
  /** Byte offset just past this record's newline (relative to the parsed buffer's start). */
  readonly end: number;
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
    else records.push({ ...record, end: nl + 1 });
    start = nl + 1;
  }
  return { records, corrupt, consumed: start };
}

function decodeLine(buf: Buffer, start: number, nl: number): Omit<DecodedRecord, 'end'> | undefined {
  // `<8 hex> <digits> {`: the shortest valid line is well over 12 bytes.
  if (nl - start < 13 || buf[start + 8] !== 0x20) return undefined;
  const sum = buf.toString('latin1', start, start + 8);
  if (!/^[0-9a-f]{8}$/.test(sum)) return undefined;
  const body = buf.subarray(start + 9, nl);
  if (crc32(body) !== Number.parseInt(sum, 16)) return undefined;
  const space = body.indexOf(0x20);
  if (space <= 0) return undefined;
  const arrivedAt = Number(body.toString('latin1', 0, space));
  if (!Number.isSafeInteger(arrivedAt)) return undefined;
  return { arrivedAt, json: body.toString('utf8', space + 1) };
}
