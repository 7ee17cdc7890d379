/** Start a real gateway (real TLS listener on 127.0.0.1:0) from routes.yaml text written to a temp dir. */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { createDevPki, writeDevPki, type DevPki } from '../../src/dev/pki.js';

export interface TestPki {
  readonly pki: DevPki;
  /** Directory holding ca.crt, server.crt/key, client1.crt/key ... */
  readonly dir: string;
}

let shared: Promise<TestPki> | undefined;

/** One dev PKI per test process (RSA key generation is slow); written to a temp dir. */
export function testPki(): Promise<TestPki> {
  shared ??= (async () => {
    const pki = await createDevPki();
    const dir = mkdtempSync(join(tmpdir(), 'guarita-pki-'));
    await writeDevPki(dir, pki);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return { pki, dir };
  })();
  return shared;
}

const tempDirs = new Set<string>();
let exitHookInstalled = false;

/**
 * A temp dir removed by `removeTempDir`, or at process exit when that never ran (a start that
 * threw, a test that timed out): one exit listener for all of them.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestGateway {
  readonly port: number;
  readonly config: Config;
  readonly gateway: RunningGateway;
  readonly pki: DevPki;
  /** The routes.yaml the gateway was started from. */
  readonly file: string;
}

/** The `server:` block for the dev PKI; tests append their routes and sections. */
export function serverBlock(pkiDir: string, extra = ''): string {
  return `server:
  port: 0
  host: 127.0.0.1
  tls:
    certificates:
      - { cert: ${pkiDir}/server.crt, key: ${pkiDir}/server.key }
    clientCa: [${pkiDir}/ca.crt]
${extra}`;
}

/** Write `yaml` (with `{{pki}}` replaced by the PKI directory) and start a gateway from it. */
export async function startTestGateway(t: Teardown, yaml: string): Promise<TestGateway> {
  const { pki, dir } = await testPki();
  const configDir = tempDir('guarita-conf-');
  const file = join(configDir, 'routes.yaml');
  writeFileSync(file, yaml.replaceAll('{{pki}}', dir));
  const config = loadConfig(file);
  const gateway = await startGateway(config);
  t.teardown(async () => {
    try {
      await gateway.close(1000);
    } finally {
      removeTempDir(configDir);
    }
  });
  return { port: gateway.port, config, gateway, pki, file };
}
