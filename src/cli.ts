#!/usr/bin/env node
/**
 * guarita [--config] FILE       start the gateway
 * guarita check-config FILE     validate and print the effective configuration (secrets masked)
 * guarita dn CERT.pem           print a certificate's OFB subject DN, org_id, software_id, x5t#S256
 * guarita dn CERT.pem --match DN   also say whether DN matches its subject (RFC 4517; exit 0 or 1)
 * guarita --version             print the version
 * guarita help | --help         print the usage
 * The only file that touches `process`.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Config } from './config/load.js';
import { ConfigError } from './config/errors.js';
import type { ClientIdentity } from './tls/identity.js';

const USAGE = `usage:
  guarita [--config] routes.yaml      start the gateway
  guarita check-config routes.yaml    validate and print the effective configuration
  guarita dn client.pem               print the OFB subject DN, org_id, software_id and x5t#S256
  guarita dn client.pem --match DN    and whether DN (a tls_client_auth_subject_dn) matches it: exit 0, else 1
  guarita --version                   print the version
  guarita help                        print this text`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      // SPEC §7: `npx guarita -- --config routes.yaml` hands the bin a literal `--` first.
      args: argv[0] === '--' ? argv.slice(1) : argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        match: { type: 'string' },
      },
    });
  } catch (err) {
    // A usage error (`--match` without its DN, an unknown option): exit 2 like the others, not 1.
    if ((err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS_')) {
      console.error(`guarita: ${(err as Error).message}\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  const { values, positionals } = parsed;
  const [command, arg] = positionals;
  if (values.match !== undefined && command !== 'dn') {
    console.error(USAGE);
    return 2;
  }
  if (values.version || (command === 'version' && positionals.length === 1)) {
    console.log(version());
    return 0;
  }
  if (values.help || (command === 'help' && positionals.length === 1)) {
    console.log(USAGE);
    return 0;
  }
  if (command === 'check-config') return checkConfig(arg ?? values.config);
  if (command === 'dn') return printDn(positionals.slice(1), values.match);
  const file = values.config ?? command;
  if (file === undefined || positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  return run(file);
}

// The gateway's modules load only for the commands that use them: `--version` and `help` answer at once.
async function run(file: string): Promise<number> {
  const [{ pino }, { loadConfig }, { loggerOptions }, { workerCount, workerSlot }, { default: cluster }] = await Promise.all([
    import('pino'),
    import('./config/load.js'),
    import('./edge/request-log.js'),
    import('./cluster.js'),
    import('node:cluster'),
  ]);
  const config = loadConfig(file);
  const logger = pino(loggerOptions(config.log.level));
  const workers = workerCount(config.server.workers);
  const isWorker = workers > 1 && cluster.isWorker;
  // Said loudly at start (once, by the primary when there are workers): a sandbox secret in
  // production, or credentials over plain http.
  if (!isWorker) for (const warning of config.warnings) logger.warn({ config: config.file }, warning);
  if (workers > 1 && cluster.isPrimary) {
    const { runPrimary } = await import('./cluster.js');
    await runPrimary(config, logger, workers, version());
    watchNpmParent(() => process.kill(process.pid, 'SIGTERM'));
    return -1; // the primary runs until a signal
  }
  // A worker's admin port is the primary's: /readyz and /metrics cover every worker.
  const { startGateway } = await import('./server.js');
  const gateway = await startGateway(config, { logger, adminListener: !isWorker, workerSlot: isWorker ? workerSlot() : undefined });
  if (isWorker) {
    const { serveWorker } = await import('./cluster.js');
    serveWorker({ registry: gateway.metrics.registry, readiness: () => gateway.readiness.body() }, { port: gateway.port, ingressPort: gateway.ingressPort });
  } else {
    logger.info(
      { version: version(), port: gateway.port, ingressPort: gateway.ingressPort, adminPort: gateway.adminPort, routes: config.routes.length, config: config.file },
      'guarita listening',
    );
  }
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
  watchNpmParent(() => stop('npm exited'));
  return -1; // keep running
}

/**
 * npm and npx do not pass signals on to their child: killing `npm start` or `npx guarita` left
 * this process holding the ports. Started by npm, the gateway drains and exits once npm is gone
 * (it is then re-parented). Started any other way — `node` directly, as the image does — nothing
 * changes: a detached gateway keeps running.
 */
