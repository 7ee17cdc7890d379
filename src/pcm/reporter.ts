/**
 * The PCM reporter (SPEC §11): takes one report per answered catalogue call without making the
 * request wait, makes it durable in the spool, and sends the spool to the PCM in the background.
 *
 * record()  — synchronous: the report line goes to an in-memory queue bounded by `maxQueueBytes`
 *             (past it: dropped and counted; PCM is off the request's path, so a full queue never
 *             refuses a request).
 * at once   — the queue is appended to the spool (coalesced: one write in flight, what arrives
 *             meanwhile goes in the next), so a process crash or kill -9 loses no report taken;
 * every `syncIntervalMs` — the spool is fdatasync'ed (a machine crash loses at most that interval);
 *             a spool that cannot be written is logged once, counted, shown on /readyz, and retried.
 * sending   — at least every `flushSeconds`, and at once when a full batch of 5,000 waits: batches
 *             of at most 5,000 from the spool's cursor; 200/207 commit the batch (207's DISCARDED
 *             items are logged and counted, never resent); anything else keeps it and retries with
 *             exponential backoff from 1 s up to `maxBackoffSeconds`. Reports older than 7 days are
 *             dropped and counted (the PCM discards them anyway).
 * close()   — SIGTERM: what is queued is written, then one last send within the drain bound;
 *             what is left stays in the spool for the next start.
 */
import type { FastifyBaseLogger } from 'fastify';
import { recordLine } from './segment-format.js';
import { Spool, type SpoolBatch, type SpoolRecord } from './spool.js';
import { PcmClient, type BatchOutcome } from './pcm-client.js';
import type { ReportKind } from './report.js';
import type { PcmSettings } from './settings.js';

/** pcm-specs: at most 5,000 reports per POST. */
export const MAX_BATCH = 5000;
/** operations.md: the PCM discards reports older than 7 days. */
export const MAX_REPORT_AGE_MS = 7 * 24 * 3600 * 1000;
const FIRST_BACKOFF_MS = 1000;
const REOPEN_EVERY_MS = 1000;

/** Counts of one report kind, for /metrics. */
export interface ChannelStats {
  sent: number;
  discarded: number;
  expired: number;
  dropped: number;
  corrupt: number;
  /** Reports waiting (in memory and in the spool). */
  backlog: number;
  /** Arrival (epoch ms) of the oldest waiting report. */
  oldest: number | undefined;
}

export interface ReporterOptions {
  readonly log?: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
  /** Clock (epoch ms); tests move it. */
  readonly now?: () => number;
  /** Segment size of the spools (tests use small ones). */
  readonly segmentBytes?: number;
}

