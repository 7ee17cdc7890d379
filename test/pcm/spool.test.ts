// The spool's durability rules (SPEC §11): committed batches are gone after a restart, uncommitted
// ones come back (at least once), segments rotate and are deleted once read, the backlog and the
// age of its oldest report survive a restart.
import t from 'tap';
import { readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRecord } from '../../src/pcm/segment-format.js';
import { Spool } from '../../src/pcm/spool.js';
import { removeTempDir, tempDir } from '../helpers/gateway.js';

const line = (i: number) => encodeRecord(1000 + i, JSON.stringify({ i }));
const ids = (b: { records: readonly { json: Buffer }[] }) => b.records.map((r) => (JSON.parse(r.json.toString()) as { i: number }).i);

t.test('commit survives a restart; an uncommitted batch is read again', async (tt) => {
  const dir = tempDir('guarita-spool-');
  tt.teardown(() => removeTempDir(dir));
  let spool = await Spool.open(dir, { segmentBytes: 300 });
  for (let i = 0; i < 20; i++) await spool.append([line(i)], 1000 + i);
  tt.equal(spool.count, 20);
  tt.equal(spool.oldest, 1000);
  const first = await spool.readBatch(8);
  tt.same(ids(first), [0, 1, 2, 3, 4, 5, 6, 7]);
  await spool.commit(first);
  tt.equal(spool.count, 12);
  tt.equal(spool.oldest, 1008, 'the oldest is the next one waiting');
  const second = await spool.readBatch(8);
  tt.same(ids(second), [8, 9, 10, 11, 12, 13, 14, 15]);
  // Crash before the commit of `second` (the PCM may have had it: resent — at least once).
  await spool.close();
  spool = await Spool.open(dir, { segmentBytes: 300 });
  tt.equal(spool.count, 12, 'the backlog is counted again at start');
  tt.equal(spool.oldest, 1008);
  const again = await spool.readBatch(100);
  tt.same(ids(again), [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19], 'nothing committed is resent, nothing uncommitted is lost');
  const segmentsBefore = readdirSync(dir).filter((f) => f.endsWith('.seg')).length;
  await spool.commit(again);
  tt.equal(spool.count, 0);
  tt.equal(spool.oldest, undefined);
  const segmentsAfter = readdirSync(dir).filter((f) => f.endsWith('.seg')).length;
  tt.ok(segmentsBefore > 2 && segmentsAfter <= 2, `read segments are deleted (${segmentsBefore} → ${segmentsAfter})`);
  await spool.append([line(99)], 1099);
  tt.same(ids(await spool.readBatch(10)), [99], 'appending goes on after a full drain');
  await spool.close();
});

t.test('an unusable directory is an error from open (the reporter reports and retries it)', async (tt) => {
  const dir = tempDir('guarita-spool-');
  tt.teardown(() => removeTempDir(dir));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${dir}/file`, 'x');
  await tt.rejects(Spool.open(`${dir}/file/spool`), { code: 'ENOTDIR' });
});

t.test('one process per spool: a live owner refuses it, a dead one is taken over', async (tt) => {
  const dir = tempDir('guarita-spool-');
  tt.teardown(() => removeTempDir(dir));
  const { writeFileSync, readFileSync, existsSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  // The test runner's parent is alive and is not this process.
  writeFileSync(`${dir}/owner.pid`, String(process.ppid));
  await tt.rejects(Spool.open(dir), { code: 'ELOCKED', message: new RegExp(`in use by process ${process.ppid}`) });
  // A process that has exited (kill -9 leaves its lock behind).
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(`${dir}/owner.pid`, gone.stdout);
  const spool = await Spool.open(dir);
  tt.equal(readFileSync(`${dir}/owner.pid`, 'utf8'), String(process.pid), 'taken over');
  await spool.close();
  tt.notOk(existsSync(`${dir}/owner.pid`), 'released on close');
});

t.test('regression: a segment that cannot be opened for reading made readBatch return nothing (delivery stopped silently); it now throws', async (tt) => {
  const dir = tempDir('guarita-spool-');
  tt.teardown(() => removeTempDir(dir));
  const spool = await Spool.open(dir, { segmentBytes: 300 });
  for (let i = 0; i < 20; i++) await spool.append([line(i)], 1000 + i);
  // A segment replaced by a symbolic link to itself: open() fails with ELOOP, even as root (EACCES would not).
  const [first] = readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
  rmSync(join(dir, first as string));
  symlinkSync(first as string, join(dir, first as string));
  await tt.rejects(spool.readBatch(8), { code: 'ELOOP' }, 'the sender sees the failure and reports the spool down');
  await spool.close();
});
