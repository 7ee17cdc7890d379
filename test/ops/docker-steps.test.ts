// issue 5: no Docker engine here, so the Dockerfile's steps are replayed in a temp dir:
// a production-only install (no dev dependencies), the compiled src, and a start that validates a config.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  tt.match(dockerfile, /^USER node$/m);
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
  const { dir } = await testPki();
  writeFileSync(join(app, 'routes.yaml'), `${serverBlock(dir)}routes:\n  - path: /x\n    upstream: http://127.0.0.1:1\n`);
  // Started as the ENTRYPOINT starts it: this Node accepts its flags.
  const [, ...nodeArgs] = entrypoint();
  const check = spawnSync(process.execPath, [...nodeArgs, 'check-config', 'routes.yaml'], { cwd: app, encoding: 'utf8' });
  tt.equal(check.status, 0, check.stderr);
  const dn = spawnSync(process.execPath, ['dist/src/cli.js', 'dn', join(dir, 'client1.crt')], { cwd: app, encoding: 'utf8' });
  tt.equal(dn.status, 0, dn.stderr);
  for (const dev of ['typescript', 'tap', 'eslint']) {
    tt.notOk(spawnSync('test', ['-e', join(app, 'node_modules', dev)]).status === 0, `${dev} not installed`);
  }
});