/** The parent at launch, read before start-up (npm may be gone before the gateway is up). */
const LAUNCH_PARENT = process.ppid;

function watchNpmParent(onExit: () => void): void {
  if (process.env.npm_command === undefined && process.env.npm_lifecycle_event === undefined) return;
  const timer = setInterval(() => {
    if (process.ppid === LAUNCH_PARENT) return;
    clearInterval(timer);
    onExit();
  }, 1000);
  timer.unref();
}

async function checkConfig(file: string | undefined): Promise<number> {
  if (file === undefined) {
    console.error(USAGE);
    return 2;
  }
  const { loadConfig } = await import('./config/load.js');
  const config = loadConfig(file);
  console.log(JSON.stringify(maskSecrets(config), null, 2));
  for (const warning of config.warnings) console.error(`${config.file}: warning: ${warning}`);
  console.error(`${config.file}: ok (${config.routes.length} routes)`);
  return 0;
}

/** Secrets never reach a terminal or a log: values of secret-looking keys are masked. */
function maskSecrets(config: Config): unknown {
  return JSON.parse(JSON.stringify(config), (key, value: unknown) => {
    if (typeof value !== 'string') return value;
    if (/secret|password/i.test(key)) return '********';
    // A URL's user:password (redis://user:pass@host) is a secret too.
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1********@');
  });
}

async function printDn(files: string[], match: string | undefined): Promise<number> {
  // One certificate; a DN given without --match would be a second positional, not silently ignored.
  const [file] = files;
  if (file === undefined || files.length > 1) {
    console.error(USAGE);
    return 2;
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    console.error(`guarita dn: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return 2;
  }
  const { identityFromDer } = await import('./tls/identity.js');
  let id: ClientIdentity;
  try {
    id = identityFromDer(new X509Certificate(bytes).raw);
  } catch {
    // One line an operator can act on; OpenSSL's and the ASN.1 library's text says nothing more.
    console.error(`guarita dn: ${file} is not an X.509 certificate (PEM or DER); a private key or CSR is not one`);
    return 2;
  }
  console.log(`subject_dn:  ${id.subjectDn}`);
  console.log(`org_id:      ${id.orgId ?? '(none)'}`);
  console.log(`software_id: ${id.softwareId ?? '(none)'}`);
  console.log(`x5t#S256:    ${id.thumbprint}`);
  return match === undefined ? 0 : matchDn(match, id.subjectDn);
}

/** SPEC §9: `--match` says whether a tls_client_auth_subject_dn matches the certificate by the DCR guard's rule. */
async function matchDn(dn: string, subjectDn: string): Promise<number> {
  const { dnMismatch, formatRdn } = await import('./tls/dn-match.js');
  const m = dnMismatch(dn, subjectDn);
  if (m === undefined) {
    console.log('match:       yes, the DN matches the certificate subject (RFC 4517 distinguishedNameMatch)');
    return 0;
  }
  let why: string;
  if (m.reason === 'syntax') why = `${m.side === 0 ? 'the DN given' : 'the certificate subject'} is not an RFC 4514 DN: ${m.error.message}`;
  else if (m.reason === 'empty') why = `${m.side === 0 ? 'the DN given' : 'the certificate subject'} is empty`;
  else if (m.reason === 'rdn-count') why = `the DN given has ${m.counts[0]} RDNs, the certificate subject ${m.counts[1]}`;
  else why = `RDN ${m.index + 1} (from the left) differs: ${clip(formatRdn(m.rdns[0]))} given, ${clip(formatRdn(m.rdns[1]))} in the certificate`;
  console.log(`match:       no, ${why}`);
  return 1;
}

/** Long values shortened: the line should fit a terminal and still show where they differ. */
function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The `version` of the package.json next to this module (dist/src/cli.js → ../../package.json). */
function version(): string {
  for (const relative of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'guarita' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: try the next level up
    }
  }
  return 'unknown';
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
