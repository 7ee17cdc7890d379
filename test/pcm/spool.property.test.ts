// The spool reader over whatever a crash, a full disk or a bad sector leaves at the end of a
// segment: a torn or corrupted tail never costs an earlier record and never throws.
import t from 'tap';
import fc from 'fast-check';
import { readdirSync, appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRecord, parseRecords } from '../../src/pcm/segment-format.js';
import { Spool } from '../../src/pcm/spool.js';
import { removeTempDir, tempDir } from '../helpers/gateway.js';

const report = fc.record({ id: fc.uuid(), status: fc.integer({ min: 200, max: 599 }), note: fc.string({ maxLength: 40 }) });
const records = fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 42 }), report), { minLength: 1, maxLength: 30 });

/** What can follow the last whole record: a prefix of a record, random bytes, zeros (a torn page). */
const tail = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 2 ** 42 }), report, fc.nat()).map(([at, r, cut]) => {
    const line = encodeRecord(at, JSON.stringify(r));
    return line.subarray(0, cut % line.length); // never the whole line (its newline is cut off)
  }),
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.integer({ min: 1, max: 5000 }).map((n) => Buffer.alloc(n)),
);

t.test('parseRecords: every whole record before a torn or corrupt tail is read back, in order', async () => {
  fc.assert(
    fc.property(records, tail, (rs, garbage) => {
      const whole = Buffer.concat(rs.map(([at, r]) => encodeRecord(at, JSON.stringify(r))));
      const parsed = parseRecords(Buffer.concat([whole, garbage]));
      // The tail may hold newlines (random bytes): those lines fail their check, they are not records.
      const got = parsed.records.slice(0, rs.length).map((r) => [r.arrivedAt, JSON.parse(r.json.toString()) as unknown]);
      return JSON.stringify(got) === JSON.stringify(rs) && parsed.records.length === rs.length;
    }),
    { numRuns: 300 },
  );
});

t.test('parseRecords: a corrupted byte inside a record loses that record only', async () => {
  fc.assert(
    fc.property(records, fc.nat(), fc.integer({ min: 1, max: 255 }), (rs, where, xor) => {
      const lines = rs.map(([at, r]) => encodeRecord(at, JSON.stringify(r)));
      const victim = where % lines.length;
      const line = Buffer.from(lines[victim] as Buffer);
      const pos = (where >> 3) % (line.length - 1); // not the newline: framing stays
      line[pos] = (line[pos] as number) ^ xor;
      if (line[pos] === 0x0a) return true; // a new newline splits the line: covered by the tail property
      lines[victim] = line;
      const parsed = parseRecords(Buffer.concat(lines));
      const expected = rs.filter((_r, i) => i !== victim).map(([at]) => at);
      return JSON.stringify(parsed.records.map((r) => r.arrivedAt)) === JSON.stringify(expected) && parsed.corrupt === 1;
    }),
    { numRuns: 300 },
  );
});

t.test('Spool: after a crash leaves any tail, a restart reads every earlier record and keeps going', async () => {
  await fc.assert(
    fc.asyncProperty(records, tail, records, async (before, garbage, after) => {
      const dir = tempDir('guarita-spool-prop-');
      try {
        let spool = await Spool.open(dir, { segmentBytes: 1 << 20 });
        await spool.append(
          before.map(([at, r]) => encodeRecord(at, JSON.stringify(r))),
          before[0]?.[0] ?? 0,
        );
        await spool.close();
        // The crash: the segment ends in a torn or corrupted tail.
        const segment = readdirSync(dir).find((f) => f.endsWith('.seg')) as string;
        appendFileSync(join(dir, segment), garbage);
        spool = await Spool.open(dir, { segmentBytes: 1 << 20 });
        await spool.append(
          after.map(([at, r]) => encodeRecord(at, JSON.stringify(r))),
          after[0]?.[0] ?? 0,
        );
        const batch = await spool.readBatch(10_000);
        await spool.close();
        const want = [...before, ...after].map(([at, r]) => [at, r]);
        const got = batch.records.map((r) => [r.arrivedAt, JSON.parse(r.json.toString()) as unknown]);
        return JSON.stringify(got) === JSON.stringify(want);
      } finally {
        removeTempDir(dir);
      }
    }),
    { numRuns: 60 },
  );
});

t.test('Spool: a cursor file that is garbage means "read everything again" (at least once), not a crash', async (tt) => {
  const dir = tempDir('guarita-spool-cursor-');
  tt.teardown(() => removeTempDir(dir));
  let spool = await Spool.open(dir);
  await spool.append([encodeRecord(1, '{"a":1}'), encodeRecord(2, '{"a":2}')], 1);
  await spool.close();
  writeFileSync(join(dir, 'cursor.json'), '{"seq": "x"');
  spool = await Spool.open(dir);
  tt.equal(spool.count, 2);
  tt.same((await spool.readBatch(10)).records.map((r) => r.json.toString()), ['{"a":1}', '{"a":2}']);
  await spool.close();
});
