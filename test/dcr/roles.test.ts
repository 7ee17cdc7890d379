// SPEC §9 row 8: the regulatory role → scope table (ofb/requirements.md §8, OFB DCR v2.1.0); only
// roles whose software_statement_roles entry is `Active` count; anything malformed allows nothing.
import t from 'tap';
import { ROLE_SCOPES, scopesAllowedBy } from '../../src/dcr/roles.js';

t.test('the table', async (tt) => {
  tt.same(ROLE_SCOPES.PAGTO, ['openid', 'payments', 'recurring-payments', 'nrp-consents']);
  tt.same(ROLE_SCOPES.CONTA, ['openid']);
  tt.same(ROLE_SCOPES.CCORR, ['openid']);
  for (const scope of ['accounts', 'consents', 'resources', 'credit-fixed-incomes', 'exchanges', 'funds', 'credit-portability']) tt.ok(ROLE_SCOPES.DADOS?.includes(scope), `DADOS: ${scope}`);
  tt.notOk(ROLE_SCOPES.DADOS?.includes('payments'), 'DADOS does not grant payments');
});

t.test('only Active roles count', async (tt) => {
  const roles = [
    { role: 'DADOS', authorisation_domain: 'Open Banking', status: 'Active' },
    { role: 'PAGTO', authorisation_domain: 'Open Banking', status: 'Inactive' },
  ];
  const allowed = scopesAllowedBy(roles);
  tt.ok(allowed.has('accounts'));
  tt.notOk(allowed.has('payments'));
  tt.notOk(scopesAllowedBy([{ role: 'PAGTO', status: 'active' }]).has('payments'), 'status is case-sensitive: "Active"');
  tt.equal(scopesAllowedBy([{ role: 'toString', status: 'Active' }]).size, 0, 'no prototype member is a role');
  for (const malformed of [undefined, null, 'DADOS', {}, [null, 'DADOS', 1, ['DADOS']]]) tt.equal(scopesAllowedBy(malformed).size, 0, `${JSON.stringify(malformed)} allows nothing`);
});
