/**
 * /readyz state (SPEC §7): named conditions, some set by the gateway (TLS material), some probed
 * every few seconds (introspection endpoint, replay store) so an outage shows within 5 s.
 */
export type Probe = () => Promise<void>;

export class Readiness {
  readonly #failing = new Map<string, string>();
  readonly #probes = new Map<string, Probe>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 2000, private readonly probeTimeoutMs = 1500) {}

  /** Mark a condition failing (with a reason for operators) or, with undefined, healthy. */
  set(name: string, reason: string | undefined): void {
    if (reason === undefined) this.#failing.delete(name);
    else this.#failing.set(name, reason);
  }

  /** Add a dependency probe; it runs now and then every interval. */
  probe(name: string, probe: Probe): void {
    this.#probes.set(name, probe);
  }

  /** Run every probe once (bounded by the probe timeout). */
  async check(): Promise<void> {
    await Promise.all(
      [...this.#probes].map(async ([name, probe]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            probe(),
            new Promise((_r, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${this.probeTimeoutMs} ms`)), this.probeTimeoutMs);
            }),
          ]);
          this.set(name, undefined);
        } catch (err) {
          this.set(name, err instanceof Error ? err.message : String(err));
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  start(): void {
    if (this.#timer !== undefined || this.#probes.size === 0) return;
    void this.check();
    this.#timer = setInterval(() => void this.check(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  get ready(): boolean {
    return this.#failing.size === 0;
  }

  /** What is failing, by condition. */
  failing(): Record<string, string> {
    return Object.fromEntries(this.#failing);
  }
}
