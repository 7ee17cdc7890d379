// SPEC §9 row 1 (RFC 7591 §3.1): the registration request is one JSON object sent as
// application/json; anything else → 400 invalid_client_metadata; a body over server.bodyLimit → 413.
// Nothing reaches the AS.
import t from 'tap';
import { assertRefused, startDcrGateway } from '../helpers/dcr.js';

t.test('bodies that are not one JSON object', async (tt) => {
  const g = await startDcrGateway(tt, { server: '  bodyLimit: 16384\n' });
  const good = JSON.stringify(g.metadata(await g.ssa()));
  const cases: [string, string | Buffer | undefined, string | null][] = [
    ['not JSON', 'software_statement=eyJ...', 'application/json'],
    ['a JSON array', `[${good}]`, 'application/json'],
    ['a JSON string', JSON.stringify(good), 'application/json'],
    ['JSON null', 'null', 'application/json'],
    ['no body', undefined, 'application/json'],
    ['an empty body', '', 'application/json'],
    ['a form body', `software_statement=${encodeURIComponent(good)}`, 'application/x-www-form-urlencoded'],
    ['application/jwt', good, 'application/jwt'],
    ['no Content-Type', good, null],
    ['a UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(good)]), 'application/json'],
    ['invalid UTF-8', Buffer.concat([Buffer.from(good.slice(0, -1)), Buffer.from(',"x":"\xff"}', 'latin1')]), 'application/json'],
    ['a repeated member (software_statement twice)', good.replace(/^\{/, '{"software_statement":"x",'), 'application/json'],
    ['trailing data', `${good} {}`, 'application/json'],
  ];
  for (const [name, body, contentType] of cases) {
    const res = await g.call(body, { contentType });
    assertRefused(tt, res, 400, 'invalid_client_metadata', g.as, 0, name);
  }
  const ok = await g.call(good, { contentType: 'Application/JSON ; charset=utf-8' });
  tt.equal(ok.status, 201, `application/json with parameters and any case is accepted (${ok.body})`);
});

t.test('a very large body → 413, nothing forwarded', async (tt) => {
  const g = await startDcrGateway(tt, { server: '  bodyLimit: 16384\n' });
  const huge = JSON.stringify(g.metadata(await g.ssa(), { client_name: 'x'.repeat(100_000) }));
  const res = await g.call(huge);
  tt.equal(res.status, 413);
  tt.equal(res.json().errors[0]?.code, 'PAYLOAD_MUITO_GRANDE', 'the HTTP-level refusal keeps the catalogue body');
  tt.equal(g.as.requests.length, 0, 'the AS received nothing');
});
