// The `pcm` section: defaults (production URLs, serverOrgId from signing.orgId), files resolved
// against the configuration file, and a start-up error naming the key when it cannot work.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { pcmSettings } from '../../src/pcm/settings.js';
import { writeBankSigningKey } from '../../src/dev/pki.js';
import { serverBlock, tempDir, removeTempDir, testPki } from '../helpers/gateway.js';

const ROUTES = 'routes:\n  - path: /open-banking/accounts/v2\n    upstream: http://127.0.0.1:1\n';

t.test('defaults: production PCM URLs, serverOrgId = signing.orgId, relative paths from the config file', async (tt) => {
  const { dir } = await testPki();
  const conf = tempDir('guarita-pcm-conf-');
  tt.teardown(() => removeTempDir(conf));
  await writeBankSigningKey(conf);
  writeFileSync(join(conf, 'pcm.crt'), 'CERT');
  writeFileSync(join(conf, 'pcm.key'), 'KEY');
  const yaml = `${serverBlock(dir)}signing: { key: ${conf}/signing.key, kid: k1, orgId: 0b4c0000-0000-4000-8000-000000000001 }
pcm: { clientId: bank, clientCert: pcm.crt, clientKey: pcm.key, spoolDir: spool }
${ROUTES}`;
  const settings = pcmSettings(parseConfig(yaml, join(conf, 'routes.yaml'), {}));
  tt.equal(settings?.reportUrl, 'https://api.pcm.openfinancebrasil.org.br/report-api/v1/private/report/');
  tt.equal(settings?.openDataReportUrl, 'https://api.pcm.openfinancebrasil.org.br/report-api/v1/opendata/report');
  tt.equal(settings?.tokenUrl, 'https://auth.pcm.openfinancebrasil.org.br/token/');
  tt.equal(settings?.serverOrgId, '0b4c0000-0000-4000-8000-000000000001', 'serverOrgId defaults to signing.orgId');
  tt.equal(settings?.spoolDir, join(conf, 'spool'), 'spoolDir relative to the configuration file');
  tt.equal(settings?.cert.toString(), 'CERT');
  tt.equal(settings?.flushSeconds, 60);
  tt.equal(settings?.syncIntervalMs, 200);
  tt.equal(settings?.maxQueueBytes, 16 << 20);
});

t.test('no serverOrgId and no signing.orgId, or an unreadable certificate: a start-up error naming the key', async (tt) => {
  const { dir } = await testPki();
  const conf = tempDir('guarita-pcm-conf-');
  tt.teardown(() => removeTempDir(conf));
  writeFileSync(join(conf, 'pcm.crt'), 'CERT');
  writeFileSync(join(conf, 'pcm.key'), 'KEY');
  const file = join(conf, 'routes.yaml');
  const noOrg = parseConfig(`${serverBlock(dir)}pcm: { clientId: bank, clientCert: pcm.crt, clientKey: pcm.key, spoolDir: spool }\n${ROUTES}`, file, {});
  tt.throws(() => pcmSettings(noOrg), /pcm\.serverOrgId is required when there is no signing\.orgId/);
  const missing = parseConfig(`${serverBlock(dir)}pcm: { clientId: bank, clientCert: nope.crt, clientKey: pcm.key, spoolDir: spool, serverOrgId: x }\n${ROUTES}`, file, {});
  tt.throws(() => pcmSettings(missing), /pcm\.clientCert: file nope\.crt cannot be read \(ENOENT\)/);
  tt.throws(() => parseConfig(`${serverBlock(dir)}pcm: { clientId: bank, clientCert: a, clientKey: b, spoolDir: s, flushSecond: 5 }\n${ROUTES}`, file, {}), /pcm\.flushSecond: unknown key/);
  tt.equal(pcmSettings(parseConfig(`${serverBlock(dir)}${ROUTES}`, file, {})), undefined, 'no pcm section: no reporter');
});