export class PcmReporter {
  readonly #settings: PcmSettings;
  readonly #client: PcmClient;
  readonly #log: ReporterOptions['log'];
  readonly #now: () => number;
  readonly #channels: Record<ReportKind, Channel>;
  /** Bytes waiting in memory, all channels together (the `maxQueueBytes` bound). */
  queuedBytes = 0;
  /** Failed spool writes or opens. */
  spoolFailures = 0;
  #timer: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(settings: PcmSettings, options: ReporterOptions = {}) {
    this.#settings = settings;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#client = new PcmClient({ ...settings, now: this.#now });
    const channel = (kind: ReportKind, url: string) => new Channel(this, kind, url, `${settings.spoolDir}/${kind}`, options.segmentBytes);
    this.#channels = { server: channel('server', settings.reportUrl), opendata: channel('opendata', settings.openDataReportUrl) };
  }

  get settings(): PcmSettings {
    return this.#settings;
  }
  get client(): PcmClient {
    return this.#client;
  }
  get log(): ReporterOptions['log'] {
    return this.#log;
  }
  now(): number {
    return this.#now();
  }

  /** Open the spools (a failure is logged, shown on /readyz and retried) and start the timer. */
  async start(): Promise<void> {
    await Promise.all(Object.values(this.#channels).map((c) => c.open()));
    this.#timer = setInterval(() => void this.tick(), this.#settings.syncIntervalMs);
    this.#timer.unref();
  }

  /** Take one report, as JSON text (SPEC §11). Synchronous and I/O-free: the request never waits for it. */
  record(kind: ReportKind, json: string, arrivedAt: number): void {
    if (this.#closing) return;
    this.#channels[kind].enqueue(recordLine(arrivedAt, json), arrivedAt);
  }

  /** One round: write the queues to the spools, then send what is due. */
  async tick(): Promise<void> {
    await Promise.all(Object.values(this.#channels).map((c) => c.tick()));
  }

  /** Write what is queued and send everything now (tests, and the SIGTERM flush). */
  async flush(signal?: AbortSignal): Promise<void> {
    await Promise.all(Object.values(this.#channels).map((c) => c.drain(signal)));
  }

  /** Why reports cannot be delivered now (spool unwritable, PCM or its token endpoint failing), or undefined. */
  problem(): string | undefined {
    for (const c of Object.values(this.#channels)) {
      const p = c.problem();
      if (p !== undefined) return p;
    }
    return undefined;
  }

  stats(): Record<ReportKind, ChannelStats> {
    return { server: this.#channels.server.stats(), opendata: this.#channels.opendata.stats() };
  }

  /**
   * SIGTERM (SPEC §11): queued reports go to the spool, then one last send bounded by `deadlineMs`
   * (epoch ms); what is not sent by then stays in the spool for the next start.
   */
  async close(deadlineMs: number): Promise<void> {
    this.#closing = true;
    clearInterval(this.#timer);
    const signal = AbortSignal.timeout(Math.max(0, deadlineMs - Date.now()));
    try {
      await Promise.race([this.flush(signal), new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);
    } finally {
      await Promise.all(Object.values(this.#channels).map((c) => c.close()));
      await this.#client.close();
    }
  }
}

/** One PCM endpoint's queue, spool and sender. */
class Channel {
  readonly #reporter: PcmReporter;
  readonly #kind: ReportKind;
  readonly #url: string;
  readonly #dir: string;
  readonly #segmentBytes: number | undefined;
  #spool: Spool | undefined;
  /** Record lines not yet in the spool (text: one Buffer per write, none per report). */
  #queue: string[] = [];
  #queueOldest: number | undefined;
  #writing: Promise<void> | undefined;
  #sending: Promise<void> | undefined;
  #spoolError: string | undefined;
  #writeScheduled = false;
  #lastOpenAttempt = 0;
  #sendError: string | undefined;
  #backoffMs = 0;
  #nextAttemptAt = 0;
  #lastSendAt: number;
  readonly #stats = { sent: 0, discarded: 0, expired: 0, dropped: 0, corrupt: 0 };

  constructor(reporter: PcmReporter, kind: ReportKind, url: string, dir: string, segmentBytes: number | undefined) {
    this.#reporter = reporter;
    this.#kind = kind;
    this.#url = url;
    this.#dir = dir;
    this.#segmentBytes = segmentBytes;
    this.#lastSendAt = reporter.now();
  }

  async open(): Promise<void> {
    this.#lastOpenAttempt = Date.now();
    try {
      this.#spool = await Spool.open(this.#dir, this.#segmentBytes === undefined ? {} : { segmentBytes: this.#segmentBytes });
      // SPEC §11: what an earlier run left is sent right after the start, not a flush period later.
      if (this.#spool.count > 0) this.#lastSendAt = Number.NEGATIVE_INFINITY;
      this.#spoolOk();
    } catch (err) {
      this.#spoolFailed(err);
    }
  }

  /** `line.length` counts as its size: report lines are ASCII but for a rare non-ASCII org id. */
  enqueue(line: string, arrivedAt: number): void {
    const r = this.#reporter;
    if (r.queuedBytes + line.length > r.settings.maxQueueBytes) {
      // The spool is behind (or gone) and memory is at its bound: drop, count, never block.
      this.#stats.dropped++;
      return;
    }
    r.queuedBytes += line.length;
    this.#queue.push(line);
    this.#queueOldest ??= arrivedAt;
    // Into the spool at once (after this turn of the event loop, coalesced with whatever else came
    // in it), not at the next tick: a kill -9 must find the report in the file (regression: the
    // reports of the last ≤ 200 ms were lost). A failing spool is retried by the tick only.
    if (!this.#writeScheduled && this.#spoolError === undefined) {
      this.#writeScheduled = true;
      setImmediate(() => {
        this.#writeScheduled = false;
        void this.#write();
      });
    }
  }

  async tick(): Promise<void> {
    await this.#write();
    await this.#sync();
    const spool = this.#spool;
    if (spool === undefined || this.#sending !== undefined || spool.count === 0) return;
    const now = this.#reporter.now();
    if (now < this.#nextAttemptAt) return;
    const due = now - this.#lastSendAt >= this.#reporter.settings.flushSeconds * 1000;
    if (due || spool.count >= MAX_BATCH || this.#sendError !== undefined) void this.#send();
  }

  /** Everything queued to the spool, then send until the spool is empty, a send fails or `signal` fires. */
  async drain(signal?: AbortSignal): Promise<void> {
    await this.#write();
    await this.#sync();
    await this.#sending;
    if (signal?.aborted !== true) await this.#send(signal);
  }

  /** fdatasync the spool (every `syncIntervalMs`): a machine crash then loses nothing written. */
  async #sync(): Promise<void> {
    try {
      await this.#spool?.sync();
    } catch (err) {
      this.#spoolFailed(err);
    }
  }

  #write(): Promise<void> {
    this.#writing ??= this.#writeQueue().finally(() => (this.#writing = undefined));
    return this.#writing;
  }

  async #writeQueue(): Promise<void> {
    if (this.#spool === undefined) {
      if (Date.now() - this.#lastOpenAttempt < REOPEN_EVERY_MS) return;
      await this.open();
      if (this.#spool === undefined) return;
    }
    while (this.#queue.length > 0) {
      const lines = this.#queue;
      const oldest = this.#queueOldest ?? this.#reporter.now();
      const bytes = lines.reduce((n, l) => n + l.length, 0);
      this.#queue = [];
      this.#queueOldest = undefined;
      try {
        await this.#spool.append([Buffer.from(lines.join(''), 'utf8')], oldest, lines.length);
        this.#reporter.queuedBytes -= bytes;
        this.#spoolOk();
      } catch (err) {
        // Kept in memory (still bounded by maxQueueBytes) until the spool takes them.
        this.#queue = lines.concat(this.#queue);
        this.#queueOldest = oldest;
        this.#spoolFailed(err);
        return;
      }
    }
  }

  #send(signal?: AbortSignal): Promise<void> {
    this.#sending ??= this.#sendAll(signal).finally(() => (this.#sending = undefined));
    return this.#sending;
  }

  async #sendAll(signal: AbortSignal | undefined): Promise<void> {
    const spool = this.#spool;
    if (spool === undefined) return;
    this.#lastSendAt = this.#reporter.now();
    try {
      while (signal?.aborted !== true) {
        const batch = await spool.readBatch(MAX_BATCH);
        if (batch.records.length === 0) {
          if (batch.corrupt > 0) await this.#commit(spool, batch, 0);
          break;
        }
        const cutoff = this.#reporter.now() - MAX_REPORT_AGE_MS;
        const fresh = batch.records.filter((r) => r.arrivedAt >= cutoff);
        const expired = batch.records.length - fresh.length;
        if (fresh.length === 0) {
          await this.#commit(spool, batch, expired);
          continue;
        }
        const outcome = await this.#reporter.client.send(this.#url, batchBody(fresh), fresh.length, signal);
        if (!outcome.ok) {
          this.#sendFailed(outcome.reason);
          return;
        }
        this.#sendOk();
        this.#logDiscarded(outcome, fresh);
        this.#stats.sent += fresh.length - outcome.discarded.length;
        this.#stats.discarded += outcome.discarded.length;
        await this.#commit(spool, batch, expired);
        // A short batch was everything there was: what arrived meanwhile waits for the next send
        // (regression: under steady traffic the loop never ended and POSTed tiny batches back to back).
        if (batch.records.length < MAX_BATCH) break;
      }
    } catch (err) {
      // A cursor that cannot be written: the batch is resent later (at least once).
      this.#spoolFailed(err);
    }
  }

  async #commit(spool: Spool, batch: SpoolBatch, expired: number): Promise<void> {
    await spool.commit(batch);
    this.#stats.expired += expired;
    this.#stats.corrupt += batch.corrupt;
  }

  #logDiscarded(outcome: BatchOutcome, batch: readonly SpoolRecord[]): void {
    if (!outcome.ok || outcome.discarded.length === 0) return;
    const sample = outcome.discarded.slice(0, 5).map((d) => ({ message: d.message, report: safeParse(batch[d.index]?.json) }));
    this.#reporter.log?.warn(
      { pcm: this.#kind, url: this.#url, discarded: outcome.discarded.length, batch: batch.length, sample },
      'PCM discarded reports of a batch (not resent)',
    );
  }

  #sendOk(): void {
    this.#backoffMs = 0;
    this.#nextAttemptAt = 0;
    if (this.#sendError === undefined) return;
    this.#sendError = undefined;
    this.#reporter.log?.info({ pcm: this.#kind, url: this.#url }, 'PCM reports are delivered again');
  }

  #sendFailed(reason: string): void {
    const r = this.#reporter;
    this.#backoffMs = Math.min(this.#backoffMs === 0 ? FIRST_BACKOFF_MS : this.#backoffMs * 2, r.settings.maxBackoffSeconds * 1000);
    this.#nextAttemptAt = r.now() + this.#backoffMs;
    // Logged once per change, not once per retry (SPEC §7).
    if (this.#sendError === undefined) r.log?.warn({ pcm: this.#kind, url: this.#url, reason }, 'PCM reports cannot be delivered; kept in the spool and retried');
    this.#sendError = reason;
  }

  #spoolOk(): void {
    if (this.#spoolError === undefined) return;
    this.#spoolError = undefined;
    this.#reporter.log?.info({ pcm: this.#kind, spoolDir: this.#dir }, 'PCM spool is writable again');
  }

  #spoolFailed(err: unknown): void {
    this.#reporter.spoolFailures++;
    const e = err as NodeJS.ErrnoException;
    const reason = e?.code === 'ELOCKED' ? e.message : `spool ${this.#dir} cannot be written: ${e?.code ?? e?.message ?? String(err)}`;
    if (this.#spoolError === undefined) this.#reporter.log?.error({ pcm: this.#kind, spoolDir: this.#dir, err }, 'PCM spool cannot be written; requests are still served, reports are held in memory (bounded) and then dropped');
    this.#spoolError = reason;
  }

  problem(): string | undefined {
    return this.#spoolError ?? (this.#sendError === undefined ? undefined : `${this.#sendError}`);
  }

  stats(): ChannelStats {
    const spooled = this.#spool?.count ?? 0;
    const oldest = [this.#spool?.oldest, this.#queueOldest].filter((t): t is number => t !== undefined);
    return { ...this.#stats, backlog: spooled + this.#queue.length, oldest: oldest.length === 0 ? undefined : Math.min(...oldest) };
  }

  async close(): Promise<void> {
    await this.#writing;
    await this.#spool?.close();
  }
}

/** The JSON array of a batch, from the spool's bytes as they are (never decoded to strings and back). */
function batchBody(records: readonly SpoolRecord[]): Buffer {
  const parts: Buffer[] = new Array<Buffer>(2 * records.length + 1);
  parts[0] = OPEN;
  for (let i = 0; i < records.length; i++) {
    parts[2 * i + 1] = (records[i] as SpoolRecord).json;
    parts[2 * i + 2] = i === records.length - 1 ? CLOSE : COMMA;
  }
  if (records.length === 0) parts.push(CLOSE);
  return Buffer.concat(parts);
}

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

function safeParse(json: Buffer | undefined): unknown {
  try {
    return json === undefined ? undefined : (JSON.parse(json.toString('utf8')) as unknown);
  } catch {
    return undefined;
  }
}
