/**
 * The published JSON Schema of routes.yaml, generated from the config schema (the single source).
 * `npm run schema` writes schema/routes.schema.json; a test fails when the committed file drifts.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigSchema } from './schema.js';

/** The JSON Schema document (TypeBox symbols dropped by JSON serialisation). */
export function configJsonSchema(): string {
  const schema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Guarita routes.yaml',
    ...(withOptionalDefaults(JSON.parse(JSON.stringify(ConfigSchema))) as object),
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** A key with a default need not be written: drop it from `required` (the loader fills it in). */
function withOptionalDefaults(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withOptionalDefaults);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = withOptionalDefaults(v);
  const props = out.properties as Record<string, { default?: unknown }> | undefined;
  if (props !== undefined && Array.isArray(out.required)) {
    out.required = (out.required as string[]).filter((name) => props[name]?.default === undefined);
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.filename === resolve(process.argv[1])) {
  const out = resolve(process.argv[2] ?? 'schema/routes.schema.json');
  writeFileSync(out, configJsonSchema());
  console.log(`wrote ${out}`);
}
