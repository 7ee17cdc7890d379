/**
 * The bundled sandbox: a mock bank API, a mock authorization server (introspection with bound
 * tokens and consents in several states, a recording `/register`) and a mock OFB Directory (the
 * client organisations' signing keys, the Directory's SSA keys) on loopback. `npm run sandbox` runs it on fixed ports for the shipped routes.yaml;
 * `npm run demo` runs it on free ports. Development only.
 */
import { X509Certificate } from 'node:crypto';
import { startMockBank, type MockBank } from './mock-bank.js';
import { startMockAuthorizationServer, type MockAuthorizationServer } from './mock-as.js';
import { generateOrgKey, SSA_KEY_SET, startMockDirectory, type MockDirectory, type OrgSigningKey } from './mock-directory.js';
import { startMockPcm, type MockPcm } from './mock-pcm.js';
import type { ClientPem, Pem } from './pki.js';
import { thumbprintOf } from '../tls/identity.js';

/** The introspection client secret of the sandbox (never a production value). */
export const SANDBOX_CLIENT_SECRET = 'sandbox-secret';
/** The bank's client id at the sandbox's mock PCM (`pcm.clientId`); its certificate is client2's. */
export const SANDBOX_PCM_CLIENT_ID = 'sandbox-bank-pcm';
/** The bank's org id in the sandbox (`signing.orgId`). */
export const SANDBOX_BANK_ORG_ID = '00000000-0000-4000-8000-000000000b4c';

export interface SandboxPki {
  readonly ca: Pem;
  readonly server: Pem;
  readonly client1: ClientPem;
  readonly client2: ClientPem;
}

/** Named access tokens the mock authorization server knows. */
export interface SandboxTokens {
  /** client1, bound to its certificate, accounts scope, consent AUTHORISED with ACCOUNTS_READ only. */
  readonly accounts: string;
  /** client1, consent REJECTED. */
  readonly rejectedConsent: string;
  /** client1, payments scope, consent CONSUMED (payments tokens skip the consent status check). */
  readonly payments: string;
  /** client2, bound to client2's certificate. */
  readonly client2Accounts: string;
  /** client2, bound to client2's certificate, payments scope (consent CONSUMED, like `payments`). */
  readonly client2Payments: string;
}

/** The value of a sandbox token (`sandbox-<name>`): the same at every start, so scripts can use it. */
export function sandboxTokenValue(name: 'accounts' | 'rejected-consent' | 'payments' | 'client2-accounts' | 'client2-payments'): string {
  return `sandbox-${name}`;
}

export interface Sandbox {
  readonly bank: MockBank;
  readonly as: MockAuthorizationServer;
  readonly directory: MockDirectory;
  /** The mock PCM (SPEC §11): token endpoint with mTLS, report endpoints that record. */
  readonly pcm: MockPcm;
  readonly tokens: SandboxTokens;
  /** The client organisations' request-signing keys (published in the mock directory). */
  readonly orgKeys: { readonly client1: OrgSigningKey; readonly client2: OrgSigningKey };
  /** The mock Directory's software-statement key, published at `/openbanking.jwks` (mint SSAs with signSoftwareStatement). */
  readonly ssaKey: OrgSigningKey;
  close(): Promise<void>;
}

export interface SandboxPorts {
  readonly bank?: number;
  readonly as?: number;
  readonly directory?: number;
  readonly pcm?: number;
}

/**
 * `orgKeys`: the client organisations' signing keys to publish (`npm run sandbox` passes those kept
 * in certs/, see orgKeyFromDir); fresh ones by default.
 */
