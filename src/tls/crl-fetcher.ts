/**
 * CRLs fetched from URLs on an interval (issue 5; peers.md: users want CRLs refreshed from their
 * distribution points, not static files). A fetched CRL replaces the previous one from that URL only
 * when it parses and verifies against the trust anchors (the caller's `accept`); a URL whose last
 * good CRL is older than `maxAgeMs` — or that never answered — is down (SPEC §7: a /readyz
 * dependency named by its URL). Failed attempts are kept as state, never logged per attempt:
 * readiness logs each URL's change once.
 */
import { request } from 'undici';
import { crlPemFromDer } from './verify-chain.js';

export interface CrlFetcherOptions {
  readonly urls: readonly string[];
  readonly refreshMs: number;
  readonly maxAgeMs: number;
  readonly timeoutMs: number;
  /** Validate and apply the full set of fetched CRLs (PEM); throw to refuse it. */
  readonly apply: (pems: readonly string[]) => void;
  readonly now?: () => number;
}

export interface CrlFetcher {
  /** One fetch round now (also run by the interval). */
  refresh(): Promise<void>;
  /** Refresh every `refreshMs` from now on. */
  start(): void;
  /**
   * Each URL's state now: down when its last good CRL is older than `maxAgeMs` or it never answered;
   * the detail says when it was last fetched and, when the last attempt failed, why.
   */
  status(): Record<string, { readonly up: boolean; readonly detail: string }>;
  /** Whether every URL has been fetched (and applied) at least once. */
  readonly complete: boolean;
  stop(): void;
}

const MAX_CRL_BYTES = 32 * 1024 * 1024;

export function createCrlFetcher(options: CrlFetcherOptions): CrlFetcher {
  const now = options.now ?? Date.now;
  const latest = new Map<string, { pem: string; at: number }>();
  const errors = new Map<string, string>();

  async function fetchOne(url: string): Promise<void> {
    try {
      const res = await request(url, { signal: AbortSignal.timeout(options.timeoutMs), maxRedirections: 0 } as Parameters<typeof request>[1]);
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`HTTP ${res.statusCode}`);
      }
      const body = Buffer.from(await res.body.arrayBuffer());
      if (body.length > MAX_CRL_BYTES) throw new Error('CRL too large');
      const text = body.toString('latin1');
      const pem = text.includes('-----BEGIN X509 CRL-----') ? text : crlPemFromDer(body);
      const candidate = new Map(latest).set(url, { pem, at: now() });
      options.apply([...candidate.values()].map((c) => c.pem));
      latest.set(url, { pem, at: now() });
      errors.delete(url);
    } catch (err) {
      errors.set(url, err instanceof Error ? err.message : String(err));
    }
  }

  async function refresh(): Promise<void> {
    await Promise.all(options.urls.map(fetchOne));
  }

  function status(): Record<string, { up: boolean; detail: string }> {
    const states: Record<string, { up: boolean; detail: string }> = {};
    for (const url of options.urls) {
      const got = latest.get(url);
      const why = errors.get(url);
      const failed = why === undefined ? '' : `; last attempt failed: ${why}`;
      if (got === undefined) {
        states[url] = { up: false, detail: `never fetched${failed}` };
      } else {
        const age = now() - got.at;
        const fetched = `last good CRL fetched ${Math.round(age / 1000)} s ago`;
        states[url] = age > options.maxAgeMs ? { up: false, detail: `${fetched}, older than ${Math.round(options.maxAgeMs / 1000)} s${failed}` } : { up: true, detail: `${fetched}${failed}` };
      }
    }
    return states;
  }

  let timer: NodeJS.Timeout | undefined;
  return {
    refresh,
    status,
    start() {
      timer ??= setInterval(() => void refresh(), options.refreshMs);
      timer.unref();
    },
    get complete() {
      return options.urls.every((url) => latest.has(url));
    },
    stop: () => clearInterval(timer),
  };
}
