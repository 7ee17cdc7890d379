/**
 * docs/configuration.md, generated from the config schema (the single source, through the published
 * JSON Schema): every option with its type, default and description. `npm run docs:config` writes
 * it; a test fails when the committed file drifts.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configJsonSchema } from './json-schema.js';

interface Node {
  type?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  anyOf?: Node[];
  items?: Node;
  properties?: Record<string, Node>;
  required?: string[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  uniqueItems?: boolean;
}

interface Row {
  readonly key: string;
  readonly type: string;
  readonly presence: string;
  readonly description: string;
}

/** Inline code; a value holding a backtick gets a double-backtick span. */
function code(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** `a`, `a or b`, `one of a, b, c`. */
const alternatives = (items: string[]): string => (items.length > 2 ? `one of ${items.join(', ')}` : items.join(' or '));
const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The object member of a union (`auth: none | {…}`), if any. */
const objectOf = (node: Node): Node | undefined =>
  node.properties !== undefined ? node : node.anyOf?.find((member) => member.properties !== undefined);

function typeOf(node: Node): string {
  if (node.const !== undefined) return code(node.const);
  if (node.enum !== undefined) return alternatives(node.enum.map(code));
  if (node.anyOf !== undefined) return alternatives(node.anyOf.map(typeOf));
  switch (node.type) {
    case 'integer':
    case 'number': {
      const { minimum: min, maximum: max } = node;
      if (min !== undefined && max !== undefined) return `${node.type} ${min}–${max}`;
      if (min !== undefined) return `${node.type} ≥ ${min}`;
      return max === undefined ? node.type : `${node.type} ≤ ${max}`;
    }
    case 'string': {
      const base = node.minLength !== undefined && node.minLength > 0 ? 'non-empty string' : 'string';
      return node.pattern === undefined ? base : `${base} matching ${code(node.pattern)}`;
    }
    case 'array': {
      const items = node.items === undefined ? 'values' : node.items.properties !== undefined ? 'objects' : typeOf(node.items).replace(/^(non-empty string|string|integer|boolean)\b/, '$1s');
      const bounds = [node.minItems !== undefined ? `at least ${node.minItems}` : '', node.uniqueItems === true ? 'no duplicates' : ''].filter(Boolean);
      return `list of ${items}${bounds.length > 0 ? ` (${bounds.join(', ')})` : ''}`;
    }
    case 'object':
      return 'object';
    default:
      return node.type ?? 'any';
  }
}

function presenceOf(node: Node, required: boolean): string {
  if (node.default !== undefined) {
    const isEmptyObject = typeof node.default === 'object' && node.default !== null && !Array.isArray(node.default) && Object.keys(node.default).length === 0;
    return isEmptyObject ? 'optional (every key takes its default)' : `default ${code(node.default)}`;
  }
  return required ? '**required**' : 'optional';
}

/** Rows for `node`'s properties under `prefix`, depth first (an object row before its keys). */
function rowsOf(node: Node, prefix: string): Row[] {
  const rows: Row[] = [];
  const required = new Set(node.required ?? []);
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    const description = child.description ?? child.items?.description ?? '';
    rows.push({ key, type: typeOf(child), presence: presenceOf(child, required.has(name)), description });
    const nested = objectOf(child);
    if (nested !== undefined) rows.push(...rowsOf(nested, key));
    if (child.type === 'array' && child.items?.properties !== undefined) rows.push(...rowsOf(child.items, `${key}[]`));
  }
  return rows;
}

const HEADER = `# Configuration reference (\`routes.yaml\`)

<!-- Generated from src/config/schema.ts by \`npm run docs:config\` (after \`npm run build\`): do not edit by hand. -->

One YAML file configures everything. It is validated at start: unknown keys are errors (a typo must
never silently disable a check), and every error names the file, the line and the key; the process
then exits non-zero without listening. \`\${VAR}\` and \`\${VAR:-default}\` in any string value are
replaced from the environment (for secrets). Relative file paths are relative to the configuration
file. \`guarita check-config routes.yaml\` prints the effective configuration with every default
filled in; editors complete the file from the JSON Schema in \`schema/routes.schema.json\`, generated
from the same source as this page.

Keys are written as dot paths; \`[]\` stands for every element of a list (\`routes[].auth.scopes\`).
A key with a default may be left out. "Check N" refers to the numbered checks in the README.
See [operations.md](operations.md) for running Guarita in production and [refusals.md](refusals.md)
for what each refusal means.
`;

/** The whole page. */
export function configurationDoc(): string {
  const schema = JSON.parse(configJsonSchema()) as Node;
  const required = new Set(schema.required ?? []);
  const sections: string[] = [HEADER];
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    if (name === '$schema') continue;
    const presence = presenceOf(child, required.has(name));
    const isList = child.type === 'array';
    const body = objectOf(isList ? (child.items ?? {}) : child);
    const lines = [`## \`${name}\``, '', child.description ?? '', '', `Type: ${typeOf(child)}; ${presence}.`];
    if (isList && child.items?.description !== undefined) lines.push('', `Each element: ${child.items.description}`);
    const rows = body === undefined ? [] : rowsOf(body, isList ? `${name}[]` : name);
    if (rows.length > 0) {
      lines.push('', '| key | type | default | description |', '| --- | --- | --- | --- |');
      for (const row of rows) lines.push(`| \`${row.key}\` | ${cell(row.type)} | ${cell(row.presence)} | ${cell(row.description)} |`);
    }
    sections.push(lines.join('\n'));
  }
  return `${sections.join('\n\n')}\n`;
}

if (process.argv[1] !== undefined && import.meta.filename === resolve(process.argv[1])) {
  const out = resolve(process.argv[2] ?? 'docs/configuration.md');
  writeFileSync(out, configurationDoc());
  console.log(`wrote ${out}`);
}
