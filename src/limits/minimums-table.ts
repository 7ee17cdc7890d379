/**
 * The OFB minimums table of docs/limits.md, generated from the endpoint catalogue (the one source):
 * `node dist/src/limits/minimums-table.js docs/limits.md` rewrites the table between its markers; a
 * test fails when the committed table drifts from the catalogue.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { OFB_ENDPOINTS } from '../ofb/catalogue.js';

export const BEGIN = '<!-- minimums:begin (generated from src/ofb/catalogue.ts; do not edit by hand) -->';
export const END = '<!-- minimums:end -->';

/** One row per catalogue endpoint: method, template, per-minute minimum, monthly minimum. */
export function minimumsTable(): string {
  const lines = ['| method | endpoint | per minute, per origin | per consent and month |', '| --- | --- | --- | --- |'];
  for (const e of OFB_ENDPOINTS) {
    const perMinute = e.perMinute === 'high' ? 'high (`highClassPerMinute`)' : e.perMinute === 'exempt' ? 'exempt' : e.perMinute.toLocaleString('en-US');
    const perMonth = e.perConsentMonth === 'exempt' ? 'exempt' : String(e.perConsentMonth);
    lines.push(`| ${e.method} | \`${e.template}\` | ${perMinute} | ${perMonth} |`);
  }
  return lines.join('\n');
}

/** `markdown` with the text between the markers replaced by the generated table. */
export function withMinimumsTable(markdown: string): string {
  const start = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  if (start === -1 || end < start) throw new Error(`the document has no "${BEGIN}" … "${END}" block`);
  return `${markdown.slice(0, start + BEGIN.length)}\n${minimumsTable()}\n${markdown.slice(end)}`;
}

if (process.argv[1] !== undefined && import.meta.filename === resolve(process.argv[1])) {
  const file = resolve(process.argv[2] ?? 'docs/limits.md');
  writeFileSync(file, withMinimumsTable(readFileSync(file, 'utf8')));
  console.log(`wrote ${file}`);
}
