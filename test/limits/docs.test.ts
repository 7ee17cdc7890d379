// docs/limits.md: its OFB minimums table is the catalogue's (regenerate with
// `node dist/src/limits/minimums-table.js docs/limits.md`), and it documents every limit setting.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { withMinimumsTable } from '../../src/limits/minimums-table.js';
import { LimitsSchema, RouteLimitsSchema } from '../../src/config/schema.js';
import { OFB_ENDPOINTS } from '../../src/ofb/catalogue.js';

const DOC = readFileSync(resolve(import.meta.dirname, '../../../docs/limits.md'), 'utf8');

t.test('the minimums table is generated from the catalogue, one row per endpoint', async (tt) => {
  tt.equal(DOC, withMinimumsTable(DOC), 'docs/limits.md is in step with src/ofb/catalogue.ts');
  for (const e of OFB_ENDPOINTS) tt.ok(DOC.includes(`| ${e.method} | \`${e.template}\` |`), e.template);
});

t.test('every limits option is documented', async (tt) => {
  for (const key of Object.keys(LimitsSchema.properties)) tt.ok(DOC.includes(`\`limits.${key}\``), `limits.${key}`);
  for (const key of Object.keys(RouteLimitsSchema.properties)) tt.ok(DOC.includes(`\`routes[].limits.${key}\``), `routes[].limits.${key}`);
});
