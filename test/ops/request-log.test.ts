// SPEC §7: one structured JSON line per request — ISO 8601 time, level name, who (client, org,
// consent), what (route, status) and why (failed check, catalogue code, public detail); on
// certificate refusals the certificate's subject, issuer and serial. Never a token, a query or a body.
import t from 'tap';
import { X509Certificate, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { loggerOptions } from '../../src/edge/request-log.js';
import { startGateway } from '../../src/server.js';
import { ingressSource } from '../../src/tls/certificate-source.js';
import type { FastifyRequest } from 'fastify';
import { serverBlock, testPki } from '../helpers/gateway.js';
import { introspectionBlock, startMockAs, tokenClaims } from '../helpers/mock-as.js';
import { startUpstream } from '../helpers/upstream.js';
import { send } from '../helpers/client.js';

type Line = Record<string, unknown>;

t.test('request log lines say who and why', async (tt) => {
  const { dir, pki } = await testPki();
  const as = await startMockAs(tt, { clientSecret: 's3cret' });
  const upstream = await startUpstream(tt);
  const configDir = mkdtempSync(join(tmpdir(), 'guarita-log-'));
  const file = join(configDir, 'routes.yaml');
  writeFileSync(
    file,
    `${serverBlock(dir)}${introspectionBlock(as)}routes:
  - path: /open-banking/accounts/v2
    upstream: ${upstream.url}
    auth: { scopes: [accounts] }
`,
  );
  const written: string[] = [];
  const logger = pino(loggerOptions('info'), { write: (chunk: string) => void written.push(chunk) });
  const gateway = await startGateway(loadConfig(file), { logger });
  tt.teardown(async () => {
    await gateway.close(1000);
    rmSync(configDir, { recursive: true, force: true });
  });

  const PATH = '/open-banking/accounts/v2/accounts';
  const secret = 'query-secret-value';
  const token = as.issue(tokenClaims({ clientId: 'tpp-client-7', boundTo: pki.client1.cert, scope: 'openid consent:urn:bancoex:C1DD33123 accounts' }));

  /** Send one request and return its log line (written on response, so it may trail the answer). */
  const logged = async (options: { cert?: { cert: string; key: string }; token?: string; query?: string }): Promise<{ status: number; line: Line; raw: string }> => {
    const id = randomUUID();
    const res = await send(gateway.port, {
      path: `${PATH}${options.query ?? ''}`,
      headers: { 'x-fapi-interaction-id': id, ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }) },
      cert: options.cert,
      ca: pki.ca.cert,
    });
    for (let i = 0; i < 100; i++) {
      const raw = written.find((l) => l.includes(id) && l.includes('"msg":"request"'));
      if (raw !== undefined) return { status: res.status, line: JSON.parse(raw) as Line, raw };
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no log line for ${id}`);
  };

  const missing = await logged({});
  tt.equal(missing.status, 401);
  tt.equal(missing.line.failedCheck, 'client-certificate');
  tt.equal(missing.line.refusal, 'CLIENT_CERTIFICATE_INVALID');
  tt.equal(missing.line.detail, 'a client certificate is required on this route (mTLS)');
  tt.notOk('certificate' in missing.line, 'no certificate presented: none named');

  const expired = await logged({ cert: pki.expiredClient });
  tt.equal(expired.status, 401);
  tt.equal(expired.line.failedCheck, 'client-certificate');
  tt.equal(expired.line.detail, 'client certificate has expired', 'a missing and an expired certificate log different details');
  const x509 = new X509Certificate(pki.expiredClient.cert);
  const named = expired.line.certificate as { subject: string; issuer: string; serial: string };
  tt.ok(named, 'the refused certificate is named');
  tt.match(named.subject, /^CN=[^,]+,UID=/, 'subject in the OFB RFC 4514 form');
  tt.match(named.issuer, /Guarita Dev CA/);
  tt.equal(named.serial, x509.serialNumber.toUpperCase(), 'serial as OpenSSL prints it');

  const untrusted = await logged({ cert: pki.rogueClient });
  tt.equal(untrusted.line.detail, 'client certificate is not issued by a trusted certificate authority');
  tt.ok(untrusted.line.certificate, 'an untrusted certificate is named too');

  const ok = await logged({ cert: pki.client1, token, query: `?page=1&note=${secret}` });
  tt.equal(ok.status, 200);
  const line = ok.line;
  tt.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO 8601 time');
  tt.equal(line.level, 'info', 'level by name');
  tt.equal(line.clientId, 'tpp-client-7');
  tt.equal(line.orgId, pki.client1.orgId);
  tt.equal(line.consentId, 'urn:bancoex:C1DD33123');
  tt.equal(line.route, '/open-banking/accounts/v2');
  tt.equal(line.path, PATH);
  tt.equal(line.status, 200);
  tt.type(line.latencyMs, 'number');
  tt.notOk(line.refusal ?? line.detail ?? line.failedCheck, 'an accepted request has no refusal');

  const refusedToken = await logged({ cert: pki.client1, token: 'not-a-token-the-as-knows' });
  tt.equal(refusedToken.status, 401);
  tt.equal(refusedToken.line.refusal, 'TOKEN_INVALID');
  tt.type(refusedToken.line.detail, 'string');

  const tokenInQuery = await logged({ cert: pki.client1, token, query: `?access_token=${token}` });
  tt.equal(tokenInQuery.status, 401, 'FAPI: a token in the query string is refused');
  tt.equal(tokenInQuery.line.refusal, 'TOKEN_MISSING');

  const all = written.join('');
  tt.notMatch(all, secret, 'never the query string');
  tt.notMatch(all, token, 'never the access token');
  tt.notMatch(all, 'not-a-token-the-as-knows', 'never a refused token either');
  tt.notMatch(all, 's3cret', 'never the introspection secret');
});

t.test('ingress mode: a refused certificate from the proxy header is named as well', async (tt) => {
  const { dir, pki } = await testPki();
  const { source } = ingressSource({ header: 'x-ssl-client-cert', trustedProxies: ['127.0.0.1/32'], clientCa: [join(dir, 'ca.crt')], crl: [] });
  const request = (pem: string, from = '127.0.0.1') =>
    ({ headers: { 'x-ssl-client-cert': encodeURIComponent(pem) }, socket: { remoteAddress: from } }) as unknown as FastifyRequest;
  const expired = source(request(pki.expiredClient.cert));
  tt.equal(expired.status, 'rejected');
  if (expired.status !== 'rejected') return;
  tt.equal(expired.reason, 'client certificate has expired');
  tt.equal(expired.certificate?.serial, new X509Certificate(pki.expiredClient.cert).serialNumber.toUpperCase());
  tt.match(expired.certificate?.issuer, /Guarita Dev CA/);
  const forged = source(request(pki.expiredClient.cert, '10.9.9.9'));
  tt.same(forged, { status: 'rejected', reason: 'x-ssl-client-cert is only accepted from a trusted proxy' }, 'a forged header is not decoded, so not named');
});
