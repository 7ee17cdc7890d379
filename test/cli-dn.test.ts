// SPEC §7 and §9: `guarita dn CERT.pem` prints the OFB subject DN of real OFB sandbox certificates
// as the conformance suite expects it, and `--match "<DN>"` says whether a tls_client_auth_subject_dn
// matches it by RFC 4517 distinguishedNameMatch: exit 0 on a match, 1 otherwise (with the reason),
// 2 on a usage error.
import t from 'tap';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { certFixtures, changeValue, pemPath, swapRdns } from './fixtures/ofb-certs/index.js';

const BIN = resolve(import.meta.dirname, '../src/cli.js');

async function guarita(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
  return { code, out, err };
}

// The four distinct certificates (sec-teste.pem is the suite's 2022 one; fixtures test says so).
const fixtures = certFixtures.filter((f) => f.file !== 'sec-teste.pem');

t.test('dn prints the DN the conformance suite expects, org_id and software_id', async (t) => {
  const runs = await Promise.all(certFixtures.map((f) => guarita('dn', pemPath(f))));
  for (const [i, f] of certFixtures.entries()) {
    const r = runs[i]!;
    t.equal(r.code, 0, f.file);
    t.equal(r.err, '');
    const lines = r.out.split('\n');
    t.equal(lines[0], `subject_dn:  ${f.subjectDn}`, `${f.file}: subject_dn`);
    t.equal(lines[1], `org_id:      ${f.orgId ?? '(none)'}`);
    t.equal(lines[2], `software_id: ${f.softwareId ?? '(none)'}`);
    t.notMatch(r.out, /^match:/m, 'without --match, as before');
  }
});

t.test('dn --match: the expected DN and OpenSSL\'s spelling match (exit 0)', async (t) => {
  const cases = fixtures.flatMap((f) => [f.subjectDn, f.opensslRfc2253].map((dn) => ({ f, dn })));
  const runs = await Promise.all(cases.map(({ f, dn }) => guarita('dn', pemPath(f), '--match', dn)));
  for (const [i, { f, dn }] of cases.entries()) {
    const r = runs[i]!;
    t.equal(r.code, 0, `${f.file}: ${dn}`);
    t.match(r.out, /^match: {7}yes, the DN matches the certificate subject/m);
    t.match(r.out, `subject_dn:  ${f.subjectDn}\n`, 'the usual lines too');
  }
  // --match=DN and --match before the file are the same.
  const f = fixtures[0]!;
  t.equal((await guarita('dn', `--match=${f.subjectDn}`, pemPath(f))).code, 0);
});

t.test('dn --match: one value changed or two RDNs swapped → exit 1 with the RDN that differs', async (t) => {
  const runs = await Promise.all(
    fixtures.map(async (f) => [await guarita('dn', pemPath(f), '--match', changeValue(f.subjectDn, 0)), await guarita('dn', pemPath(f), '--match', swapRdns(f.subjectDn, 1, 2))] as const),
  );
  for (const [i, f] of fixtures.entries()) {
    const [changed, swapped] = runs[i]!;
    t.equal(changed.code, 1, `${f.file}: first value changed`);
    t.match(changed.out, /^match: {7}no, RDN 1 \(from the left\) differs: .+ given, .+ in the certificate$/m);
    t.equal(changed.err, '');

    t.equal(swapped.code, 1, `${f.file}: RDNs 2 and 3 swapped`);
    t.match(swapped.out, /^match: {7}no, RDN 2 \(from the left\) differs: /m);
  }
  const f = fixtures.find((x) => x.file === 'cs-2022-organization-identifier.pem')!;
  const o = await guarita('dn', pemPath(f), '--match', f.subjectDn.replace('O=Open Banking Brasil', 'O=Open Banking Brazil'));
  t.equal(o.code, 1);
  t.match(o.out, 'match:       no, RDN 7 (from the left) differs: O=Open Banking Brazil given, O=Open Banking Brasil in the certificate\n');

  const fewer = await guarita('dn', pemPath(f), '--match', 'CN=https://web.conformance.directory.openbankingbrasil.org.br');
  t.equal(fewer.code, 1);
  t.match(fewer.out, 'match:       no, the DN given has 1 RDNs, the certificate subject 10\n');

  const bad = await guarita('dn', pemPath(f), '--match', 'CN=a;O=b');
  t.equal(bad.code, 1, 'a DN that does not parse does not match');
  t.match(bad.out, /match: {7}no, the DN given is not an RFC 4514 DN: ';' must be escaped in a value \(RFC 4514 §3\) \(at character 5\)\n/);

  const empty = await guarita('dn', pemPath(f), '--match', '');
  t.equal(empty.code, 1);
  t.match(empty.out, 'match:       no, the DN given is empty\n');
});

t.test('dn --match usage errors exit 2 with the usage', async (t) => {
  const f = fixtures[0]!;
  for (const args of [
    ['dn', pemPath(f), '--match'],
    ['dn', pemPath(f), f.subjectDn],
    ['dn', '--match', f.subjectDn],
    ['--match', f.subjectDn, 'routes.yaml'],
    ['check-config', 'routes.yaml', '--match', f.subjectDn],
  ]) {
    const r = await guarita(...args);
    t.equal(r.code, 2, args.join(' ').slice(0, 60));
    t.match(r.err, /usage:\n/);
    t.match(r.err, 'guarita dn client.pem --match DN');
    t.equal(r.out, '');
  }
});
