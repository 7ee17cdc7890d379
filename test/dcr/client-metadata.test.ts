// SPEC §9 rows 6–10: client metadata against the verified SSA and the client certificate (SEC DCR
// ID3 items 4, 5, 6, 9, 12, 15; OFB DCR v2.x webhooks; RFC 8705 §2.1.2). Each refusal: its status and
// RFC 7591 error, and nothing reaches the AS; each control passes.
import t from 'tap';
import { assertRefused, startDcrGateway, subjectDnOf } from '../helpers/dcr.js';
import { testPki } from '../helpers/gateway.js';

t.test('rows 6–10', async (tt) => {
  const g = await startDcrGateway(tt);
  const { pki } = await testPki();
  const ssa = await g.ssa();
  const claims = g.ssaClaims();
  const redirects = claims.software_redirect_uris as string[];
  const webhooks = claims.software_api_webhook_uris as string[];
  const refused = async (name: string, overrides: Record<string, unknown>, error: string, statement = ssa) => {
    const before = g.as.requests.length;
    assertRefused(tt, await g.call(g.metadata(statement, overrides)), 400, error, g.as, before, name);
  };
  const passes = async (name: string, overrides: Record<string, unknown>, statement = ssa, on: typeof tt = tt) => {
    const before = g.as.requests.length;
    const res = await g.call(g.metadata(statement, overrides));
    on.equal(res.status, 201, `${name} passes (${res.body})`);
    on.equal(g.as.requests.length, before + 1, `${name}: forwarded`);
  };

  // Row 6 (SEC items 4, 5).
  await refused('jwks by value', { jwks: { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }] } }, 'invalid_client_metadata');
  await refused('jwks: null is still a jwks member', { jwks: null }, 'invalid_client_metadata');
  await refused('a foreign jwks_uri', { jwks_uri: 'https://attacker.example/jwks' }, 'invalid_client_metadata');
  await refused('jwks_uri not a string', { jwks_uri: [claims.software_jwks_uri] }, 'invalid_client_metadata');
  await refused('jwks_uri with an SSA that has no software_jwks_uri', { jwks_uri: claims.software_jwks_uri }, 'invalid_client_metadata', await g.ssa({ software_jwks_uri: undefined }));
  await passes('no jwks_uri (the AS takes the SSA one)', { jwks_uri: undefined });

  // Row 7 (SEC item 6).
  await refused('redirect_uris missing', { redirect_uris: undefined }, 'invalid_redirect_uri');
  await refused('redirect_uris empty', { redirect_uris: [] }, 'invalid_redirect_uri');
  await refused('one redirect URI outside the SSA', { redirect_uris: [redirects[0], 'https://attacker.example/cb'] }, 'invalid_redirect_uri');
  await refused('a redirect URI differing only in a trailing slash', { redirect_uris: [`${redirects[0]}/`] }, 'invalid_redirect_uri');
  await refused('redirect_uris a string', { redirect_uris: redirects[0] }, 'invalid_redirect_uri');
  await passes('every SSA redirect URI', { redirect_uris: redirects });

  // Row 8 (SEC item 9; roles → scopes, ofb/requirements.md §8).
  const pagtoInactive = await g.ssa({
    software_statement_roles: [
      { role: 'DADOS', authorisation_domain: 'Open Banking', status: 'Active' },
      { role: 'PAGTO', authorisation_domain: 'Open Banking', status: 'Inactive' },
    ],
  });
  await refused('payments scope, PAGTO inactive', { scope: 'openid payments' }, 'invalid_client_metadata', pagtoInactive);
  await passes('data scopes with PAGTO inactive', { scope: 'openid accounts consents resources' }, pagtoInactive);
  const dadosOnly = await g.ssa({ software_statement_roles: [{ role: 'DADOS', authorisation_domain: 'Open Banking', status: 'Active' }] });
  await refused('recurring-payments with DADOS only', { scope: 'openid recurring-payments' }, 'invalid_client_metadata', dadosOnly);
  await refused('a scope no role grants', { scope: 'openid admin' }, 'invalid_client_metadata');
  await refused('scope not a string', { scope: ['openid'] }, 'invalid_client_metadata');
  await refused('scope with two spaces', { scope: 'openid  accounts' }, 'invalid_client_metadata');
  await refused('no roles in the SSA', { scope: 'openid' }, 'invalid_client_metadata', await g.ssa({ software_statement_roles: undefined }));
  await passes('PAGTO scopes with PAGTO active', { scope: 'openid payments recurring-payments nrp-consents' });

  // Row 9 (OFB DCR v2.x).
  await refused('a webhook outside the SSA', { webhook_uris: [webhooks[0], 'https://attacker.example/wh'] }, 'invalid_webhook_uris');
  await refused('webhook_uris a string', { webhook_uris: webhooks[0] }, 'invalid_webhook_uris');
  await passes('the SSA webhook', { webhook_uris: webhooks });

  // Row 10 (SEC items 12, 15): the certificate's DN by RFC 4517 distinguishedNameMatch.
  const dn = subjectDnOf(pki.client1.cert);
  const tls = (subjectDn: unknown, extra: Record<string, unknown> = {}) => ({ token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: subjectDn, ...extra });
  const changed = dn.replace('L=Sao Paulo', 'L=Rio de Janeiro');
  tt.not(changed, dn);
  await refused('subject DN with one value changed', tls(changed), 'invalid_client_metadata');
  const swapped = dn.replace('L=Sao Paulo,ST=SP', 'ST=SP,L=Sao Paulo');
  tt.not(swapped, dn);
  await refused('subject DN with two RDNs swapped', tls(swapped), 'invalid_client_metadata');
  await refused("another certificate's subject DN", tls(subjectDnOf(pki.client2.cert)), 'invalid_client_metadata');
  await refused('subject DN not a string', tls([dn]), 'invalid_client_metadata');
  await refused('tls_client_auth_san_dns', tls(dn, { tls_client_auth_san_dns: 'client.example' }), 'invalid_client_metadata');
  await refused('tls_client_auth_san_uri without tls_client_auth', { tls_client_auth_san_uri: 'https://client.example' }, 'invalid_client_metadata');
  await passes('the subject DN as the gateway prints it', tls(dn));

  // The same DN in another spelling RFC 4517 matches: descriptors by OID, descriptor case, hex
  // case, value case. Runs once src/tls/dn-match.ts is the RFC 4517 module.
  const respelled = dn.replace(/^CN=/, '2.5.4.3=').replace(',UID=', ',uid=').replace(/#([0-9a-f]+)/g, (_m, hex: string) => `#${hex.toUpperCase()}`).replace('L=Sao Paulo', 'L=SAO PAULO');
  tt.not(respelled, dn);
  await tt.test('the subject DN respelled (OID for CN, uid, upper-case hex, value case) passes', async (st) => {
    await passes('the respelled subject DN', tls(respelled), ssa, st);
  });
});
