// SPEC §11 with `server.workers: 2`: each worker spools in `<spoolDir>/worker-<slot>`, so every
// worker's reports are written and delivered (before the slots, the spool lock let only one worker write).
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startProcessGateway } from '../helpers/process-gateway.js';
import { serverBlock, testPki } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';
import { eventually, pcmBlock, spoolDir, startTestPcm } from './helpers.js';

t.test('regression: with two workers only the first could write the spool; now each has its own and every report arrives once', { timeout: 120_000 }, async (tt) => {
  const pcm = await startTestPcm(tt);
  const dir = spoolDir(tt);
  const upstream = await startUpstream(tt);
  const gw = await startProcessGateway(
    tt,
    `${serverBlock('{{pki}}', '  workers: 2\n')}${pcmBlock(pcm, dir, '  flushSeconds: 1\n  maxBackoffSeconds: 1\n')}routes:
  - path: /open-banking/accounts/v2
    upstream: ${upstream.url}
    mtls: required
    fapi: true
`,
    { startTimeoutMs: 60_000 },
  );
  const { pki } = await testPki();
  const sent: string[] = [];
  for (let i = 0; i < 20; i++) {
    const id = randomUUID();
    const res = await send(gw.port, { path: '/open-banking/accounts/v2/accounts', headers: { 'x-fapi-interaction-id': id }, cert: pki.client1, ca: pki.ca.cert });
    tt.equal(res.status, 200);
    sent.push(id);
  }
  await eventually(() => pcm.accepted.length >= sent.length, 30_000, 'every worker’s reports to arrive');
  await new Promise((r) => setTimeout(r, 1500));
  tt.same(pcm.accepted.map((r) => r.fapiInteractionId as string).sort(), [...sent].sort(), 'each report exactly once');
  tt.ok(existsSync(join(dir, 'worker-1')) && existsSync(join(dir, 'worker-2')), 'one spool per worker slot');
  gw.kill('SIGTERM');
  tt.equal(await gw.exited, 0);
});
