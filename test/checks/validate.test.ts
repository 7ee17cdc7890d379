// SPEC §6: each check states what it needs of the configuration once, in its `validate`, as key
// paths the loader turns into file:line:key (src/config/load.ts); the factories do not re-check.
import t from 'tap';
import { CHECKS } from '../../src/checks/registry.js';
import type { Config, Route } from '../../src/config/load.js';

const base = { index: 2, mtls: 'required', fapi: true, certBinding: true, idempotency: false, auth: undefined } as unknown as Route;
const config = { server: { tls: { clientCa: ['/ca.pem'] } } } as unknown as Config;
const auth = { scopes: [], consent: 'none' };

function problems(route: Partial<Route>, cfg: Config = config): Record<string, { path: string; message: string }[]> {
  const out: Record<string, { path: string; message: string }[]> = {};
  for (const check of CHECKS) {
    const found = check.validate?.({ ...base, ...route } as Route, cfg) ?? [];
    if (found.length > 0) out[check.name] = found.map((p) => ({ path: p.path.join('.'), message: p.message }));
  }
  return out;
}

t.test('a route that needs nothing more is accepted by every check', async (tt) => {
  tt.same(problems({}), {});
  tt.same(problems({ auth } as Partial<Route>, { ...config, introspection: {} } as Config), {});
});

t.test('each rule is reported by the check that owns it, naming its key', async (tt) => {
  tt.match(problems({ fapi: false, auth } as Partial<Route>), {
    'interaction-id': [{ path: 'routes.2.fapi', message: /FAPI route/ }],
    'token-active': [{ path: 'routes.2.auth', message: /introspection/ }],
  });
  tt.match(problems({ mtls: 'optional' }, { server: { tls: { clientCa: [] } } } as unknown as Config), { 'client-certificate': [{ path: 'routes.2.mtls' }] });
  tt.same(problems({ mtls: 'optional' }, { server: { tls: { clientCa: [] }, ingress: {} } } as unknown as Config), {}, 'ingress mode needs no clientCa');
  const intro = { ...config, introspection: {} } as Config;
  tt.match(problems({ mtls: 'none', auth } as Partial<Route>, intro), { 'cert-binding': [{ path: 'routes.2.certBinding' }] });
  tt.match(problems({ auth: { ...auth, scopes: ['ok', 'has space'] } } as Partial<Route>, intro), { scope: [{ path: 'routes.2.auth.scopes.1' }] });
  tt.match(problems({ auth: { ...auth, permissions: 'ofb' } } as Partial<Route>, intro), { permission: [{ path: 'routes.2.auth', message: /consent: required/ }] });
  tt.match(problems({ mtls: 'optional', jws: { request: true } } as Partial<Route>), {
    'jws-request': [{ path: 'routes.2.jws', message: /directory/ }, { path: 'routes.2.mtls', message: /mtls: required/ }],
  });
  tt.match(problems({ mtls: 'optional', idempotency: true }), { idempotency: [{ path: 'routes.2.idempotency', message: /scoped per client/ }] });
});
