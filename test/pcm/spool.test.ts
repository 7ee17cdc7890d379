// The spool's durability rules (SPEC §11): committed batches are gone after a restart, uncommitted
// ones come back (at least once), segments rotate and are deleted once read, the backlog and the
// age of its oldest report survive a restart.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { encodeRecord } from '../../src/pcm/segment-format.js';
import { Spool } from '../../src/pcm/spool.js';
import { removeTempDir, tempDir } from '../helpers/gateway.js';

const line = (i: number) => encodeRecord(1000 + i, JSON.stringify({ i }));
const ids = (b: { records: readonly { json: string }[] }) => b.records.map((r) => (JSON.parse(r.json) as { i: number }).i);

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
