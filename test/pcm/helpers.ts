/** A mock PCM on real TLS (mTLS token endpoint) and reporters/gateways pointed at it. */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { startMockPcm, type MockPcm } from '../../src/dev/mock-pcm.js';
import { PcmReporter, type ReporterOptions } from '../../src/pcm/reporter.js';
import type { PcmSettings } from '../../src/pcm/settings.js';
import { removeTempDir, tempDir, testPki } from '../helpers/gateway.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export const PCM_CLIENT_ID = 'bank-pcm-client';
export const BANK_ORG_ID = '11111111-2222-4333-8444-555555555555';

/** The mock PCM with the test PKI: server certificate for localhost, client certificates of the test CA. */
export async function startTestPcm(t: Teardown, expiresIn?: number): Promise<MockPcm> {
  const { pki } = await testPki();
  const pcm = await startMockPcm({ cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert, clientId: PCM_CLIENT_ID, ...(expiresIn === undefined ? {} : { expiresIn }) });
  t.teardown(() => pcm.close());
  return pcm;
}

/** A fresh spool directory, removed after the test. */
export function spoolDir(t: Teardown): string {
  const dir = tempDir('guarita-pcm-spool-');
  t.teardown(() => removeTempDir(dir));
  return dir;
}

/** Settings for a reporter talking to `pcm` with client1's certificate. */
export async function settingsFor(pcm: MockPcm, dir: string, extra: Partial<PcmSettings> = {}): Promise<PcmSettings> {
  const { pki } = await testPki();
  return {
    reportUrl: pcm.reportUrl,
    openDataReportUrl: pcm.openDataReportUrl,
    tokenUrl: pcm.tokenUrl,
    clientId: PCM_CLIENT_ID,
    cert: Buffer.from(pki.client1.cert),
    key: Buffer.from(pki.client1.key),
    ca: Buffer.from(pki.ca.cert),
    serverOrgId: BANK_ORG_ID,
    spoolDir: dir,
    flushSeconds: 3600,
    syncIntervalMs: 20,
    maxQueueBytes: 16 << 20,
    timeoutMs: 5000,
    maxBackoffSeconds: 1,
    ...extra,
  };
}

/** A started reporter, closed after the test. */
export async function startReporter(t: Teardown, settings: PcmSettings, options: ReporterOptions = {}): Promise<PcmReporter> {
  const reporter = new PcmReporter(settings, options);
  await reporter.start();
  t.teardown(() => reporter.close(Date.now() + 1000));
  return reporter;
}

/** The `pcm:` section of routes.yaml for `pcm` (client1's certificate, the test CA). */
export function pcmBlock(pcm: MockPcm, dir: string, extra = ''): string {
  return `pcm:
  reportUrl: ${pcm.reportUrl}
  openDataReportUrl: ${pcm.openDataReportUrl}
  tokenUrl: ${pcm.tokenUrl}
  clientId: ${PCM_CLIENT_ID}
  clientCert: {{pki}}/client1.crt
  clientKey: {{pki}}/client1.key
  ca: {{pki}}/ca.crt
  serverOrgId: ${BANK_ORG_ID}
  spoolDir: ${dir}
${extra}`;
}

/** A server report as the gateway writes it (for tests that feed the reporter directly). */
export function serverReport(i: number, timestamp = new Date().toISOString()): Record<string, unknown> {
  return {
    fapiInteractionId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    endpoint: '/open-banking/accounts/v2/accounts',
    statusCode: 200,
    httpMethod: 'GET',
    timestamp,
    processTimespan: 3,
    clientOrgId: '99999999-2222-4333-8444-555555555555',
    serverOrgId: BANK_ORG_ID,
    role: 'SERVER',
    additionalInfo: {},
  };
}

/** Wait until `check` holds (polling), or fail after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Write a file (helper for tests that plant things in a spool). */
export function plant(dir: string, name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
