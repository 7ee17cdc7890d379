/**
 * CRLs fetched from URLs on an interval (issue 5; peers.md: users want CRLs refreshed from their
 * distribution points, not static files). A fetched CRL replaces the previous one from that URL only
 * when it parses and verifies against the trust anchors (the caller's `accept`); a URL whose last
 * good CRL is older than `maxAgeMs` — or that never answered — is reported stale, so /readyz fails.
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
  /** Called after every round with the stale URLs and why (empty when all are fresh). */
  readonly report: (stale: Readonly<Record<string, string>>) => void;
  readonly now?: () => number;
}

export interface CrlFetcher {
  /** One fetch round now (also run by the interval). */
  refresh(): Promise<void>;
  /** Refresh every `refreshMs` from now on. */
  start(): void;
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
    const stale: Record<string, string> = {};
    for (const url of options.urls) {
      const got = latest.get(url);
      const why = errors.get(url);
      if (got === undefined) stale[url] = `never fetched${why ? ` (${why})` : ''}`;
      else if (now() - got.at > options.maxAgeMs) stale[url] = `last good CRL fetched ${Math.round((now() - got.at) / 1000)} s ago${why ? ` (${why})` : ''}`;
    }
    options.report(stale);
  }

  let timer: NodeJS.Timeout | undefined;
  return {
    refresh,
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
