// issue 5: the committed JSON Schema must match the config schema it is generated from.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import { configJsonSchema } from '../../src/config/json-schema.js';

const committed = resolve(import.meta.dirname, '../../../schema/routes.schema.json');

t.test('schema/routes.schema.json is up to date (run `npm run schema`)', async (tt) => {
  tt.equal(readFileSync(committed, 'utf8'), configJsonSchema());
});

t.test('the published schema is valid JSON Schema and refuses unknown keys', async (tt) => {
  const validate = new Ajv({ strict: false }).compile(JSON.parse(readFileSync(committed, 'utf8')) as object);
  tt.notOk(validate({ server: { tls: { certificates: [{ cert: 'a', key: 'b' }] } }, routes: [{ path: '/x', upstream: 'http://a', mtsl: 'none' }] }));
  tt.ok(validate({ server: { tls: { certificates: [{ cert: 'a', key: 'b' }] } }, routes: [{ path: '/x', upstream: 'http://a', mtls: 'none' }] }));
});
