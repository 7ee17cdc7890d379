/** A real HTTPS mock directory (src/dev/mock-directory.ts) with the test PKI, publishing keys for client1's and client2's orgs. */
import type { JWK } from 'jose';
import { generateOrgKey, startMockDirectory, type MockDirectory, type OrgSigningKey } from '../../src/dev/mock-directory.js';
import { testPki } from './gateway.js';

export interface OrgKeys {
  /** Signing key of pki.client1's organisation. */
  readonly org1: OrgSigningKey;
  /** Signing key of pki.client2's organisation. */
  readonly org2: OrgSigningKey;
}

let shared: Promise<OrgKeys> | undefined;

/** One PS256 key per test org per test process (RSA key generation is slow). */
export function testOrgKeys(): Promise<OrgKeys> {
  shared ??= (async () => {
    const { pki } = await testPki();
    const [org1, org2] = await Promise.all([generateOrgKey(pki.client1.orgId, 'org1-key'), generateOrgKey(pki.client2.orgId, 'org2-key')]);
    return { org1, org2 };
  })();
  return shared;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestDirectory extends OrgKeys {
  readonly directory: MockDirectory;
}

/** Start a mock directory (server certificate from the test PKI) publishing both orgs' keys; closed on teardown. */
export async function startTestDirectory(t: Teardown): Promise<TestDirectory> {
  const { pki } = await testPki();
  const keys = await testOrgKeys();
  const directory = await startMockDirectory({ cert: pki.server.cert, key: pki.server.key });
  directory.publish(keys.org1.orgId, [keys.org1.publicJwk]);
  directory.publish(keys.org2.orgId, [keys.org2.publicJwk]);
  t.teardown(() => directory.close());
  return { directory, ...keys };
}

/** The `directory:` section for a mock directory, trusted through the test PKI CA. */
export function directoryBlock(directory: MockDirectory, extra: Record<string, number> = {}): string {
  const lines = Object.entries(extra).map(([k, v]) => `  ${k}: ${v}\n`).join('');
  return `directory:\n  jwksUri: ${directory.jwksUri}\n  ca: {{pki}}/ca.crt\n${lines}`;
}

export interface RestartableDirectory extends TestDirectory {
  /** Close the directory: connections are refused (a real outage, not an HTTP error) until `start()`. */
  stop(): Promise<void>;
  /** Listen again on the same port, publishing the same key sets (including any published while stopped). */
  start(): Promise<void>;
}

/**
 * A mock directory that can be taken down and brought back on the same URL. `directory.fetches()`
 * counts the requests every incarnation served; attempts refused at the TCP level are not counted.
 */
export async function startRestartableDirectory(t: Teardown): Promise<RestartableDirectory> {
  const { pki } = await testPki();
  const keys = await testOrgKeys();
  const tls = { cert: pki.server.cert, key: pki.server.key };
  let inner: MockDirectory | undefined = await startMockDirectory(tls);
  const { url, jwksUri, ssaJwksUri } = inner;
  const port = Number(new URL(url).port);
  const sets = new Map<string, readonly JWK[]>();
  const past = new Map<string, number>();
  let pastTotal = 0;
  let down = false;

  const directory: MockDirectory = {
    url,
    jwksUri,
    ssaJwksUri,
    publish(orgId, published) {
      sets.set(orgId, [...published]);
      inner?.publish(orgId, published);
    },
    unpublish(orgId) {
      sets.delete(orgId);
      inner?.unpublish(orgId);
    },
    fetches(orgId) {
      const now = inner === undefined ? 0 : inner.fetches(orgId);
      return now + (orgId === undefined ? pastTotal : (past.get(orgId) ?? 0));
    },
    setDown(value) {
      down = value;
      inner?.setDown(value);
    },
    async close() {
      const closing = inner;
      inner = undefined;
      await closing?.close();
    },
  };
  directory.publish(keys.org1.orgId, [keys.org1.publicJwk]);
  directory.publish(keys.org2.orgId, [keys.org2.publicJwk]);
  t.teardown(() => directory.close());

  return {
    directory,
    ...keys,
    async stop() {
      if (inner === undefined) return;
      for (const orgId of sets.keys()) past.set(orgId, (past.get(orgId) ?? 0) + inner.fetches(orgId));
      pastTotal += inner.fetches();
      await directory.close();
    },
    async start() {
      if (inner !== undefined) return;
      const next = await startMockDirectory({ ...tls, port });
      for (const [orgId, published] of sets) next.publish(orgId, published);
      next.setDown(down);
      inner = next;
    },
  };
}
