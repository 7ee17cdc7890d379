// issue 5: no Docker engine here, so the Dockerfile's steps are replayed in a temp dir:
// a production-only install (no dev dependencies), the compiled src without src/dev, and a start that
// validates a config.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serverBlock, testPki } from '../helpers/gateway.js';
import { GATEWAY_NODE_FLAGS } from '../../src/runtime-flags.js';

const root = resolve(import.meta.dirname, '../../..');

/** The image's ENTRYPOINT, as the JSON array it is written in. */
function entrypoint(): string[] {
  const line = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))?.[1];
  return JSON.parse(line ?? '[]') as string[];
}

t.test('Dockerfile: multi-stage, non-root, production dependencies, no certificates baked in', async (tt) => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  tt.equal(dockerfile.match(/^FROM /gm)?.length, 2, 'multi-stage');
  tt.match(dockerfile, /npm ci --omit=dev/);
  // Kubernetes can only enforce runAsNonRoot on a numeric user: a name (`USER node`) makes the pod fail to start.
  tt.match(dockerfile, /^USER [1-9][0-9]*:[1-9][0-9]*$/m, 'a numeric, non-root uid:gid');
  tt.notMatch(dockerfile, /^USER (?![0-9])/m, 'no user name');
  // The current LTS: every stage on the same Node.js 24 base.
  const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  tt.ok(bases.length > 0 && bases.every((b) => /^node:24[-.]/.test(b ?? '')), `Node 24 bases: ${bases.join(', ')}`);
  // Development code (mocks, demo, dev PKI) stays out of the image.
  tt.match(dockerfile, /rm -rf dist\/src\/dev/, 'dist/src/dev removed in the build stage');
  tt.notMatch(dockerfile, /COPY[^\n]*src\/dev/, 'src/dev never copied');
  tt.notMatch(dockerfile, /COPY[^\n]*certs/, 'no certificates copied into the image');
  tt.match(readFileSync(join(root, '.dockerignore'), 'utf8'), /^certs$/m);
  tt.same(entrypoint(), ['node', ...GATEWAY_NODE_FLAGS, 'dist/src/cli.js'], 'node runs the gateway with the V8 flags of src/runtime-flags.ts');
});

t.test('the production install runs the gateway with production dependencies only', { timeout: 240_000 }, async (tt) => {
  const app = mkdtempSync(join(tmpdir(), 'guarita-image-'));
  tt.teardown(() => rmSync(app, { recursive: true, force: true }));
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(root, f), join(app, f));
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, stdio: 'ignore' });
  cpSync(join(root, 'dist/src'), join(app, 'dist/src'), { recursive: true });
  rmSync(join(app, 'dist/src/dev'), { recursive: true, force: true }); // as the build stage does
  const { dir } = await testPki();
  writeFileSync(join(app, 'routes.yaml'), `${serverBlock(dir)}routes:\n  - path: /x\n    upstream: http://127.0.0.1:1\n`);
  // Started as the ENTRYPOINT starts it: this Node accepts its flags.
  const [, ...nodeArgs] = entrypoint();
  const check = spawnSync(process.execPath, [...nodeArgs, 'check-config', 'routes.yaml'], { cwd: app, encoding: 'utf8' });
  tt.equal(check.status, 0, check.stderr);
  const dn = spawnSync(process.execPath, ['dist/src/cli.js', 'dn', join(dir, 'client1.crt')], { cwd: app, encoding: 'utf8' });
  tt.equal(dn.status, 0, dn.stderr);
  const help = spawnSync(process.execPath, ['dist/src/cli.js', '--help'], { cwd: app, encoding: 'utf8' });
  tt.equal(help.status, 0, help.stderr);
  // Nothing left in the image imports the development code that was removed.
  const grep = spawnSync('grep', ['-rlE', String.raw`from ['"](\./|(\.\./)+)dev/`, join(app, 'dist/src')], { encoding: 'utf8' });
  const imports = grep.stdout.trim();
  tt.equal(imports, '', 'no module imports dist/src/dev');
  tt.notOk(existsSync(join(app, 'dist/src/dev')), 'no dist/src/dev');
  // SPEC §7: `guarita --version` prints the version, without the development code too.
  const version = spawnSync(process.execPath, ['dist/src/cli.js', '--version'], { cwd: app, encoding: 'utf8' });
  const { version: expected } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  tt.match(version.stdout, expected, 'guarita --version');
  for (const dev of ['typescript', 'tap', 'eslint', 'kubernetes-models']) {
    tt.notOk(spawnSync('test', ['-e', join(app, 'node_modules', dev)]).status === 0, `${dev} not installed`);
  }
});
