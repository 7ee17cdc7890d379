/**
 * The services the checks share, built once per gateway and shared by its listeners (the mTLS
 * listener and, in ingress mode, the plain one): each only when a route needs it.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config/load.js';
import type { CheckDeps } from './checks/types.js';
import { introspectorFromConfig } from './clients/introspection.js';
import { consentLookupFromConfig } from './clients/consent-lookup.js';
import { createDirectoryJwks } from './clients/directory-jwks.js';
import { createReplayStore } from './stores/index.js';
import { createResponseSigner, type ResponseSigner } from './proxy/sign-response.js';
import { createLimitRuntime, limitsInUse } from './limits/runtime.js';

export interface Services extends Omit<CheckDeps, 'config' | 'certificates'> {
  /** Signs responses on `jws.response` routes (SPEC §2). */
  readonly signer?: ResponseSigner | undefined;
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** The traffic limits' clock (ms since the epoch); tests inject one to straddle a window. */
  readonly now?: () => number;
}

export function createServices(config: Config, log: FastifyBaseLogger, options: ServiceOptions = {}): Services {
  const intro = config.introspection;
  const introspection = intro === undefined ? undefined : introspectorFromConfig(intro);
  const consents = intro === undefined ? undefined : consentLookupFromConfig(intro);
  // SPEC §10: the limit counters live in the replay store too.
  const needsStore = config.routes.some((r) => r.jws?.request === true || r.idempotency) || limitsInUse(config);
  const replayStore = needsStore ? createReplayStore(config.replay, (err) => log.warn({ err }, 'replay store connection error')) : undefined;
  const needsDirectory = config.directory !== undefined && config.routes.some((r) => r.jws?.request === true || r.dcr);
  const directory =
    needsDirectory && config.directory ? createDirectoryJwks(config.directory, { onWarning: (message, err) => log.warn({ err }, message) }) : undefined;
  const limits = replayStore !== undefined && limitsInUse(config) ? createLimitRuntime(config, replayStore, log, options.now) : undefined;
  const signer = config.signing && config.routes.some((r) => r.jws?.response) ? createResponseSigner(config.signing) : undefined;
  return {
    introspection,
    consents,
    replayStore,
    directory,
    limits,
    signer,
    async close() {
      await Promise.all([introspection?.close(), consents?.close(), replayStore?.close(), directory?.close()]);
    },
  };
}
