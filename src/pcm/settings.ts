/**
 * The `pcm` section made ready to use: files resolved against the configuration file's directory
 * and read once, `serverOrgId` defaulted to `signing.orgId` (SPEC §11). Checked when the gateway
 * starts: a PCM section that cannot work is a start-up error naming the key, not a silent loss.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Config } from '../config/load.js';

export interface PcmSettings {
  readonly reportUrl: string;
  readonly openDataReportUrl: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  readonly serverOrgId: string;
  readonly spoolDir: string;
  readonly flushSeconds: number;
  readonly syncIntervalMs: number;
  readonly maxQueueBytes: number;
  readonly timeoutMs: number;
  readonly maxBackoffSeconds: number;
}

/** The PCM settings of `config`, or undefined when it has no `pcm` section. Throws naming the key. */
export function pcmSettings(config: Config): PcmSettings | undefined {
  const pcm = config.pcm;
  if (pcm === undefined) return undefined;
  const base = dirname(config.file);
  const read = (key: string, file: string): Buffer => {
    try {
      return readFileSync(resolve(base, file));
    } catch (err) {
      throw new Error(`${config.file}: pcm.${key}: file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
    }
  };
  const serverOrgId = pcm.serverOrgId ?? config.signing?.orgId;
  if (serverOrgId === undefined) throw new Error(`${config.file}: pcm.serverOrgId is required when there is no signing.orgId`);
  return {
    reportUrl: pcm.reportUrl,
    openDataReportUrl: pcm.openDataReportUrl,
    tokenUrl: pcm.tokenUrl,
    clientId: pcm.clientId,
    cert: read('clientCert', pcm.clientCert),
    key: read('clientKey', pcm.clientKey),
    ca: pcm.ca === undefined ? undefined : read('ca', pcm.ca),
    serverOrgId,
    spoolDir: resolve(base, pcm.spoolDir),
    flushSeconds: pcm.flushSeconds,
    syncIntervalMs: pcm.syncIntervalMs,
    maxQueueBytes: pcm.maxQueueBytes,
    timeoutMs: pcm.timeoutMs,
    maxBackoffSeconds: pcm.maxBackoffSeconds,
  };
}
