// The OFB catalogue against the OpenAPI snapshot test/fixtures/ofb-openapi-paths.json (made by
// scripts/extract-ofb-openapi-paths.mjs from OpenBanking-Brasil/openapi swagger-apis/, the latest
// stable file of each major): every catalogue row is an OpenAPI endpoint, and every OpenAPI endpoint
// of a base path is in the catalogue or in a commented omission, so a regenerated snapshot shows drift.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { OFB_ENDPOINTS } from '../../src/ofb/catalogue.js';

interface SnapshotEntry {
  readonly major: number;
  readonly version: string;
  readonly file: string;
  readonly basePath: string;
  readonly paths: Readonly<Record<string, readonly string[]>>;
}
interface Snapshot {
  readonly commit: string;
  readonly apis: Readonly<Record<string, readonly SnapshotEntry[]>>;
}

const snapshot = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../test/fixtures/ofb-openapi-paths.json'), 'utf8')) as Snapshot;

/** OpenAPI folders whose endpoints are no bank's: the catalogue leaves them out on purpose. */
const UNCOVERED_APIS: Readonly<Record<string, string>> = {
  participants: 'the central directory’s participant list (data.directory.openbankingbrasil.org.br), not a bank endpoint',
};

/**
 * OpenAPI endpoints of covered base paths left out on purpose (`METHOD template` → reason). None
 * today. What is only in beta or release-candidate files (accounts `/reserved-balances`,
 * `payroll-credit-portability`) is not in the snapshot at all: the script keeps stable files only.
 */
const OMITTED: Readonly<Record<string, string>> = {};

const entries = Object.entries(snapshot.apis).flatMap(([folder, list]) => list.map((entry) => ({ folder, ...entry })));
const openApi = new Map<string, string>();
for (const entry of entries) {
  if (entry.folder in UNCOVERED_APIS) continue;
  for (const [path, methods] of Object.entries(entry.paths)) for (const method of methods) openApi.set(`${method} ${entry.basePath}${path}`, entry.file);
}
const catalogue = new Set(OFB_ENDPOINTS.map((e) => `${e.method} ${e.template}`));

t.test('the snapshot is a real extraction', async (tt) => {
  tt.match(snapshot.commit, /^[0-9a-f]{40}$/, 'names the openapi commit it was taken from');
  tt.ok(openApi.size > 200, `${openApi.size} endpoints`);
  for (const entry of entries) {
    tt.notMatch(entry.version, /-/, `${entry.file}: a stable version`);
    if (!(entry.folder in UNCOVERED_APIS)) tt.match(entry.basePath, /^\/open-banking\/[a-z-]+\/v\d+$/, `${entry.file}: base path`);
  }
});

t.test('every catalogue row is an endpoint of the OpenAPI', async (tt) => {
  for (const key of catalogue) tt.ok(openApi.has(key), key);
});

t.test('every OpenAPI endpoint is in the catalogue or a deliberate omission', async (tt) => {
  for (const [key, file] of openApi) tt.ok(catalogue.has(key) || key in OMITTED, `${key} (${file})`);
  for (const key of Object.keys(OMITTED)) tt.notOk(catalogue.has(key), `${key}: omitted, so not in the catalogue`);
  for (const folder of Object.keys(UNCOVERED_APIS)) tt.ok(folder in snapshot.apis, `${folder}: still in the OpenAPI`);
});

t.test('reserved-balances is not in any stable accounts version yet (only accounts/2.5.0-beta.2)', async (tt) => {
  const stable = [...openApi.keys()].filter((key) => key.endsWith('/reserved-balances'));
  tt.same(stable, [], 'when a stable version adds it, add the row (operations.md: high, 420 a month) and regenerate');
});
