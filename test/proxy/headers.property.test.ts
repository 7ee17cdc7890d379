// SPEC §4 header hygiene as properties (fast-check, bounded runs): for any inbound header map the
// forwarder's filter + rewriter never let a client value through under a gateway-set name, never
// forward a name with `_`, a hop-by-hop name or one listed in Connection, and always set the
// identity headers to exactly the gateway's values. The response side keeps the upstream's headers.
import t from 'tap';
import fc from 'fast-check';
import type { IncomingHttpHeaders } from 'node:http';
import { CLIENT_CERT_HEADERS, filterHeaders, HOP_BY_HOP, requestHeaderRewriter, responseHeaderRewriter, strippedRequestHeaders, toPem } from '../../src/proxy/headers.js';
import { OfbContext } from '../../src/context.js';
import type { UpstreamHeaders } from '../../src/config/schema.js';

const RUNS = { numRuns: 400, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) };

const DEFAULT_NAMES: UpstreamHeaders = {
  interactionId: 'x-fapi-interaction-id',
  clientId: 'x-client-id',
  consentId: 'x-consent-id',
  orgId: 'x-org-id',
  softwareId: 'x-software-id',
  certThumbprint: 'x-client-cert-thumbprint',
  tokenScope: 'x-token-scope',
  clientCert: 'x-ssl-client-cert',
};
/** An operator's own names (SPEC §4: names configurable), one of them reusing a default's name. */
const CUSTOM_NAMES: UpstreamHeaders = {
  interactionId: 'x-request-id',
  clientId: 'x-bank-client',
  consentId: 'x-client-id',
  orgId: 'x-bank-org',
  softwareId: 'x-bank-software',
  certThumbprint: 'x-bank-x5t',
  tokenScope: 'x-bank-scope',
  clientCert: 'x-bank-cert',
};

/** Names the gateway sets on some route besides the identity headers. */
const PROXY_SET = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-jws-verified', 'x-jws-jti'];
/** Names that must never reach the upstream from a client (SPEC §4). */
const NEVER_FROM_CLIENT = ['forwarded', 'x-real-ip', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-client-cert', ...CLIENT_CERT_HEADERS];

const interesting = [
  ...Object.values(DEFAULT_NAMES),
  ...Object.values(CUSTOM_NAMES),
  ...PROXY_SET,
  ...NEVER_FROM_CLIENT,
  ...HOP_BY_HOP,
  'host',
  'expect',
  'x_org_id',
  'x_jws_verified',
  'x-org_id',
  '__proto__',
  'constructor',
  'authorization',
  'content-type',
  'content-length',
  'accept',
  'x-business',
  'x-forwarded-',
  'x-forwardedfor',
];

const nameArb = fc.oneof(
  fc.constantFrom(...interesting),
  fc.string({ unit: fc.constantFrom(...'abcfox-_019'.split('')), minLength: 1, maxLength: 16 }),
  fc.constantFrom(...interesting).map((n) => n.replaceAll('-', '_')),
);
const valueArb = fc.string({ unit: fc.constantFrom(...'abc 012,=;:/-_.'.split('')), maxLength: 20 });

/** The Connection header: a list of names from the pool, in any case, with stray white space. */
const connectionArb = fc
  .array(fc.tuple(nameArb, fc.boolean(), fc.constantFrom('', ' ', '  ')), { maxLength: 5 })
  .map((items) => items.map(([n, upper, pad]) => `${pad}${upper ? n.toUpperCase() : n}${pad}`).join(','));

const inboundArb = fc
  .tuple(
    fc.array(fc.tuple(nameArb, fc.oneof(valueArb, fc.array(valueArb, { minLength: 1, maxLength: 3 }))), { maxLength: 25 }),
    fc.option(connectionArb, { nil: undefined }),
  )
  .map(([pairs, connection]) => {
    // Node gives lower-case names; a repeated name keeps the last value here (the filter does not care).
    const headers: IncomingHttpHeaders = Object.fromEntries(pairs) as IncomingHttpHeaders;
    if (connection !== undefined) headers.connection = connection;
    return headers;
  });

const contextArb = fc.record({
  interactionId: fc.uuid(),
  identity: fc.option(
    fc.record({ orgId: fc.option(fc.uuid(), { nil: undefined }), softwareId: fc.option(fc.uuid(), { nil: undefined }), thumbprint: fc.base64String({ minLength: 4, maxLength: 44 }) }),
    { nil: undefined },
  ),
  clientId: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: undefined }),
  consentId: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: undefined }),
  scope: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  jwsJti: fc.option(fc.uuid(), { nil: undefined }),
  withDer: fc.boolean(),
});