export async function startSandbox(pki: SandboxPki, ports: SandboxPorts = {}, orgKeys?: Sandbox['orgKeys'], ssaKey?: OrgSigningKey): Promise<Sandbox> {
  const bank = await startMockBank(ports.bank ?? 0);
  const as = await startMockAuthorizationServer({ port: ports.as ?? 0, clientSecret: SANDBOX_CLIENT_SECRET });
  const directory = await startMockDirectory({ cert: pki.server.cert, key: pki.server.key, port: ports.directory ?? 0 });
  const pcm = await startMockPcm({ cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert, clientId: SANDBOX_PCM_CLIENT_ID, port: ports.pcm ?? 0 });
  orgKeys ??= { client1: await generateOrgKey(pki.client1.orgId), client2: await generateOrgKey(pki.client2.orgId) };
  directory.publish(pki.client1.orgId, [orgKeys.client1.publicJwk]);
  directory.publish(pki.client2.orgId, [orgKeys.client2.publicJwk]);
  ssaKey ??= await generateOrgKey('directory', 'sandbox-ssa');
  directory.publish(SSA_KEY_SET, [ssaKey.publicJwk]);

  const exp = () => Math.floor(Date.now() / 1000) + 24 * 3600;
  const bound = (client: Pem) => ({ 'x5t#S256': thumbprintOf(new X509Certificate(client.cert).raw) });
  const consent = (id: string, status: string, clientId: string, permissions: string[]) => ({ id, status, clientId, permissions });
  const token = (name: Parameters<typeof sandboxTokenValue>[0], claims: Record<string, unknown>) => {
    const value = sandboxTokenValue(name);
    as.tokens.set(value, { active: true, exp: exp(), ...claims });
    return value;
  };
  const tokens: SandboxTokens = {
    accounts: token('accounts', {
      client_id: 'client1-app',
      scope: 'openid accounts consent:urn:sandbox:C1',
      cnf: bound(pki.client1),
      consent: consent('urn:sandbox:C1', 'AUTHORISED', 'client1-app', ['ACCOUNTS_READ', 'RESOURCES_READ']),
    }),
    rejectedConsent: token('rejected-consent', {
      client_id: 'client1-app',
      scope: 'openid accounts consent:urn:sandbox:C2',
      cnf: bound(pki.client1),
      consent: consent('urn:sandbox:C2', 'REJECTED', 'client1-app', ['ACCOUNTS_READ']),
    }),
    payments: token('payments', {
      client_id: 'client1-app',
      scope: 'openid payments consent:urn:sandbox:P1',
      cnf: bound(pki.client1),
      consent: consent('urn:sandbox:P1', 'CONSUMED', 'client1-app', []),
    }),
    client2Accounts: token('client2-accounts', {
      client_id: 'client2-app',
      scope: 'openid accounts consent:urn:sandbox:C3',
      cnf: bound(pki.client2),
      consent: consent('urn:sandbox:C3', 'AUTHORISED', 'client2-app', ['ACCOUNTS_READ']),
    }),
    client2Payments: token('client2-payments', {
      client_id: 'client2-app',
      scope: 'openid payments consent:urn:sandbox:P2',
      cnf: bound(pki.client2),
      consent: consent('urn:sandbox:P2', 'CONSUMED', 'client2-app', []),
    }),
  };
  return {
    bank,
    as,
    directory,
    pcm,
    tokens,
    orgKeys,
    ssaKey,
    async close() {
      await Promise.all([bank.close(), as.close(), directory.close(), pcm.close()]);
    },
  };
}

export interface SandboxConfigOptions {
  /** Directory holding ca.crt, server.crt/key and signing.key. */
  readonly certDir: string;
  readonly port: number;
  readonly adminPort: number;
  readonly bankUrl: string;
  readonly introspectionEndpoint: string;
  readonly jwksUri: string;
  /** With both: `directory.ssaJwksUri` and a `/register` route with the DCR guard (`dcr: true`) in front of this authorization server. */
  readonly ssaJwksUri?: string;
  readonly authorizationServerUrl?: string;
  /** The mock PCM to report to, and the spool directory (no `pcm` section when omitted). */
  readonly pcm?: { readonly url: string; readonly spoolDir: string };
}

/** routes.yaml for a gateway in front of the sandbox — the same routes as the shipped routes.yaml. */
export function sandboxRoutesYaml(o: SandboxConfigOptions): string {
  return `server:
  port: ${o.port}
  host: 127.0.0.1
  publicBaseUrl: https://localhost:${o.port}
  tls:
    certificates:
      - { cert: ${o.certDir}/server.crt, key: ${o.certDir}/server.key }
    clientCa: [${o.certDir}/ca.crt]
admin: { port: ${o.adminPort}, host: 127.0.0.1 }
log: { level: warn }
introspection:
  endpoint: ${o.introspectionEndpoint}
  clientId: guarita
  clientSecret: ${SANDBOX_CLIENT_SECRET}
directory:
  jwksUri: ${o.jwksUri}
${o.ssaJwksUri === undefined ? '' : `  ssaJwksUri: ${o.ssaJwksUri}\n`}  ca: ${o.certDir}/ca.crt
replay: { store: memory }
signing: { key: ${o.certDir}/signing.key, kid: sandbox-bank, orgId: ${SANDBOX_BANK_ORG_ID} }
${o.pcm === undefined ? '' : sandboxPcmYaml(o.certDir, o.pcm.url, o.pcm.spoolDir)}routes:
  - path: /open-banking/accounts/v2
    methods: [GET]
    upstream: ${o.bankUrl}
    auth: { scopes: [accounts], consent: required, permissions: ofb }
  - path: /open-banking/payments/v4/pix/payments
    methods: [POST]
    upstream: ${o.bankUrl}
    auth: { scopes: [payments], consent: required }
    jws: { request: true, response: true }
    idempotency: true
  - path: /open-banking/products-services/v1
    upstream: ${o.bankUrl}
    mtls: none
    auth: none
${
  o.ssaJwksUri === undefined || o.authorizationServerUrl === undefined
    ? ''
    : `  - path: /register
    upstream: ${o.authorizationServerUrl}
    forwardClientCert: true
    dcr: true
`
}`;
}

/** The `pcm` section for the sandbox's mock PCM (the bank's PCM certificate is client2's). */
export function sandboxPcmYaml(certDir: string, pcmUrl: string, spoolDir: string): string {
  return `pcm:
  tokenUrl: ${pcmUrl}/token/
  reportUrl: ${pcmUrl}/report-api/v1/private/report/
  openDataReportUrl: ${pcmUrl}/report-api/v1/opendata/report
  clientId: ${SANDBOX_PCM_CLIENT_ID}
  clientCert: ${certDir}/client2.crt
  clientKey: ${certDir}/client2.key
  ca: ${certDir}/ca.crt
  spoolDir: ${spoolDir}
  flushSeconds: 5
`;
}
