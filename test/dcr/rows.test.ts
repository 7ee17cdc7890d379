// SPEC §9: each row of the DCR guard broken alone, in front of a recording AS, over real mTLS. Every
// refusal: the status, the RFC 7591 error, the §3.2.2 headers, and nothing reached the AS.
import t from 'tap';
import { assertRefused, startDcrGateway, subjectDnOf } from '../helpers/dcr.js';
import { testPki } from '../helpers/gateway.js';

t.test('SPEC §9 rows 1–10, each broken alone', async (tt) => {
  const g = await startDcrGateway(tt);
  const { pki } = await testPki();
  const good = await g.ssa();
  const refused = async (name: string, body: Parameters<typeof g.call>[0], status: number, error: string, options: Parameters<typeof g.call>[1] = {}) => {
    const before = g.as.requests.length;
    const res = await g.call(body, options);
    assertRefused(tt, res, status, error, g.as, before, name);
    return res;
  };

  // Control: the good request passes (so each refusal below is its row's doing).
  const ok = await g.call(g.metadata(good));
  tt.equal(ok.status, 201, ok.body);
  tt.equal(g.as.requests.length, 1);

  // Row 1 (RFC 7591 §3.1): a JSON object as application/json.
  await refused('row 1: text/plain', JSON.stringify(g.metadata(good)), 400, 'invalid_client_metadata', { contentType: 'text/plain' });
  const detail = await refused('row 1: not JSON', '{"software_statement":', 400, 'invalid_client_metadata');
  tt.equal(detail.json<{ error_description: string }>().error_description, 'the registration request is not JSON', 'the exact description, once');

  // Row 2 (SEC DCR ID3 item 2).
  await refused('row 2: no software_statement', g.metadata(good, { software_statement: undefined }), 400, 'invalid_software_statement');
  await refused('row 2: software_statement not a string', g.metadata(good, { software_statement: { jwt: good } }), 400, 'invalid_software_statement');

  // Row 3 (SEC item 2): a Directory signature.
  const [h, p] = good.split('.');
  await refused('row 3: signature altered', g.metadata(`${h}.${p}.${'A'.repeat(342)}`), 400, 'invalid_software_statement');

  // Row 4 (SEC item 3): issued at most 300 s before.
  const now = Math.floor(Date.now() / 1000);
  await refused('row 4: iat 301 s old', g.metadata(await g.ssa({ iat: now - 301 })), 400, 'invalid_software_statement');

  // Row 5 (SEC items 13, 14): the certificate's org and software.
  await refused('row 5: another organisation', g.metadata(await g.ssa({}, pki.client2)), 400, 'invalid_software_statement');

  // Row 6 (SEC items 4, 5).
  await refused('row 6: jwks by value', g.metadata(good, { jwks: { keys: [] } }), 400, 'invalid_client_metadata');

  // Row 7 (SEC item 6).
  await refused('row 7: redirect_uris missing', g.metadata(good, { redirect_uris: undefined }), 400, 'invalid_redirect_uri');

  // Row 8 (SEC item 9): a payments scope without an Active PAGTO role.
  const inactive = await g.ssa({
    software_statement_roles: [
      { role: 'DADOS', authorisation_domain: 'Open Banking', status: 'Active' },
      { role: 'PAGTO', authorisation_domain: 'Open Banking', status: 'Inactive' },
    ],
  });
  await refused('row 8: payments with PAGTO inactive', g.metadata(inactive, { scope: 'openid payments' }), 400, 'invalid_client_metadata');

  // Row 9 (OFB DCR v2.x).
  await refused('row 9: webhook outside the SSA', g.metadata(good, { webhook_uris: ['https://attacker.example/webhook'] }), 400, 'invalid_webhook_uris');

  // Row 10 (SEC items 12, 15; RFC 8705 §2.1.2).
  const dn = subjectDnOf(pki.client1.cert);
  await refused('row 10: tls_client_auth without a subject DN', g.metadata(good, { token_endpoint_auth_method: 'tls_client_auth' }), 400, 'invalid_client_metadata');
  await refused(
    'row 10: tls_client_auth_san_dns',
    g.metadata(good, { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: dn, tls_client_auth_san_dns: 'client.example' }),
    400,
    'invalid_client_metadata',
  );
  tt.equal(g.as.requests.length, 1, 'only the control reached the AS');
});

t.test('the checks run in the SPEC order: a request breaking rows 4, 6 and 7 is refused by row 4', async (tt) => {
  const g = await startDcrGateway(tt);
  const stale = await g.ssa({ iat: Math.floor(Date.now() / 1000) - 1000 });
  const res = await g.call(g.metadata(stale, { jwks: { keys: [] }, redirect_uris: [] }));
  assertRefused(tt, res, 400, 'invalid_software_statement', g.as, 0, 'rows 4+6+7');
  const rows67 = await g.call(g.metadata(await g.ssa(), { jwks: { keys: [] }, redirect_uris: [] }));
  assertRefused(tt, rows67, 400, 'invalid_client_metadata', g.as, 0, 'rows 6+7 → row 6');
  const rows79 = await g.call(g.metadata(await g.ssa(), { webhook_uris: ['https://x.example'], redirect_uris: [] }));
  assertRefused(tt, rows79, 400, 'invalid_redirect_uri', g.as, 0, 'rows 7+9 → row 7');
});
