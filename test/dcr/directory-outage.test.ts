// SPEC §9, §5: the Directory's SSA key set unreachable with no usable cached key → 503
// temporarily_unavailable, never forwarded; a cached key keeps working; back up → accepted again.
import t from 'tap';
import { SSA_KEY_SET } from '../../src/dev/mock-directory.js';
import { assertRefused, startDcrGateway } from '../helpers/dcr.js';
import { startRestartableDirectory } from '../helpers/directory.js';

t.test('Directory down with no cached key: 503 temporarily_unavailable; cached key keeps working', async (tt) => {
  const d = await startRestartableDirectory(tt);
  const g = await startDcrGateway(tt, { testDirectory: d, directory: { refetchCooldownSeconds: 0, timeoutMs: 1000 } });
  await d.stop();
  const down = await g.call(g.metadata(await g.ssa()));
  assertRefused(tt, down, 503, 'temporarily_unavailable', g.as, 0, 'Directory down, nothing cached');
  tt.equal(down.json<{ error_description: string }>().error_description, "the Directory's software statement keys cannot be fetched; try again later");

  await d.start();
  const up = await g.call(g.metadata(await g.ssa()));
  tt.equal(up.status, 201, `back up: accepted (${up.body})`);
  tt.ok(d.directory.fetches(SSA_KEY_SET) >= 1, 'the SSA keys came from /openbanking.jwks');

  await d.stop();
  const cached = await g.call(g.metadata(await g.ssa()));
  tt.equal(cached.status, 201, `down again: the cached key keeps working (${cached.body})`);
  tt.equal(g.as.requests.length, 2);
});

t.test('/readyz probes the SSA key set as the directory dependency (SPEC §7)', async (tt) => {
  const d = await startRestartableDirectory(tt);
  const g = await startDcrGateway(tt, { testDirectory: d, sections: 'admin: { port: 0, host: 127.0.0.1 }\n' });
  const readyz = async () => (await (await fetch(`http://127.0.0.1:${g.gw.gateway.adminPort}/readyz`)).json()) as { dependencies: Record<string, { up: boolean; detail: string }> };
  await g.gw.gateway.readiness.run();
  const body = await readyz();
  tt.equal(body.dependencies.directory?.up, true, JSON.stringify(body));
  tt.match(body.dependencies.directory?.detail, d.directory.ssaJwksUri, 'the probe names the SSA key-set URL');
});
