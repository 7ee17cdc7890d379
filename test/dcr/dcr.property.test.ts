// Property tests of the DCR guard (SPEC §9): random JSON bodies and random mutations of the SSA
// claims and the client metadata never crash the guard, always end in a catalogue refusal (400 with
// an RFC 7591 error) or a pass — and pass exactly when every rule holds, judged by an independent
// oracle written from the SPEC table. First on the pure functions (many runs), then on the wire
// through a real gateway in front of a recording AS (fewer runs).
import t from 'tap';
import fc from 'fast-check';
import { importJWK, type CryptoKey } from 'jose';
import type { DirectoryJwks } from '../../src/clients/directory-jwks.js';
import { signSoftwareStatement } from '../../src/dev/mock-directory.js';
import { verifySoftwareStatement } from '../../src/dcr/software-statement.js';
import { checkClientMetadata } from '../../src/dcr/metadata.js';
import { BadSignatureError, GatewayError } from '../../src/errors.js';
import { startDcrGateway, subjectDnOf } from '../helpers/dcr.js';
import { testPki } from '../helpers/gateway.js';

const RUNS = Number(process.env.GUARITA_PROPERTY_RUNS ?? 1) * 150;
const WIRE_RUNS = Number(process.env.GUARITA_PROPERTY_RUNS ?? 1) * 25;
const ERRORS = ['invalid_client_metadata', 'invalid_software_statement', 'invalid_redirect_uri', 'invalid_webhook_uris'];

const SCOPES: Record<string, string[]> = {
  DADOS: 'openid accounts credit-cards-accounts consents customers invoice-financings financings loans unarranged-accounts-overdraft resources credit-fixed-incomes exchanges bank-fixed-incomes variable-incomes treasure-titles funds credit-portability'.split(' '),
  PAGTO: ['openid', 'payments', 'recurring-payments', 'nrp-consents'],
  CONTA: ['openid'],
  CCORR: ['openid'],
};

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const listOf = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** SPEC §9 rows 2–10 as a plain reading of the table (row 1 holds by construction). */
function oracle(metadata: Record<string, unknown>, jwt: string, ssa: Record<string, unknown>, signedOk: boolean, cert: { orgId: string; softwareId: string; dn: string }, now: number): boolean {
  // The statement sent is the one signed over `ssa`, by the Directory.
  if (metadata.software_statement !== jwt || !signedOk) return false;
  if (typeof ssa.iat !== 'number' || now - ssa.iat > 300 || ssa.iat - now > 60) return false;
  if (ssa.org_id !== cert.orgId || ssa.software_id !== cert.softwareId) return false;
  if ('jwks' in metadata) return false;
  if ('jwks_uri' in metadata && !(typeof metadata.jwks_uri === 'string' && metadata.jwks_uri === ssa.software_jwks_uri)) return false;
  const redirects = metadata.redirect_uris;
  if (!isStringList(redirects) || redirects.length === 0 || !redirects.every((r) => listOf(ssa.software_redirect_uris).includes(r))) return false;
  if ('scope' in metadata) {
    if (typeof metadata.scope !== 'string') return false;
    const roles = Array.isArray(ssa.software_statement_roles) ? (ssa.software_statement_roles as unknown[]) : [];
    const allowed = roles.flatMap((r) => {
      const { role, status } = (typeof r === 'object' && r !== null ? r : {}) as { role?: unknown; status?: unknown };
      return status === 'Active' && typeof role === 'string' && Object.hasOwn(SCOPES, role) ? (SCOPES[role] ?? []) : [];
    });
    const tokens = metadata.scope.split(' ');
    if (tokens.some((s) => s === '' || !allowed.includes(s))) return false;
  }
  if ('webhook_uris' in metadata && !(isStringList(metadata.webhook_uris) && metadata.webhook_uris.every((w) => listOf(ssa.software_api_webhook_uris).includes(w)))) return false;
  if (metadata.token_endpoint_auth_method === 'tls_client_auth' && metadata.tls_client_auth_subject_dn !== cert.dn) return false;
  return !Object.keys(metadata).some((k) => k.startsWith('tls_client_auth_san_'));
}