const settingsArb = fc.record({
  names: fc.constantFrom(DEFAULT_NAMES, CUSTOM_NAMES),
  forwardClientCert: fc.boolean(),
  trust: fc.constantFrom('none', 'always', 'never'),
  publicHost: fc.option(fc.constantFrom('matls-api.bank.example', 'api.bank.example:8443'), { nil: undefined }),
  ip: fc.constantFrom('127.0.0.1', '10.0.0.7', '::1'),
});

const DER = Buffer.from('3082010a02820101', 'hex');

t.test('SPEC §4: forwarded request headers, for arbitrary inbound header maps', async (tt) => {
  fc.assert(
    fc.property(inboundArb, contextArb, settingsArb, (inbound, c, s) => {
      const names = s.names;
      const ofb = new OfbContext(c.interactionId, true);
      if (c.identity !== undefined) ofb.identity = { ...c.identity, commonName: undefined, subjectDn: 'CN=x', notAfter: new Date(0) };
      if (c.withDer) ofb.certificateDer = DER;
      ofb.clientId = c.clientId;
      ofb.consentId = c.consentId;
      ofb.scope = c.scope;
      ofb.jwsJti = c.jwsJti;
      const trustedProxy = s.trust === 'none' ? undefined : () => s.trust === 'always';
      const host = typeof inbound.host === 'string' ? inbound.host : undefined;
      const xff = inbound['x-forwarded-for'];
      const request = { ofb, ip: s.ip, headers: { host, 'x-forwarded-for': xff } };

      // What the forwarder does (src/proxy/forward.ts), minus the body headers.
      const stripped = strippedRequestHeaders(names, ['host', 'expect']);
      const out = requestHeaderRewriter(names, s.forwardClientCert, trustedProxy, s.publicHost)(request, filterHeaders(inbound, stripped));

      // Exactly the gateway's values under the names it sets (undefined: not sent at all).
      const id = ofb.identity;
      const expected: Record<string, string | undefined> = {
        [names.orgId]: id?.orgId,
        [names.softwareId]: id?.softwareId,
        [names.certThumbprint]: id?.thumbprint,
        [names.clientCert]: s.forwardClientCert && id !== undefined && c.withDer ? encodeURIComponent(toPem(DER)) : undefined,
        [names.clientId]: c.clientId,
        [names.consentId]: c.consentId,
        [names.tokenScope]: c.scope,
        'x-jws-verified': c.jwsJti === undefined ? undefined : 'true',
        'x-jws-jti': c.jwsJti,
        'x-forwarded-for': s.trust === 'always' && typeof xff === 'string' && xff !== '' ? `${xff}, ${s.ip}` : s.ip,
        'x-forwarded-proto': 'https',
        'x-forwarded-host': s.publicHost ?? host,
        [names.interactionId]: c.interactionId,
      };
      for (const [name, value] of Object.entries(expected)) {
        if (out[name] !== value) throw new Error(`${name}: ${JSON.stringify(out[name])}, expected the gateway's ${JSON.stringify(value)}`);
      }
      const gatewaySet = new Set(Object.keys(expected));
      const listed = typeof inbound.connection === 'string' ? inbound.connection.split(',').map((n) => n.trim().toLowerCase()) : [];
      for (const name of Object.keys(out)) {
        if (gatewaySet.has(name)) continue;
        if (name.includes('_')) throw new Error(`${name}: a name with an underscore was forwarded`);
        if ((HOP_BY_HOP as readonly string[]).includes(name)) throw new Error(`${name}: a hop-by-hop header was forwarded`);
        if (listed.includes(name)) throw new Error(`${name}: listed in Connection, yet forwarded`);
        if (name.startsWith('x-forwarded-') || NEVER_FROM_CLIENT.includes(name) || name === 'host' || name === 'expect') throw new Error(`${name}: forwarded from the client`);
        if (out[name] !== inbound[name]) throw new Error(`${name}: value changed`);
      }
      // Nothing else is lost: a client header that breaks no rule reaches the upstream unchanged.
      for (const name of Object.keys(inbound)) {
        const dropped =
          gatewaySet.has(name) ||
          stripped.has(name) ||
          name.includes('_') ||
          name.startsWith('x-forwarded-') ||
          listed.includes(name);
        if (!dropped && out[name] !== inbound[name]) throw new Error(`${name}: a client header breaking no rule was lost`);
      }
    }),
    RUNS,
  );
  tt.pass(`held for ${RUNS.numRuns} inbound header maps (seed ${RUNS.seed})`);
});

