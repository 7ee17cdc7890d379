/**
 * docs/endpoints.md, generated from the OFB endpoint catalogue (src/ofb/catalogue.ts): one table per
 * API family with each endpoint's method, template, permission and OFB minimums. Written by
 * `node dist/src/ofb/docs.js docs/endpoints.md` after a build; a test fails when the committed file drifts.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { OFB_ENDPOINTS, type OfbEndpoint } from './catalogue.js';

const minute = (e: OfbEndpoint) => (e.perMinute === 'high' ? 'high (`limits.highClassPerMinute`)' : String(e.perMinute));

/** The page: a preamble, then a section per family in catalogue order. */
export function endpointsDoc(endpoints: readonly OfbEndpoint[] = OFB_ENDPOINTS): string {
  const families = new Map<string, OfbEndpoint[]>();
  for (const e of endpoints) families.set(e.api, [...(families.get(e.api) ?? []), e]);
  const lines = [
    '# OFB endpoint catalogue',
    '',
    '<!-- Generated from src/ofb/catalogue.ts by `npm run build && node dist/src/ofb/docs.js docs/endpoints.md`; do not edit. -->',
    '',
    'Every OFB endpoint the gateway knows: the permission `permissions: ofb` requires of the consent,',
    'the minimums `limits: { perMinute: ofb, perConsentMonth: ofb }` apply (requests per minute per',
    'endpoint and origin; calls per month per consent and resource; `exempt` = not limited), and the',
    'template a PCM report names. Sources: OpenBanking-Brasil/openapi `swagger-apis/` (paths, methods,',
    'versions), the OFB non-functional requirements "Referência" table (minimums) and the consents API',
    '(permissions). `test/ofb/openapi-snapshot.test.ts` compares the catalogue with a snapshot of the',
    'OpenAPI paths (`test/fixtures/ofb-openapi-paths.json`); refresh it with',
    '`node scripts/extract-ofb-openapi-paths.mjs <clone or bare git dir of OpenBanking-Brasil/openapi>`.',
    '',
    `${endpoints.length} endpoints in ${families.size} API families.`,
  ];
  for (const [api, rows] of families) {
    const open = rows.every((e) => e.openData) ? ' (open data: no client certificate, limited per client IP)' : '';
    lines.push('', `## ${api}${open}`, '', '| method | endpoint | permission | per minute | per consent and month |', '|---|---|---|---|---|');
    for (const e of rows) lines.push(`| ${e.method} | \`${e.template}\` | ${e.permission === undefined ? '—' : `\`${e.permission}\``} | ${minute(e)} | ${e.perConsentMonth} |`);
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] !== undefined && import.meta.filename === resolve(process.argv[1])) {
  const out = resolve(process.argv[2] ?? 'docs/endpoints.md');
  writeFileSync(out, endpointsDoc());
}
