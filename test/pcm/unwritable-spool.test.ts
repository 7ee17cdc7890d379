// SPEC §11 + §7: a spool directory that cannot be written never costs a request — calls are still
// answered — while /readyz shows `pcm` down (failing readiness when listed), the failure is logged
// once and counted, and reports beyond the memory bound are dropped and counted.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/server.js';
import { serverBlock, tempDir, removeTempDir, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';
import { pcmBlock, spoolDir, startTestPcm } from './helpers.js';

t.test('spool directory unwritable: requests served, /readyz pcm down, logged once, counted', { timeout: 30_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const upstream = await startUpstream(tt);
  const { dir: pkiDir, pki } = await testPki();
  // A regular file where the spool directory should be: mkdir fails (ENOTDIR), even as root.
  const base = spoolDir(tt);
  writeFileSync(join(base, 'not-a-dir'), 'x');
  const configDir = tempDir('guarita-conf-');
  tt.teardown(() => removeTempDir(configDir));
  const file = join(configDir, 'routes.yaml');
  writeFileSync(
    file,
    `${serverBlock(pkiDir)}admin: { port: 0, host: 127.0.0.1, readinessDependencies: [pcm] }
${pcmBlock(pcm, join(base, 'not-a-dir', 'spool'), '  maxQueueBytes: 65536\n').replaceAll('{{pki}}', pkiDir)}routes:
  - path: /open-banking/accounts/v2
    upstream: ${upstream.url}
    mtls: required
    fapi: true
`,
  );
  const lines: { level: string; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as { level: string; msg: string });
      done();
    },
  });
  const logger = pino({ level: 'info', formatters: { level: (label) => ({ level: label }) } }, sink);
  const gateway = await startGateway(loadConfig(file), { logger });
  tt.teardown(() => gateway.close(1000));

  const answers: number[] = [];
  for (let i = 0; i < 400; i++) {
    const res = await send(gateway.port, { path: '/open-banking/accounts/v2/accounts', headers: { 'x-fapi-interaction-id': randomUUID() }, cert: pki.client1, ca: pki.ca.cert });
    answers.push(res.status);
  }
  tt.ok(answers.every((s) => s === 200), 'every request is served');
  await gateway.pcm?.tick();
  await gateway.readiness.run();
  const ready = await fetch(`http://127.0.0.1:${gateway.adminPort}/readyz`);
  const body = (await ready.json()) as { status: string; dependencies: Record<string, { up: boolean; detail: string }> };
  tt.equal(ready.status, 503, 'listed in readinessDependencies: /readyz fails');
  tt.equal(body.dependencies.pcm?.up, false, 'pcm down');
  tt.match(body.dependencies.pcm?.detail, /spool .*not-a-dir\/spool\/server cannot be written: ENOTDIR/, 'naming the directory');
  const failures = lines.filter((l) => /PCM spool cannot be written/.test(l.msg));
  tt.equal(failures.length, 2, 'logged once per spool (server, opendata), not once per retry');
  const stats = gateway.pcm?.stats().server;
  tt.ok((stats?.dropped ?? 0) > 0, `past the memory bound reports are dropped and counted (${stats?.dropped})`);
  tt.equal((stats?.dropped ?? 0) + (stats?.backlog ?? 0), 400, 'every report is held or counted');
  const metrics = await gateway.metrics.exposition();
  tt.match(metrics, /guarita_pcm_reports_total\{kind="server",outcome="dropped"\} [1-9]/);
  tt.match(metrics, /guarita_pcm_spool_failures_total [1-9]/);
  tt.match(metrics, /guarita_dependency_up\{dependency="pcm"\} 0/);
});
