/**
 * `npm run demo`: the whole flow in one command. A throw-away dev PKI, the sandbox (mock bank API,
 * mock authorization server, mock directory), and the real `guarita` binary in front of them; then
 * good and bad requests, each printed with what the gateway answered. Exits non-zero when any
 * answer is not the expected one. Everything runs on 127.0.0.1 and stops by itself.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compactVerify } from 'jose';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createDevPki, writeBankSigningKey, writeDevPki, type Pem } from './pki.js';
import { sandboxRoutesYaml, startSandbox } from './sandbox.js';
import { signAsOrg, signSoftwareStatement, softwareStatementClaims } from './mock-directory.js';
import type { MockPcm } from './mock-pcm.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

const BIN = resolve(import.meta.dirname, '../cli.js');

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'guarita-demo-'));
  const pki = await createDevPki();
  await writeDevPki(dir, pki);
  await writeBankSigningKey(dir);
  const sandbox = await startSandbox(pki);
  const [port, adminPort] = [await freePort(), await freePort()];
  const config = join(dir, 'routes.yaml');
  writeFileSync(
    config,
    sandboxRoutesYaml({
      certDir: dir,
      port,
      adminPort,
      bankUrl: sandbox.bank.url,
      introspectionEndpoint: sandbox.as.introspectionEndpoint,
      jwksUri: sandbox.directory.jwksUri,
      ssaJwksUri: sandbox.directory.ssaJwksUri,
      authorizationServerUrl: sandbox.as.url,
      pcm: { url: sandbox.pcm.url, spoolDir: join(dir, 'pcm-spool') },
    }),
  );
  console.log('Guarita demo — dev PKI, mock bank API, mock authorization server and mock directory on 127.0.0.1');
  console.log(`  bank API ${sandbox.bank.url}   authorization server ${sandbox.as.url}   directory ${sandbox.directory.url}   PCM ${sandbox.pcm.url}`);
  console.log(`  gateway  https://localhost:${port}  (admin http://127.0.0.1:${adminPort})  started as: guarita --config ${config}\n`);

  const gateway = spawn(process.execPath, [BIN, '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  let failures = 0;
  try {
    await waitReady(adminPort, gateway);
    const bankKey = createPublicKey(readFileSync(join(dir, 'signing.key')));
    failures = await scenarios(port, pki, sandbox, bankKey);
  } finally {
    // SIGTERM: the gateway drains and sends its last PCM batch before it exits (SPEC §11).
    gateway.kill('SIGTERM');
    await new Promise((r) => gateway.once('exit', r));
    failures += printReports(sandbox.pcm);
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(failures === 0 ? '\nAll answers were as expected.' : `\n${failures} answer(s) differed from the expected ones.`);
  return failures === 0 ? 0 : 1;
}

async function scenarios(
  port: number,
  pki: Awaited<ReturnType<typeof createDevPki>>,
  sandbox: Awaited<ReturnType<typeof startSandbox>>,
  bankKey: KeyObject,
): Promise<number> {
  let failures = 0;
  let n = 0;
  const call = (cert: Pem | undefined, method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    send(port, pki.ca.cert, cert, method, path, headers, body);
  const id = () => ({ 'x-fapi-interaction-id': randomUUID() });
  const bearer = (t: string) => ({ ...id(), authorization: `Bearer ${t}` });
  const show = (what: string, expected: number, answer: Answer, note = '') => {
    n++;
    const ok = answer.status === expected;
    if (!ok) failures++;
    let code = '';
    try {
      code = (JSON.parse(answer.body) as { errors?: { code: string }[] }).errors?.[0]?.code ?? '';
    } catch {
      code = answer.headers['content-type'] === 'application/jwt' ? '(signed JWS)' : '';
    }
    console.log(`${ok ? '✔' : '✘'} ${String(n).padStart(2)}. ${what.padEnd(66)} → ${answer.status} ${code}${note ? `  ${note}` : ''}`);
  };
  const accounts = '/open-banking/accounts/v2/accounts';

  console.log('mTLS and FAPI headers');
  show('open data, no client certificate (mtls: none)', 200, await call(undefined, 'GET', '/open-banking/products-services/v1/personal-accounts', id()));
  show('accounts without a client certificate', 401, await call(undefined, 'GET', accounts, bearer(sandbox.tokens.accounts)));
  show('accounts with an expired client certificate', 401, await call(pki.expiredClient, 'GET', accounts, bearer(sandbox.tokens.accounts)));
  show('accounts with a certificate from an untrusted CA', 401, await call(pki.rogueClient, 'GET', accounts, bearer(sandbox.tokens.accounts)));
  show('accounts without x-fapi-interaction-id', 400, await call(pki.client1, 'GET', accounts, { authorization: `Bearer ${sandbox.tokens.accounts}` }));

  console.log('\naccess tokens');
  const good = await call(pki.client1, 'GET', accounts, bearer(sandbox.tokens.accounts));
  const seen = (JSON.parse(good.body) as { data: { seenByBank: Record<string, string> }[] }).data[0]?.seenByBank ?? {};
  show('accounts, token bound to this certificate, consent AUTHORISED', 200, good, `bank saw org ${seen['x-org-id']}, client ${seen['x-client-id']}, consent ${seen['x-consent-id']}`);
  show('same, scheme written "bEARER"', 200, await call(pki.client1, 'GET', accounts, { ...id(), authorization: `bEARER ${sandbox.tokens.accounts}` }));
  show('no access token', 401, await call(pki.client1, 'GET', accounts, id()));
  show('token in the query string (FAPI forbids it)', 401, await call(pki.client1, 'GET', `${accounts}?access_token=${sandbox.tokens.accounts}`, id()));
  show('unknown (inactive) token', 401, await call(pki.client1, 'GET', accounts, bearer('not-a-real-token')));
  show("client1's token over client2's certificate (RFC 8705 binding)", 401, await call(pki.client2, 'GET', accounts, bearer(sandbox.tokens.accounts)));
  show('consent REJECTED', 401, await call(pki.client1, 'GET', accounts, bearer(sandbox.tokens.rejectedConsent)));
  show('balances: consent lacks ACCOUNTS_BALANCES_READ', 403, await call(pki.client1, 'GET', '/open-banking/accounts/v2/accounts/acc-001/balances', bearer(sandbox.tokens.accounts)));
  show('payments-scope token on an accounts route (missing scope)', 403, await call(pki.client1, 'GET', accounts, bearer(sandbox.tokens.payments)));

  console.log('\nsigned payment (JWS body, jti replay, idempotency, signed response)');
  const paymentsPath = '/open-banking/payments/v4/pix/payments';
  const aud = `https://localhost:${port}${paymentsPath}`;
  const data = { data: { payment: { amount: '100.00', currency: 'BRL' }, creditorAccount: { number: '1234567890' } } };
  const jws = await signAsOrg(sandbox.orgKeys.client1, aud, data);
  const key = randomUUID();
  const payHeaders = () => ({ ...bearer(sandbox.tokens.payments), 'content-type': 'application/jwt', 'x-idempotency-key': key });
  const paid = await call(pki.client1, 'POST', paymentsPath, payHeaders(), jws);
  const signed = paid.headers['content-type'] === 'application/jwt' ? await bankClaims(paid.body, bankKey) : undefined;
  show('payment signed by client1 with its Directory key', 201, paid, signed ? `response JWS verified with the bank key: iss ${signed.iss}, aud ${signed.aud}` : 'response not signed!');
  if (signed === undefined) failures++;
  show('the same JWS again (jti replay)', 403, await call(pki.client1, 'POST', paymentsPath, { ...payHeaders(), 'x-idempotency-key': randomUUID() }, jws));
  const tampered = jws.replace(/\.([^.]+)\./, (_m, p: string) => `.${Buffer.from(Buffer.from(p, 'base64url').toString().replace('100.00', '999.00')).toString('base64url')}.`);
  show('payload tampered after signing', 400, await call(pki.client1, 'POST', paymentsPath, { ...payHeaders(), 'x-idempotency-key': randomUUID() }, tampered));
  const before = sandbox.bank.received.length;
  const retry = await call(pki.client1, 'POST', paymentsPath, payHeaders(), await signAsOrg(sandbox.orgKeys.client1, aud, data));
  const replayed = sandbox.bank.received.length === before;
  show('retry: same idempotency key and data, new jti/iat', 201, retry, replayed ? 'stored response replayed; bank not called' : 'bank called again!');
  if (!replayed) failures++;
  const other = { data: { ...data.data, payment: { amount: '5.00', currency: 'BRL' } } };
  show('same idempotency key, different data', 422, await call(pki.client1, 'POST', paymentsPath, payHeaders(), await signAsOrg(sandbox.orgKeys.client1, aud, other)));
  show('signed by client2 but sent over client1\'s certificate', 400, await call(pki.client1, 'POST', paymentsPath, { ...payHeaders(), 'x-idempotency-key': randomUUID() }, await signAsOrg(sandbox.orgKeys.client2, aud, data)));

  console.log('\ndynamic client registration (DCR guard in front of the authorization server)');
  const claims = softwareStatementClaims(sandbox.directory.url, pki.client1);
  const registration = async (iatOffset: number, overrides: Record<string, unknown> = {}) =>
    JSON.stringify({
      software_statement: await signSoftwareStatement(sandbox.ssaKey, { ...claims, iat: Math.floor(Date.now() / 1000) + iatOffset }),
      redirect_uris: [(claims.software_redirect_uris as string[])[0]],
      jwks_uri: claims.software_jwks_uri,
      token_endpoint_auth_method: 'private_key_jwt',
      scope: 'openid accounts payments',
      ...overrides,
    });
  const json = { 'content-type': 'application/json' };
  const register = (cert: Pem, body: string) => call(cert, 'POST', '/register', json, body);
  const showOAuth = (what: string, expected: number, answer: Answer) => {
    let error = '';
    try {
      error = (JSON.parse(answer.body) as { error?: string }).error ?? '';
    } catch {
      error = '';
    }
    show(what, expected, { ...answer, body: '{}' }, error);
  };
  showOAuth('register: fresh Directory SSA matching the certificate', 201, await register(pki.client1, await registration(0)));
  showOAuth('register: SSA issued 400 s ago (stale)', 400, await register(pki.client1, await registration(-400)));
  showOAuth('register: a redirect URI outside the SSA', 400, await register(pki.client1, await registration(0, { redirect_uris: ['https://attacker.example/cb'] })));
  showOAuth("register: client1's SSA over client2's certificate", 400, await register(pki.client2, await registration(0)));
  const reached = sandbox.as.registrations;
  const onlyGood = reached.length === 1 && reached[0]?.verified === true;
  console.log(`   the authorization server received ${reached.length} registration(s)${onlyGood ? ', the good one, marked x-dcr-verified' : ' — expected only the good one!'}`);
  if (!onlyGood) failures++;
  return failures;
}

/** The PCM reports the demo's calls produced, as the mock PCM received them; 1 when there are none. */
function printReports(pcm: MockPcm): number {
  const reports = pcm.batches.flatMap((b) => b.reports.map((r) => ({ kind: b.kind, r })));
  console.log(`\nPCM reports (SPEC §11) received by the mock PCM: ${reports.length} in ${pcm.batches.length} batch(es), token calls ${pcm.tokenCalls.issued}`);
  for (const { kind, r } of reports) {
    const who = kind === 'server' ? `client ${String(r.clientOrgId ?? '(none)').slice(0, 8)}… ${String(r.fapiInteractionId).slice(0, 8)}…` : `ip ${String((r.additionalInfo as { clientIp?: string }).clientIp)}`;
    console.log(`  ${kind.padEnd(8)} ${String(r.httpMethod).padEnd(5)} ${String(r.endpoint).padEnd(60)} ${String(r.statusCode)} ${String(r.processTimespan).padStart(4)} ms  ${who}`);
  }
  const ok = reports.length > 0;
  console.log(`${ok ? '✔' : '✘'} every answered call of a catalogue endpoint was reported, the refusals included`);
  return ok ? 0 : 1;
}

/** The claims of a response JWS, when it verifies with the bank's public key (SPEC §2). */
async function bankClaims(jws: string, key: KeyObject): Promise<{ iss: string; aud: string } | undefined> {
  try {
    const { payload, protectedHeader } = await compactVerify(jws, key, { algorithms: ['PS256'] });
    if (protectedHeader.typ !== 'JWT') return undefined;
    return JSON.parse(new TextDecoder().decode(payload)) as { iss: string; aud: string };
  } catch {
    return undefined;
  }
}

function send(port: number, ca: string, cert: Pem | undefined, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolveAnswer, reject) => {
    const req = request(
      { host: '127.0.0.1', port, servername: 'localhost', method, path, headers, ca, ...(cert ? { cert: cert.cert, key: cert.key } : {}), agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolveAnswer({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (typeof address === 'object' && address !== null ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

async function waitReady(adminPort: number, gateway: ReturnType<typeof spawn>): Promise<void> {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    if (gateway.exitCode !== null) throw new Error(`the gateway exited with code ${gateway.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the gateway did not become ready within 15 s');
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
