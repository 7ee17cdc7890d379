#!/usr/bin/env node
/**
 * guarita [--config] FILE       start the gateway
 * guarita check-config FILE     validate and print the effective configuration (secrets masked)
 * guarita dn CERT.pem           print a certificate's OFB subject DN, org_id, software_id, x5t#S256
 * The only file that touches `process`.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig, type Config } from './config/load.js';
import { ConfigError } from './config/errors.js';
import { startGateway } from './server.js';
import { identityFromDer } from './tls/identity.js';

const USAGE = `usage:
  guarita [--config] routes.yaml      start the gateway
  guarita check-config routes.yaml    validate and print the effective configuration
  guarita dn client.pem               print the OFB subject DN, org_id, software_id and x5t#S256`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    // SPEC §7: `npx guarita -- --config routes.yaml` hands the bin a literal `--` first.
    args: argv[0] === '--' ? argv.slice(1) : argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, arg] = positionals;
  if (command === 'check-config') return checkConfig(arg ?? values.config);
  if (command === 'dn') return printDn(arg);
  const file = values.config ?? command;
  if (file === undefined || positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  return run(file);
}

async function run(file: string): Promise<number> {
  const config = loadConfig(file);
  const logger = pino({ level: config.log.level, base: { service: 'guarita' } });
  const gateway = await startGateway(config, { logger });
  logger.info({ port: gateway.port, routes: config.routes.length, config: config.file }, 'guarita listening');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining in-flight requests');
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while closing');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return -1; // keep running
}

function checkConfig(file: string | undefined): number {
  if (file === undefined) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig(file);
  console.log(JSON.stringify(maskSecrets(config), null, 2));
  console.error(`${config.file}: ok (${config.routes.length} routes)`);
  return 0;
}

/** Secrets never reach a terminal or a log: values of secret-looking keys are masked. */
function maskSecrets(config: Config): unknown {
  return JSON.parse(JSON.stringify(config), (key, value: unknown) =>
    /secret|password/i.test(key) && typeof value === 'string' ? '********' : value,
  );
}

function printDn(file: string | undefined): number {
  if (file === undefined) {
    console.error(USAGE);
    return 2;
  }
  const der = new X509Certificate(readFileSync(file)).raw;
  const id = identityFromDer(der);
  console.log(`subject_dn:  ${id.subjectDn}`);
  console.log(`org_id:      ${id.orgId ?? '(none)'}`);
  console.log(`software_id: ${id.softwareId ?? '(none)'}`);
  console.log(`x5t#S256:    ${id.thumbprint}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`guarita: configuration error: ${err.message}`);
      process.exit(2);
    }
    console.error(`guarita: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
