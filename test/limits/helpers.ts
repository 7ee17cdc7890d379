/**
 * Gateways for the SPEC §10 tests: real TLS listener, real upstream, a fake clock for the limits
 * (so a test can sit just before a minute or month boundary and cross it), and clients that present
 * either test certificate or come from a chosen loopback address.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OutgoingHttpHeaders } from 'node:http';
import { loadConfig, type Config } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { removeTempDir, serverBlock, tempDir, testPki } from '../helpers/gateway.js';
import { send, type ClientResponse } from '../helpers/client.js';
import type { TestUpstream } from '../helpers/upstream.js';
import type { DevPki } from '../../src/dev/pki.js';
import type { FastifyBaseLogger } from 'fastify';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A settable clock: `at` ms since the epoch. */
export class FakeClock {
  constructor(public at: number) {}
  readonly now = (): number => this.at;
}

export interface LimitGateway {
  readonly port: number;
  readonly gateway: RunningGateway;
  readonly config: Config;
  readonly pki: DevPki;
  /** GET (or `method`) over TLS with client1's certificate unless `cert` says otherwise. */
  call(path: string, options?: CallOptions): Promise<ClientResponse>;
  /** One metric sample line's value from /metrics text, or 0. */
  metric(name: string, labels: Record<string, string>): Promise<number>;
}

export interface CallOptions {
  readonly cert?: 'client1' | 'client2' | null;
  readonly token?: string;
  readonly headers?: OutgoingHttpHeaders;
  /** Source address of the TCP connection (127.0.0.1 or another loopback address). */
  readonly localAddress?: string;
}

/**
 * Start a gateway from `sections` (YAML after the `server:` block; `{{upstream}}` replaced) with the
 * limits on `clock`.
 */
export async function startLimitGateway(
  t: Teardown,
  sections: string,
  upstream: TestUpstream,
  clock?: FakeClock,
  logger?: FastifyBaseLogger,
): Promise<LimitGateway> {
  const { pki, dir } = await testPki();
  const configDir = tempDir('guarita-limits-');
  const file = join(configDir, 'routes.yaml');
  writeFileSync(file, `${serverBlock(dir)}${sections.replaceAll('{{upstream}}', upstream.url)}`);
  const config = loadConfig(file);
  const gateway = await startGateway(config, { ...(clock === undefined ? {} : { now: clock.now }), ...(logger === undefined ? {} : { logger }) });
  t.teardown(async () => {
    try {
      await gateway.close(1000);
    } finally {
      removeTempDir(configDir);
    }
  });
  return {
    port: gateway.port,
    gateway,
    config,
    pki,
    call(path, o = {}) {
      const cert = o.cert === null ? undefined : pki[o.cert ?? 'client1'];
      return send(gateway.port, {
        path,
        headers: {
          'x-fapi-interaction-id': randomUUID(),
          ...(o.token === undefined ? {} : { authorization: `Bearer ${o.token}` }),
          ...o.headers,
        },
        cert,
        ca: pki.ca.cert,
        ...(o.localAddress === undefined ? {} : { tls: { localAddress: o.localAddress } as object }),
      });
    },
    async metric(name, labels) {
      const text = await gateway.metrics.exposition();
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`)) continue;
        const inside = line.slice(name.length + 1, line.indexOf('}'));
        if (wanted.every((w) => inside.split(',').includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return 0;
    },
  };
}
