// docs/configuration.md is generated from the config schema: the committed page must match it, and
// it must name every option the schema declares, each with a description.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configurationDoc } from '../../src/config/docs.js';
import { configJsonSchema } from '../../src/config/json-schema.js';

const committed = resolve(import.meta.dirname, '../../../docs/configuration.md');

interface Node {
  description?: string;
  properties?: Record<string, Node>;
  items?: Node;
  anyOf?: Node[];
}

/** Every option path of the published schema (`routes[].auth.scopes`), with its node. */
function options(node: Node, prefix = ''): [string, Node][] {
  const out: [string, Node][] = [];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    if (name === '$schema') continue;
    const key = prefix === '' ? name : `${prefix}.${name}`;
    out.push([key, child]);
    const object = child.properties !== undefined ? child : child.anyOf?.find((m) => m.properties !== undefined);
    if (object !== undefined) out.push(...options(object, key));
    if (child.items?.properties !== undefined) out.push(...options(child.items, `${key}[]`));
  }
  return out;
}

t.test('docs/configuration.md is up to date (run `npm run build && npm run docs:config`)', async (tt) => {
  tt.equal(readFileSync(committed, 'utf8'), configurationDoc());
});

t.test('every option is documented, with a description, and no description cites a SPEC.md the repository lacks', async (tt) => {
  const schema = JSON.parse(configJsonSchema()) as Node;
  const page = configurationDoc();
  const all = options(schema);
  tt.ok(all.length > 50, `${all.length} options`);
  for (const [key, node] of all) {
    const nested = key.split('.').length > 1 || key.includes('[]');
    if (nested) tt.match(page, `| \`${key}\` |`, `${key} has a row`);
    else tt.match(page, `## \`${key}\``, `${key} has a section`);
    tt.ok((node.description ?? node.items?.description ?? '').length > 0, `${key} has a description`);
  }
  tt.notMatch(configJsonSchema(), /SPEC(\.md)? ?§/, 'no SPEC § citations in the published schema');
});
