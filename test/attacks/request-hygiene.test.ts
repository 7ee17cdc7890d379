// Issue 10 / SPEC §4 "Request hygiene": the attack corpus over raw TLS, in front of an upstream that
// resolves paths as Tomcat does. Every hostile request is refused and no upstream receives anything.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { serverBlock, startTestGateway, testPki } from '../helpers/gateway.js';
import { introspectionBlock, startMockAs, tokenClaims } from '../helpers/mock-as.js';
import { rawExchange } from '../helpers/raw-tls.js';
import { send } from '../helpers/client.js';
import { attackCorpus, CONSENTS, OPEN, request } from './corpus.js';
import { startTomcatUpstream, tomcatResolve } from './tomcat-upstream.js';

t.test('the Tomcat simulation resolves ..;/ as a parent segment (what made the bypass work)', async (tt) => {
  tt.equal(tomcatResolve(`${OPEN}/..;/..;/accounts/v2/accounts`), '/open-banking/accounts/v2/accounts');
  tt.equal(tomcatResolve(`${OPEN}/%2e%2e;/..;x=1/accounts/v2/accounts`), '/open-banking/accounts/v2/accounts');
  tt.equal(tomcatResolve(`${CONSENTS}/..;/..;/accounts/v2/accounts?x=1`), '/open-banking/accounts/v2/accounts');
  tt.equal(tomcatResolve(`${OPEN}/personal-accounts`), `${OPEN}/personal-accounts`);
});

async function startEnv(tt: { teardown(fn: () => unknown): void }) {
  const { dir, pki } = await testPki();
  const as = await startMockAs(tt, { clientSecret: 's3cret' });
  const upstream = await startTomcatUpstream(tt);
  const gw = await startTestGateway(
    tt,
    `${serverBlock(dir)}${introspectionBlock(as)}routes:
  - path: ${OPEN}
    upstream: ${upstream.url}
    mtls: none
    auth: none
  - path: ${CONSENTS}
    upstream: ${upstream.url}
    auth: { scopes: [consents] }
  - path: /open-banking/accounts/v2
    upstream: ${upstream.url}
    auth: { scopes: [accounts] }
`,
  );
  return { gw, as, upstream, pki };
}

t.test('attack corpus: every hostile request is refused before routing and never forwarded', async (tt) => {
  const { gw, upstream, pki } = await startEnv(tt);
  const corpus = attackCorpus();
  tt.ok(corpus.length >= 150, `corpus holds ${corpus.length} cases`);
  const names = new Set(corpus.map((c) => c.name));
  tt.equal(names.size, corpus.length, 'case names are unique');
  for (const c of corpus) {
    const res = await rawExchange(gw.port, c.request, { ca: pki.ca.cert });
    tt.equal(res.status, c.status, `${c.name} → ${c.status}`);
    if (res.status !== c.status) continue;
    tt.match(res.headers['x-fapi-interaction-id'], /^[0-9a-f-]{36}$/, `${c.name}: carries an interaction id`);
    tt.equal(res.headers['content-type'], 'application/json; charset=utf-8', `${c.name}: OFB error body`);
    // RFC 9110 §9.3.2: the answer to HEAD has no body.
    if (!c.name.startsWith('HEAD')) tt.match(res.body, /^\{"errors":\[\{"code":"[A-Z_]+"/, `${c.name}: OFB error body`);
    tt.equal(upstream.requests.length, 0, `${c.name}: the upstream received nothing`);
  }
});

t.test('regression: ..;/ through the open-data route reached accounts with no certificate and no token (was forwarded)', async (tt) => {
  const { gw, upstream, pki } = await startEnv(tt);
  for (const target of [`${OPEN}/..;/..;/accounts/v2/accounts`, `${OPEN}/%2e%2e;/%2e%2e;/accounts/v2/accounts`, `${OPEN}/..;x=1/..;x=1/accounts/v2/accounts`]) {
    const res = await send(gw.port, { path: target, ca: pki.ca.cert });
    tt.equal(res.status, 400, `${target} → 400`);
    tt.equal(res.json().errors[0]?.code, 'PARAMETRO_INVALIDO');
  }
  tt.equal(upstream.requests.length, 0, 'the upstream received nothing');
});

t.test('regression: a consents-only token reached accounts through /consents/v3/..;/..;/accounts (was forwarded)', async (tt) => {
  const { gw, as, upstream, pki } = await startEnv(tt);
  const token = as.issue(tokenClaims({ boundTo: pki.client1.cert, scope: 'consents' }));
  const call = (path: string) =>
    send(gw.port, { path, headers: { authorization: `Bearer ${token}`, 'x-fapi-interaction-id': randomUUID() }, cert: pki.client1, ca: pki.ca.cert });
  const attack = await call(`${CONSENTS}/..;/..;/accounts/v2/accounts`);
  tt.equal(attack.status, 400);
  tt.equal(attack.json().errors[0]?.detail, 'the request path must not contain ";", "\\" or "#"');
  tt.equal(upstream.requests.length, 0, 'the upstream received nothing');
  const direct = await call('/open-banking/accounts/v2/accounts');
  tt.equal(direct.status, 403, 'the same token on accounts itself is refused by the scope check');
  const legit = await call(`${CONSENTS}/consents/abc`);
  tt.equal(legit.status, 200, 'the token works where it belongs');
  tt.equal(upstream.requests.length, 1);
});

t.test('SPEC §4: percent-encoded unreserved characters are decoded, and the upstream receives what was routed', async (tt) => {
  const { gw, upstream, pki } = await startEnv(tt);
  const res = await rawExchange(gw.port, request(`${OPEN}/%70ersonal-accounts%7E1?x=%41`), { ca: pki.ca.cert });
  tt.equal(res.status, 200);
  tt.equal(upstream.requests[0]?.url, `${OPEN}/personal-accounts~1?x=%41`, 'path decoded, query as sent');
  const other = await rawExchange(gw.port, request(`${OPEN}/a%20b%3Ac`), { ca: pki.ca.cert });
  tt.equal(other.status, 200, 'reserved and other escapes pass as sent');
  tt.equal(upstream.requests[1]?.url, `${OPEN}/a%20b%3Ac`);
});

t.test('regression: a refusal of a request with a large unread body reaches the client as an OFB error, not a reset', async (tt) => {
  const { gw, upstream, pki } = await startEnv(tt);
  const body = 'a'.repeat(4 * 1_048_576);
  for (let i = 0; i < 5; i++) {
    const res = await rawExchange(
      gw.port,
      `POST ${CONSENTS}/consents HTTP/1.1\r\nHost: localhost\r\nx-fapi-interaction-id: ${randomUUID()}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      { ca: pki.ca.cert, cert: pki.client1, timeoutMs: 10_000 },
    );
    tt.equal(res.status, 401, `attempt ${i + 1}: the 401 arrives`);
  }
  tt.equal(upstream.requests.length, 0);
});