/** A value that replaces a member: another plausible value, a random JSON value, or removal (undefined). */
const mutant = (plausible: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof({ weight: 4, arbitrary: plausible }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, { weight: 1, arbitrary: fc.constant(undefined) });

/** `base` with the changes of the `chosen` members only (a case changes at most a few things at once, so some pass). */
function apply(base: Record<string, unknown>, changes: Record<string, unknown>, chosen: readonly string[]): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(changes)) {
    if (!chosen.includes(k)) continue;
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

interface Case {
  readonly ssaChanges: Record<string, unknown>;
  readonly iatOffset: number;
  readonly metaChanges: Record<string, unknown>;
  /** The members this case changes (`iat`: by iatOffset; `signer`: a foreign key under the Directory's kid). */
  readonly chosen: readonly string[];
}

const CHANGEABLE = [
  'org_id', 'software_id', 'software_redirect_uris', 'software_api_webhook_uris', 'software_jwks_uri', 'software_statement_roles', 'iat', 'signer',
  'software_statement', 'redirect_uris', 'jwks_uri', 'jwks', 'scope', 'webhook_uris', 'token_endpoint_auth_method', 'tls_client_auth_subject_dn', 'tls_client_auth_san_dns',
];

function cases(claims: Record<string, unknown>, otherOrg: string, dn: string): fc.Arbitrary<Case> {
  const redirects = claims.software_redirect_uris as string[];
  const webhooks = claims.software_api_webhook_uris as string[];
  const role = fc.record({ role: fc.constantFrom('DADOS', 'PAGTO', 'CONTA', 'CCORR', 'OTHER'), authorisation_domain: fc.constant('Open Banking'), status: fc.constantFrom('Active', 'Inactive') });
  const uri = fc.oneof(fc.constantFrom(...redirects, ...webhooks), fc.webUrl());
  return fc.record({
    ssaChanges: fc.record({
      org_id: mutant(fc.constantFrom(otherOrg, String(claims.org_id).toUpperCase())),
      software_id: mutant(fc.uuid()),
      software_redirect_uris: mutant(fc.array(uri, { maxLength: 3 })),
      software_api_webhook_uris: mutant(fc.array(uri, { maxLength: 2 })),
      software_jwks_uri: mutant(fc.webUrl()),
      software_statement_roles: mutant(fc.array(role, { maxLength: 3 })),
    }),
    iatOffset: fc.constantFrom(-100_000, -1000, -301, -250, -10, 0, 10, 50, 61, 120, 100_000),
    metaChanges: fc.record({
      software_statement: mutant(fc.constantFrom('', 'a.b.c', 42)),
      redirect_uris: mutant(fc.array(uri, { maxLength: 3 })),
      jwks_uri: mutant(fc.constantFrom(claims.software_jwks_uri, 'https://attacker.example/jwks')),
      jwks: fc.constant({ keys: [] }),
      scope: mutant(fc.array(fc.constantFrom('openid', 'accounts', 'payments', 'recurring-payments', 'funds', 'admin', ''), { minLength: 1, maxLength: 4 }).map((s) => s.join(' '))),
      webhook_uris: mutant(fc.array(uri, { maxLength: 2 })),
      token_endpoint_auth_method: mutant(fc.constantFrom('tls_client_auth', 'private_key_jwt')),
      tls_client_auth_subject_dn: mutant(fc.constantFrom(dn, dn.replace('ST=SP', 'ST=RJ'), 'CN=other')),
      tls_client_auth_san_dns: fc.constant('client.example'),
    }),
    chosen: fc.oneof(fc.constant([]), fc.subarray(CHANGEABLE, { minLength: 1, maxLength: 3 })),
  });
}

t.test('pure: random SSA and metadata mutations never crash, pass exactly when the oracle says so', async (tt) => {
  const { pki } = await testPki();
  const { generateOrgKey, softwareStatementClaims } = await import('../../src/dev/mock-directory.js');
  const directoryKey = await generateOrgKey('directory', 'ssa-signer');
  const foreign = await generateOrgKey('x', 'ssa-signer');
  const publicKey = (await importJWK(directoryKey.publicJwk, 'PS256')) as CryptoKey;
  const directory = {
    async ssaKeysFor(kid: string) {
      if (kid !== directoryKey.kid) throw new BadSignatureError('unknown kid');
      return [publicKey];
    },
  } as unknown as DirectoryJwks;
  const base = softwareStatementClaims('https://directory.example', pki.client1);
  const dn = subjectDnOf(pki.client1.cert);
  const cert = { ...pki.client1, dn };
  let passed = 0;
  await fc.assert(
    fc.asyncProperty(cases(base, pki.client2.orgId, dn), async (c) => {
      const now = Math.floor(Date.now() / 1000);
      const foreignSigner = c.chosen.includes('signer');
      const ssa = apply({ ...base, iat: now + (c.chosen.includes('iat') ? c.iatOffset : 0) }, c.ssaChanges, c.chosen);
      const jwt = await signSoftwareStatement(foreignSigner ? foreign : directoryKey, ssa);
      const metadata = apply({ software_statement: jwt, redirect_uris: [(base.software_redirect_uris as string[])[0]], jwks_uri: base.software_jwks_uri, scope: 'openid accounts' }, c.metaChanges, c.chosen);
      const expected = oracle(metadata, jwt, ssa, !foreignSigner, cert, now);
      let ok: boolean;
      try {
        if (typeof metadata.software_statement !== 'string') throw new GatewayError('DCR_SOFTWARE_STATEMENT_INVALID', 'not a string');
        const claims = await verifySoftwareStatement(metadata.software_statement, directory, pki.client1, now);
        checkClientMetadata(metadata, claims, dn);
        ok = true;
      } catch (err) {
        if (!(err instanceof GatewayError) || err.statusCode !== 400 || !ERRORS.includes(err.oauthError ?? '')) throw err;
        ok = false;
      }
      if (ok) passed++;
      return ok === expected;
    }),
    { numRuns: RUNS },
  );
  tt.ok(passed > 0, `some cases pass (${passed} of ${RUNS}): the property is not vacuous`);
});

t.test('wire: random JSON bodies and random mutations — refused with a catalogue error, forwarded only when every rule holds', async (tt) => {
  const g = await startDcrGateway(tt);
  const { pki } = await testPki();
  const dn = subjectDnOf(pki.client1.cert);
  const cert = { ...pki.client1, dn };

  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ maxLength: 64 })), async (text) => {
      const before = g.as.requests.length;
      const res = await g.call(text);
      return res.status === 400 && ERRORS.includes(res.json<{ error: string }>().error) && g.as.requests.length === before;
    }),
    { numRuns: WIRE_RUNS * 4 },
  );

  const base = g.ssaClaims();
  let forwarded = 0;
  await fc.assert(
    fc.asyncProperty(cases(base, pki.client2.orgId, dn), async (c) => {
      const now = Math.floor(Date.now() / 1000);
      const foreignSigner = c.chosen.includes('signer');
      const ssa = apply({ ...base, iat: now + (c.chosen.includes('iat') ? c.iatOffset : 0) }, c.ssaChanges, c.chosen);
      const jwt = await signSoftwareStatement(foreignSigner ? { ...g.org2, kid: g.ssaKey.kid } : g.ssaKey, ssa);
      const metadata = apply(g.metadata(jwt, { scope: 'openid accounts', redirect_uris: [(base.software_redirect_uris as string[])[0]], jwks_uri: base.software_jwks_uri }), c.metaChanges, c.chosen);
      const expected = oracle(metadata, jwt, ssa, !foreignSigner, cert, now);
      const before = g.as.requests.length;
      const res = await g.call(metadata);
      const reached = g.as.requests.length - before;
      if (expected) {
        forwarded++;
        return res.status === 201 && reached === 1 && g.as.requests.at(-1)?.headers['x-dcr-verified'] === 'true';
      }
      return res.status === 400 && ERRORS.includes(res.json<{ error: string }>().error) && reached === 0;
    }),
    { numRuns: WIRE_RUNS },
  );
  tt.pass(`held (${forwarded} of ${WIRE_RUNS} forwarded)`);
});
