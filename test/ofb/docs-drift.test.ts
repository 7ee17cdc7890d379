// docs/endpoints.md is generated from the OFB catalogue: the committed page must match it and list every row.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { endpointsDoc } from '../../src/ofb/docs.js';
import { OFB_ENDPOINTS } from '../../src/ofb/catalogue.js';

const committed = resolve(import.meta.dirname, '../../../docs/endpoints.md');

t.test('docs/endpoints.md is up to date (run `npm run build && node dist/src/ofb/docs.js docs/endpoints.md`)', async (tt) => {
  tt.equal(readFileSync(committed, 'utf8'), endpointsDoc());
});

t.test('every catalogue row has its line', async (tt) => {
  const page = endpointsDoc();
  for (const e of OFB_ENDPOINTS) tt.match(page, `| ${e.method} | \`${e.template}\` |`, `${e.method} ${e.template}`);
});
