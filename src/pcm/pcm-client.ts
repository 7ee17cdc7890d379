/**
 * The PCM's two HTTP endpoints as seen by the reporter (SPEC §11; operations.md "PCM"):
 * - the token endpoint: `client_credentials` with `client_id` and the bank's certificate over mTLS
 *   (tls_client_auth); the token is reused until shortly before it expires;
 * - the report endpoints: a JSON array of at most 5,000 reports with that Bearer token. 200 = all
 *   accepted; 207 = some DISCARDED (per item, in request order); 401 → one fresh token, once.
 */
import { Agent, request } from 'undici';

export interface PcmClientOptions {
  readonly tokenUrl: string;
  readonly clientId: string;
  /** PEM client certificate and key (the token endpoint requires them; reports carry them too). */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly ca?: string | Buffer | undefined;
  readonly timeoutMs: number;
  /** Clock (epoch ms); tests move it. */
  readonly now?: () => number;
}

/** What the PCM said about one batch. */
export type BatchOutcome =
  | { readonly ok: true; readonly status: 200 | 207; readonly discarded: readonly DiscardedItem[] }
  | { readonly ok: false; readonly reason: string };

export interface DiscardedItem {
  /** Index of the report in the batch. */
  readonly index: number;
  readonly message: string;
}

/** Largest answer body read (5,000 items of a few hundred bytes each). */
const MAX_ANSWER_BYTES = 8 << 20;

export class PcmClient {
  readonly #options: PcmClientOptions;
  readonly #agent: Agent;
  readonly #now: () => number;
  #token: { readonly value: string; readonly refreshAt: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(options: PcmClientOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: 4,
      maxResponseSize: MAX_ANSWER_BYTES,
      connect: {
        timeout: options.timeoutMs,
        rejectUnauthorized: true,
        cert: options.cert,
        key: options.key,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
      },
    });
  }

  /** A valid access token: the cached one, or a new one (concurrent callers share one call). */
  async token(): Promise<string> {
    const cached = this.#token;
    if (cached !== undefined && this.#now() < cached.refreshAt) return cached.value;
    this.#pending ??= this.#fetchToken().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  /** Forget the cached token (the report endpoint answered 401). */
  invalidate(): void {
    this.#token = undefined;
  }

  async #fetchToken(): Promise<string> {
    const { tokenUrl, clientId, timeoutMs } = this.#options;
    let status: number;
    let text: string;
    try {
      const res = await request(tokenUrl, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId }).toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new Error(`PCM token endpoint ${tokenUrl} unreachable: ${describe(err)}`, { cause: err });
    }
    if (status !== 200) throw new Error(`PCM token endpoint ${tokenUrl} answered HTTP ${status}`);
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new Error(`PCM token endpoint ${tokenUrl} answered a body that is not JSON`);
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') throw new Error(`PCM token endpoint ${tokenUrl} answered no access_token`);
    // operations.md: PCM tokens last 21,600 s. Refreshed a little before expiry (10 %, at most a
    // minute) so a batch never leaves with a token that lapses in flight.
    const lifetime = (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300) * 1000;
    this.#token = { value: body.access_token, refreshAt: this.#now() + lifetime - Math.min(60_000, lifetime / 10) };
    return body.access_token;
  }

  /** POST one batch (a JSON array text) to `url`; a 401 gets one fresh token and one retry. */
  async send(url: string, body: string | Buffer, count: number, signal?: AbortSignal): Promise<BatchOutcome> {
    let token: string;
    try {
      token = await this.token();
    } catch (err) {
      return { ok: false, reason: describe(err) };
    }
    let answer = await this.#post(url, body, token, signal);
    if (answer.status === 401) {
      this.invalidate();
      try {
        token = await this.token();
      } catch (err) {
        return { ok: false, reason: describe(err) };
      }
      answer = await this.#post(url, body, token, signal);
    }
    if (answer.status === 200) return { ok: true, status: 200, discarded: [] };
    if (answer.status === 207) return { ok: true, status: 207, discarded: discardedItems(answer.text, count) };
    return { ok: false, reason: answer.status === 0 ? answer.text : `${url} answered HTTP ${answer.status}` };
  }

  async #post(url: string, body: string | Buffer, token: string, signal: AbortSignal | undefined): Promise<{ status: number; text: string }> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
        body,
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
      if (res.statusCode === 207) return { status: 207, text: await res.body.text() };
      await res.body.dump();
      return { status: res.statusCode, text: '' };
    } catch (err) {
      return { status: 0, text: `${url} unreachable: ${describe(err)}` };
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** The DISCARDED items of a 207 answer (pcm-specs `ReportResponse[]`, in request order). */
function discardedItems(text: string, count: number): DiscardedItem[] {
  let items: unknown;
  try {
    items = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(items)) return [];
  const out: DiscardedItem[] = [];
  items.slice(0, count).forEach((item: unknown, index) => {
    const entry = item as { status?: unknown; message?: unknown } | null;
    if (entry?.status === 'DISCARDED') out.push({ index, message: typeof entry.message === 'string' ? entry.message.slice(0, 200) : '' });
  });
  return out;
}

function describe(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown; cause?: unknown };
  const cause = e?.cause as { message?: unknown; code?: unknown } | undefined;
  const parts = [e?.message, e?.code, cause?.message, cause?.code].filter((p): p is string => typeof p === 'string' && p !== '');
  return [...new Set(parts)].join(': ') || 'failed';
}
