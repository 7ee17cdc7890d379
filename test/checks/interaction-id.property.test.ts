// Property tests of the x-fapi-interaction-id rule (SPEC §1 row 1; FAPI 1.0 Part 1 §6.2.2).
import t from 'tap';
import fc from 'fast-check';
import { freshInteractionId, isInteractionId } from '../../src/checks/interaction-id.js';

const RUNS = Number(process.env.GUARITA_PROPERTY_RUNS ?? 1) * 1000;

t.test('every RFC 4122 UUID is accepted in any hex case, and the value is kept exactly', async (tt) => {
  fc.assert(
    fc.property(fc.uuid(), fc.boolean(), (uuid, upper) => {
      const sent = upper ? uuid.toUpperCase() : uuid;
      return isInteractionId(sent);
    }),
    { numRuns: RUNS },
  );
  tt.pass('held');
});

t.test('nothing else is accepted: arrays, padding, braces, missing or extra digits, other characters', async (tt) => {
  const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
  const mutated = fc.tuple(fc.uuid(), fc.nat(36), fc.string({ maxLength: 3 })).map(([u, i, s]) => u.slice(0, i) + s + u.slice(i + 1));
  fc.assert(
    fc.property(fc.oneof(mutated, fc.string({ maxLength: 40 }), fc.uuid().map((u) => ` ${u}`), fc.uuid().map((u) => `{${u}}`)), (sent) => {
      return isInteractionId(sent) === UUID.test(sent);
    }),
    { numRuns: RUNS },
  );
  tt.notOk(isInteractionId([freshInteractionId(), freshInteractionId()]), 'a repeated header (array) is refused');
  tt.notOk(isInteractionId(undefined), 'absent');
});

t.test('generated ids are UUID v4 and accepted', async (tt) => {
  for (let i = 0; i < 200; i++) {
    const id = freshInteractionId();
    tt.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    tt.ok(isInteractionId(id));
  }
});
