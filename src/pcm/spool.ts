/**
 * The durable report queue of one PCM endpoint (SPEC §11: "a report is on disk in spoolDir before it
 * counts as taken"): append-only segment files plus a cursor file.
 *
 * - Appends go to the active segment `<seq>.seg` when the reporter writes (in the page cache: a
 *   process crash or kill -9 loses none of them) and are fdatasync'ed by `sync()` on an interval (a machine crash
 *   loses at most that interval); a failed or short write makes the next append open a new segment,
 *   so a torn line is never glued to the next.
 * - The sender reads a batch from the cursor and, once the PCM has it, commits: the cursor file is
 *   replaced atomically (write, fsync, rename, fsync the directory) and segments wholly before it are
 *   deleted. A crash between the PCM's answer and the commit resends that one batch (at least once).
 * - Every start opens a fresh segment: a tail torn by a crash stays where it is, is skipped as
 *   corrupt when read (segment-format.ts), and costs no earlier record.
 *
 * Why files and not SQLite: Node 20 has no built-in SQLite, a native binding is a build step and a
 * supply-chain dependency in a security gateway, and a FIFO with one reader needs nothing a database
 * adds — an append, an fsync and a cursor are the whole durability story, and they are testable.
 */
import { open, readdir, readFile, rename, rm, mkdir, writeFile, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { parseRecords } from './segment-format.js';

/** Where the next unread record starts. */
export interface Position {
  readonly seq: number;
  readonly offset: number;
}

export interface SpoolRecord {
  readonly arrivedAt: number;
  /** The report JSON (UTF-8 bytes, a view into the chunk read). */
  readonly json: Buffer;
}

/** Records read from the cursor on, not yet committed. */
export interface SpoolBatch {
  readonly records: readonly SpoolRecord[];
  /** Lines skipped as unreadable (torn or corrupted) in the range read. */
  readonly corrupt: number;
  /** Where the cursor goes once this batch is committed. */
  readonly end: Position;
}

export interface SpoolOptions {
  /** A segment past this size is closed and a new one opened. */
  readonly segmentBytes?: number;
}

const CURSOR = 'cursor.json';
const OWNER = 'owner.pid';
const SEGMENT = /^(\d{12})\.seg$/;
/** Bytes read at a time; a record is well under 1 KiB. */
const CHUNK = 1 << 20;
const name = (seq: number): string => `${String(seq).padStart(12, '0')}.seg`;

export class Spool {
  readonly dir: string;
  readonly #segmentBytes: number;
  /** Segment numbers on disk, ascending; the last is the active one when `#active` is open. */
  #segments: number[] = [];
  #cursor: Position = { seq: 0, offset: 0 };
  #active: FileHandle | undefined;
  #activeSeq = 0;
  #activeSize = 0;
  /** Whether the active segment holds appends not yet fdatasync'ed. */
  #unsynced = false;
  /** Valid records after the cursor. */
  #count = 0;
  /** Arrival (ms) of the first record after the cursor, when there is one. */
  #head: number | undefined;

  private constructor(dir: string, options: SpoolOptions) {
    this.dir = dir;
    this.#segmentBytes = options.segmentBytes ?? 8 << 20;
  }

  /** Open (creating the directory), recover the cursor and count the backlog. Throws when unusable. */
  static async open(dir: string, options: SpoolOptions = {}): Promise<Spool> {
    const spool = new Spool(dir, options);
    await mkdir(dir, { recursive: true });
    await spool.#lock();
    await spool.#recover();
    await spool.#openSegment();
    return spool;
  }

  /** Valid records waiting to be sent. */
  get count(): number {
    return this.#count;
  }

  /** Arrival time (epoch ms) of the oldest record waiting, if any. */
  get oldest(): number | undefined {
    return this.#count === 0 ? undefined : this.#head;
  }

  async #recover(): Promise<void> {
    try {
      const saved = JSON.parse(await readFile(join(this.dir, CURSOR), 'utf8')) as Partial<Position>;
      if (Number.isSafeInteger(saved.seq) && Number.isSafeInteger(saved.offset)) this.#cursor = { seq: saved.seq as number, offset: saved.offset as number };
    } catch {
      // no cursor yet (or unreadable: read everything again — at least once)
    }
    const seqs = (await readdir(this.dir)).flatMap((f) => {
      const m = SEGMENT.exec(f);
      return m === null ? [] : [Number(m[1])];
    });
    seqs.sort((a, b) => a - b);
    for (const seq of seqs) if (seq < this.#cursor.seq) await rm(join(this.dir, name(seq)), { force: true });
    this.#segments = seqs.filter((s) => s >= this.#cursor.seq);
    for (const seq of this.#segments) {
      const bytes = await readFile(join(this.dir, name(seq)));
      const from = seq === this.#cursor.seq ? Math.min(this.#cursor.offset, bytes.length) : 0;
      const parsed = parseRecords(bytes.subarray(from));
      this.#count += parsed.records.length;
      this.#head ??= parsed.records[0]?.arrivedAt;
    }
    this.#activeSeq = Math.max(this.#cursor.seq, ...this.#segments) + 1;
  }

  async #openSegment(): Promise<void> {
    const seq = this.#activeSeq;
    this.#active = await open(join(this.dir, name(seq)), 'a');
    this.#activeSize = 0;
    this.#segments.push(seq);
    await this.#syncDir();
  }

  /**
   * Append whole record lines (written, not yet fdatasync'ed: see `sync`). On any failure none of
   * them count (the caller keeps them all and retries: a line that did land is then sent twice —
   * at least once), and the next append starts a new segment. `records`: how many lines they hold
   * (the reporter passes its lines joined in one buffer).
   */
  async append(lines: readonly Buffer[], firstArrival: number, records = lines.length): Promise<void> {
    if (this.#active === undefined) {
      this.#activeSeq = Math.max(this.#activeSeq, ...this.#segments) + 1;
      await this.#openSegment();
    }
    const handle = this.#active as FileHandle;
    const buf = lines.length === 1 ? (lines[0] as Buffer) : Buffer.concat(lines as Buffer[]);
    let written = 0;
    try {
      while (written < buf.length) {
        const { bytesWritten } = await handle.write(buf, written, buf.length - written);
        if (bytesWritten === 0) throw Object.assign(new Error('short write to the spool'), { code: 'EIO' });
        written += bytesWritten;
      }
      // A segment is fdatasync'ed before it is closed: `sync` only reaches the active one.
      if (this.#activeSize + buf.length >= this.#segmentBytes) await handle.datasync();
    } catch (err) {
      // This segment may now end in a torn line: never append to it again.
      this.#active = undefined;
      await handle.close().catch(() => undefined);
      throw err;
    }
    if (this.#count === 0) this.#head = firstArrival;
    this.#count += records;
    this.#activeSize += buf.length;
    this.#unsynced = this.#activeSize < this.#segmentBytes;
    if (!this.#unsynced) {
      this.#active = undefined;
      await handle.close();
    }
  }

  /** fdatasync what was appended since the last call (a machine crash then loses none of it). */
  async sync(): Promise<void> {
    const handle = this.#active;
    if (!this.#unsynced || handle === undefined) return;
    this.#unsynced = false;
    try {
      await handle.datasync();
    } catch (err) {
      this.#unsynced = true;
      throw err;
    }
  }

  /** Up to `max` records from the cursor on, in order. Reads only what was appended whole. */
  async readBatch(max: number): Promise<SpoolBatch> {
    const records: SpoolRecord[] = [];
    let corrupt = 0;
    let { seq, offset } = this.#cursor;
    for (const s of this.#segments) {
      if (s < seq) continue;
      if (s > seq) {
        seq = s;
        offset = 0;
      }
      const open = s === this.#activeSeq && this.#active !== undefined;
      const limit = open ? this.#activeSize : await sizeOf(join(this.dir, name(s)));
      if (offset < limit) {
        const handle = await openForRead(join(this.dir, name(s)));
        if (handle === undefined) continue;
        try {
          while (offset < limit && records.length < max) {
            const length = Math.min(CHUNK, limit - offset);
            const buf = Buffer.allocUnsafe(length);
            const { bytesRead } = await handle.read(buf, 0, length, offset);
            const parsed = parseRecords(buf.subarray(0, bytesRead), max - records.length);
            for (const r of parsed.records) records.push(r);
            corrupt += parsed.corrupt;
            if (parsed.consumed > 0) {
              offset += parsed.consumed;
              continue;
            }
            // No newline in what is left: a line torn by a crash (the end of a closed segment) or
            // a corrupted run longer than a chunk. Either way it is skipped, once.
            corrupt++;
            offset += bytesRead === 0 ? limit - offset : bytesRead;
          }
        } finally {
          await handle.close();
        }
      }
      if (records.length >= max) break;
    }
    return { records, corrupt, end: { seq, offset } };
  }

  /**
   * The PCM has the batch (or its records expired): move the cursor past it, durably, and delete
   * the segments it leaves behind. `consumed` is the number of valid records in the batch.
   */
  async commit(batch: SpoolBatch): Promise<void> {
    const tmp = join(this.dir, `${CURSOR}.tmp`);
    await writeFile(tmp, JSON.stringify(batch.end));
    const handle = await open(tmp, 'r+');
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(this.dir, CURSOR));
    await this.#syncDir();
    this.#cursor = batch.end;
    // Corrupt lines were counted when written whole (a torn tail never was): the clamp covers both.
    this.#count = Math.max(0, this.#count - batch.records.length - batch.corrupt);
    const gone = this.#segments.filter((s) => s < batch.end.seq);
    this.#segments = this.#segments.filter((s) => s >= batch.end.seq);
    for (const s of gone) await rm(join(this.dir, name(s)), { force: true });
    this.#head = this.#count === 0 ? undefined : (await this.readBatch(1)).records[0]?.arrivedAt;
  }

  async close(): Promise<void> {
    await this.sync().catch(() => undefined);
    const handle = this.#active;
    this.#active = undefined;
    await handle?.close();
    try {
      if ((await readFile(join(this.dir, OWNER), 'utf8')).trim() === String(process.pid)) await rm(join(this.dir, OWNER), { force: true });
    } catch {
      // no lock to release
    }
  }

  /**
   * One process per spool: two writers would interleave segments and overwrite each other's cursor
   * (lost or resent batches). A lock left by a process that is gone (kill -9) is taken over; one
   * held by a live process refuses the spool (ELOCKED: logged, counted, /readyz `pcm` down).
   */
  async #lock(): Promise<void> {
    const file = join(this.dir, OWNER);
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(file, 'utf8')).trim());
    if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw Object.assign(new Error(`spool ${this.dir} is in use by process ${owner} (one spoolDir per gateway process)`), { code: 'ELOCKED' });
    }
    await writeFile(file, String(process.pid));
  }

  async #syncDir(): Promise<void> {
    const handle = await open(this.dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A segment's size; 0 when it is gone. Any other failure throws (see openForRead). */
async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/**
 * A segment to read, or undefined when it is gone (deleted once sent). Any other failure throws, so
 * the sender reports the spool down (regression: an unreadable spool stopped delivery silently).
 */
async function openForRead(file: string): Promise<FileHandle | undefined> {
  try {
    return await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
