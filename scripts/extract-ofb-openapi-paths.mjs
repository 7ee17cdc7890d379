#!/usr/bin/env node
// Snapshot of the OFB OpenAPI paths (OpenBanking-Brasil/openapi, swagger-apis/<api>/<version>.yml)
// for the catalogue drift test (test/ofb/catalogue.test.ts).
//
// Usage: node scripts/extract-ofb-openapi-paths.mjs <openapi> [out]
//   <openapi>  a clone of OpenBanking-Brasil/openapi (a work tree holding swagger-apis/), or a bare
//              git directory (e.g. the mirror the `fetch` tool returns); HEAD is read.
//   [out]      default test/fixtures/ofb-openapi-paths.json
// For each API and major version it keeps the latest stable file (no -beta/-rc suffix) and records
// its servers base path, and every path with its HTTP methods.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const [source, out = 'test/fixtures/ofb-openapi-paths.json'] = process.argv.slice(2);
if (source === undefined) {
  console.error('usage: node scripts/extract-ofb-openapi-paths.mjs <openapi clone or bare git dir> [out]');
  process.exit(2);
}

const workTree = existsSync(join(source, 'swagger-apis'));
const git = (...args) => execFileSync('git', ['--git-dir', source, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
/** The commit the snapshot comes from (the drift test checks it is named); a plain copy without .git has none. */
function headCommit() {
  try {
    return workTree ? execFileSync('git', ['-C', source, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim() : git('rev-parse', 'HEAD').trim();
  } catch {
    console.error(`${source}: not a git checkout, so the snapshot names no commit`);
    return undefined;
  }
}
const commit = headCommit();
const list = workTree
  ? readdirSync(join(source, 'swagger-apis'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(join(source, 'swagger-apis', d.name)).map((f) => `swagger-apis/${d.name}/${f}`))
  : git('ls-tree', '-r', '--name-only', 'HEAD', 'swagger-apis/').split('\n');
const read = (file) => (workTree ? readFileSync(join(source, file), 'utf8') : git('show', `HEAD:${file}`));

const STABLE = /^swagger-apis\/([^/]+)\/(\d+)\.(\d+)\.(\d+)\.ya?ml$/;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** api → major → the latest stable file of that major. */
const latest = new Map();
for (const file of list) {
  const m = STABLE.exec(file);
  if (m === null) continue;
  const [, api, major, minor, patch] = m;
  const rank = Number(minor) * 1e6 + Number(patch);
  const byMajor = latest.get(api) ?? new Map();
  const seen = byMajor.get(major);
  if (seen === undefined || seen.rank < rank) byMajor.set(major, { file, rank, version: `${major}.${minor}.${patch}` });
  latest.set(api, byMajor);
}

const apis = {};
for (const api of [...latest.keys()].sort()) {
  const entries = [];
  for (const [major, { file, version }] of [...latest.get(api)].sort((a, b) => Number(a[0]) - Number(b[0]))) {
    const doc = parse(read(file));
    const servers = (doc.servers ?? []).map((s) => new URL(s.url, 'https://x.invalid').pathname.replace(/\/$/, ''));
    const basePath = servers[0] ?? '';
    const paths = {};
    for (const [path, item] of Object.entries(doc.paths ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      paths[path] = METHODS.filter((verb) => item?.[verb] !== undefined).map((verb) => verb.toUpperCase());
    }
    entries.push({ major: Number(major), version, file, basePath, paths });
  }
  apis[api] = entries;
}

writeFileSync(out, `${JSON.stringify({ source: 'OpenBanking-Brasil/openapi', commit, apis }, null, 2)}\n`);
console.log(`${out}: ${Object.keys(apis).length} APIs`);