t.test('SPEC §4: response headers pass unchanged but for hop-by-hop ones; the interaction id is always the request one', async (tt) => {
  const rewrite = responseHeaderRewriter();
  fc.assert(
    fc.property(inboundArb, fc.uuid(), (inbound, interactionId) => {
      const ofb = new OfbContext(interactionId, true);
      const out = rewrite(inbound, { ofb, ip: '127.0.0.1', headers: {} });
      if (out['x-fapi-interaction-id'] !== interactionId) throw new Error('x-fapi-interaction-id is not the request one');
      const listed = typeof inbound.connection === 'string' ? inbound.connection.split(',').map((n) => n.trim().toLowerCase()) : [];
      for (const name of Object.keys(inbound)) {
        // `__proto__` cannot be an own key of a plain object by assignment: it is not passed on
        // (nor does it pollute anything: assigning a string to it is ignored).
        if (name === 'x-fapi-interaction-id' || name === '__proto__') continue;
        const hop = (HOP_BY_HOP as readonly string[]).includes(name) || listed.includes(name);
        if (hop && Object.hasOwn(out, name)) throw new Error(`${name}: hop-by-hop response header passed on`);
        if (!hop && out[name] !== inbound[name]) throw new Error(`${name}: upstream header changed or lost`);
      }
      for (const name of Object.keys(out)) if (name !== 'x-fapi-interaction-id' && !Object.hasOwn(inbound, name)) throw new Error(`${name}: invented`);
    }),
    RUNS,
  );
  tt.pass(`held for ${RUNS.numRuns} upstream header maps`);
});

t.test('DroppedRequestHeaders: the cached verdict is the rule itself, before and after the cache is full, for long names too', async (tt) => {
  const dropped = strippedRequestHeaders(DEFAULT_NAMES, ['host']);
  const rule = (name: string) => dropped.has(name);
  const longNameArb = fc.tuple(nameArb, fc.nat({ max: 100 })).map(([n, k]) => n + 'a'.repeat(k));
  fc.assert(
    fc.property(fc.array(longNameArb, { maxLength: 60 }), (names) => {
      for (const name of names) {
        const expected =
          (HOP_BY_HOP as readonly string[]).includes(name) ||
          (CLIENT_CERT_HEADERS as readonly string[]).includes(name) ||
          ['forwarded', 'x-real-ip', 'x-jws-verified', 'x-jws-jti', 'host', ...Object.values(DEFAULT_NAMES)].includes(name) ||
          name.includes('_') ||
          name.startsWith('x-forwarded-');
        if (rule(name) !== expected || rule(name) !== expected) throw new Error(`${name}: verdict ${String(rule(name))}, rule says ${String(expected)}`);
      }
    }),
    { ...RUNS, numRuns: 100 },
  );
  // 100 runs of up to 60 names overflowed the 1024-entry cache: verdicts still hold past it.
  tt.equal(dropped.has('x_org_id'), true);
  tt.equal(dropped.has('x-forwarded-anything'), true);
  tt.equal(dropped.has(`x-${'b'.repeat(200)}`), false);
  tt.equal(dropped.has('x-business'), false);
});
