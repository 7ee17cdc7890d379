/**
 * /readyz state (SPEC §7). Two kinds of condition:
 *
 * - this replica's own state (TLS material, server certificate validity, draining): any failure
 *   makes the replica not ready;
 * - dependencies (introspection endpoint, replay store, directory, CRL URLs), probed every few
 *   seconds so an outage shows within 5 s. A dependency that is down fails readiness only when it is
 *   listed in `admin.readinessDependencies`: one every replica shares would otherwise take every
 *   replica out of service at once.
 *
 * Each dependency change (down, back up) is logged once, never once per probe or retry, and
 * reported to `onChange` (the dependency gauge).
 */
import { request, type Agent } from 'undici';

/** A dependency probe: resolves (optionally with what was checked) when the dependency answers. */
export type Probe = () => Promise<string | void> | string | void;

export interface DependencyState {
  readonly up: boolean;
  /** What was checked or what failed, naming the URL or file. */
  readonly detail: string;
}

/** The /readyz body (SPEC §7). */
export interface ReadinessBody {
  readonly status: 'ready' | 'unavailable';
  readonly dependencies: Record<string, DependencyState>;
}

/** The logger methods used here (pino and Fastify loggers have them). */
export interface TransitionLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ReadinessOptions {
  readonly intervalMs?: number;
  readonly probeTimeoutMs?: number;
  /** Dependencies whose outage fails /readyz (`admin.readinessDependencies`). */
  readonly required?: readonly string[];
  /** Where dependency changes are logged (once per change). */
  readonly log?: TransitionLog;
  /** Called on every dependency change (and its first state). */
  readonly onChange?: (name: string, up: boolean) => void;
}

export class Readiness {
  /** Own-state conditions that fail, with the reason for operators. */
  readonly #failing = new Map<string, string>();
  readonly #checks = new Map<string, Probe>();
  readonly #probes = new Map<string, { readonly target: string; readonly probe: Probe }>();
  readonly #dependencies = new Map<string, DependencyState>();
  readonly #required: ReadonlySet<string>;
  readonly #intervalMs: number;
  readonly #probeTimeoutMs: number;
  readonly #log: TransitionLog | undefined;
  readonly #onChange: ((name: string, up: boolean) => void) | undefined;
  #draining = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ReadinessOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 2000;
    this.#probeTimeoutMs = options.probeTimeoutMs ?? 1500;
    this.#required = new Set(options.required ?? []);
    this.#log = options.log;
    this.#onChange = options.onChange;
  }

  /** Mark an own-state condition failing (with a reason for operators) or, with undefined, healthy. */
  set(name: string, reason: string | undefined): void {
    if (reason === undefined) this.#failing.delete(name);
    else this.#failing.set(name, reason);
  }

  /** An own-state check run every interval (throws when this replica cannot serve). */
  check(name: string, check: Probe): void {
    this.#checks.set(name, check);
  }

  /**
   * A dependency probe, run every interval once started. `target` names what is probed (a URL,
   * never with credentials) and starts the dependency's detail.
   */
  dependency(name: string, target: string, probe: Probe): void {
    this.#probes.set(name, { target, probe });
  }

  /** Names of the probed dependencies. */
  get probed(): readonly string[] {
    return [...this.#probes.keys()];
  }

  /** Record a dependency's state; a change is logged once and reported to `onChange`. */
  report(name: string, up: boolean, detail: string): void {
    const before = this.#dependencies.get(name);
    this.#dependencies.set(name, { up, detail });
    if (before?.up === up) return;
    this.#onChange?.(name, up);
    if (!up) this.#log?.warn({ dependency: name, detail }, `dependency ${name} is down`);
    else if (before !== undefined) this.#log?.info({ dependency: name, detail }, `dependency ${name} is back up`);
  }

  /** SIGTERM: from now on /readyz answers 503, whatever else holds. */
  drain(): void {
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Run every check and probe once (each bounded by the probe timeout). */
  async run(): Promise<void> {
    await Promise.all([
      ...[...this.#checks].map(async ([name, check]) => {
        const outcome = await this.#bounded(check);
        this.set(name, outcome.ok ? undefined : outcome.detail);
      }),
      ...[...this.#probes].map(async ([name, { target, probe }]) => {
        const outcome = await this.#bounded(probe);
        this.report(name, outcome.ok, `${target}: ${outcome.detail}`);
      }),
    ]);
  }

  async #bounded(probe: Probe): Promise<{ ok: boolean; detail: string }> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const detail = await Promise.race([
        probe(),
        new Promise<never>((_r, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.#probeTimeoutMs} ms`)), this.#probeTimeoutMs);
        }),
      ]);
      return { ok: true, detail: typeof detail === 'string' ? detail : 'ok' };
    } catch (err) {
      return { ok: false, detail: describeError(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Probe every interval from now on (`run()` probes at once). */
  start(): void {
    if (this.#timer !== undefined || this.#probes.size + this.#checks.size === 0) return;
    this.#timer = setInterval(() => void this.run(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Whether this replica can serve: own state healthy, not draining, required dependencies up. */
  get ready(): boolean {
    return Object.keys(this.failing()).length === 0;
  }

  /** What keeps this replica out of service, by condition (own state, draining, required dependencies). */
  failing(): Record<string, string> {
    const failing: Record<string, string> = Object.fromEntries(this.#failing);
    if (this.#draining) failing.draining = 'shutting down: draining in-flight requests';
    for (const name of this.#required) {
      const state = this.#dependencies.get(name);
      if (state === undefined && this.#probes.has(name)) failing[name] = 'not probed yet';
      else if (state !== undefined && !state.up) failing[name] = state.detail;
    }
    return failing;
  }

  /** Every dependency in use with its last known state. */
  dependencies(): Record<string, DependencyState> {
    return Object.fromEntries(this.#dependencies);
  }

  /** The /readyz body (SPEC §7). */
  body(): ReadinessBody {
    return { status: this.ready ? 'ready' : 'unavailable', dependencies: this.dependencies() };
  }
}

/** An error and its causes, one message after the other (the cause usually names the failure). */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    const code = current instanceof Error ? (current as { code?: unknown }).code : undefined;
    const text = typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
    if (text !== '' && !parts.some((p) => p.includes(text))) parts.push(text);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ') || 'failed';
}

/** A URL without its user info (a Redis URL may carry a password): safe for logs and /readyz. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * A probe that GETs `url`: up when it answers, with 200 when `expectOk`, else with any status below
 * 500 (an origin answering 404 for `/` is reachable).
 */
export function httpProbe(url: string, options: { readonly timeoutMs: number; readonly expectOk: boolean; readonly dispatcher?: Agent }): Probe {
  return async () => {
    const res = await request(url, {
        method: 'GET',
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        signal: AbortSignal.timeout(options.timeoutMs),
        ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
      });
    await res.body.dump();
    const bad = options.expectOk ? res.statusCode !== 200 : res.statusCode >= 500;
    if (bad) throw new Error(`answered HTTP ${res.statusCode}`);
    return `answered HTTP ${res.statusCode}`;
  };
}
