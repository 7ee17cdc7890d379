// SPEC §11 `timestamp` (when the request arrived) and `processTimespan` (until the response headers
// were sent) come from the request's own clock readings, not from when the recording hook runs.
import t from 'tap';
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createCallRecorder } from '../../src/pcm/call-recorder.js';
import type { PcmReporter } from '../../src/pcm/reporter.js';
import type { CertificateSource } from '../../src/tls/certificate-source.js';
import { findEndpoint } from '../../src/ofb/catalogue.js';

t.test('regression: a late recording hook made timestamps late (up to 75 ms) and processTimespan 0 for a 60 ms answer', async (tt) => {
  const recorded: { kind: string; report: Record<string, unknown>; at: number }[] = [];
  const reporter = { settings: { serverOrgId: 'bank-org' }, record: (kind: string, json: string, at: number) => recorded.push({ kind, report: JSON.parse(json) as Record<string, unknown>, at }) };
  const certificates = (() => ({ status: 'none' })) as unknown as CertificateSource;
  const record = createCallRecorder({ reporter: reporter as unknown as PcmReporter, certificates });
  const arrivedAt = Date.now() - 200;
  const startedAt = performance.now() - 200;
  // Forwarded 10 ms after arrival; the upstream's headers came 50 ms later; the answer ended at 60 ms.
  const ofb = {
    path: '/open-banking/accounts/v2/accounts',
    arrivedAt,
    startedAt,
    forwardedAt: startedAt + 10,
    upstreamMs: 50,
    interactionId: '9f3c1c1e-0000-4000-8000-000000000001',
    identity: { orgId: 'client-org' },
    route: { jws: undefined },
    endpoint: (method: string) => findEndpoint(method, '/open-banking/accounts/v2/accounts'),
  };
  const request = { method: 'GET', ofb, socket: { remoteAddress: '127.0.0.1' }, headers: {} } as unknown as FastifyRequest;
  const reply = { statusCode: 200, elapsedTime: 60 } as unknown as FastifyReply;
  // The hook runs 200 ms after arrival (a busy event loop).
  record?.(request, reply);
  tt.equal(recorded.length, 1);
  tt.equal(recorded[0]?.report.timestamp, new Date(arrivedAt).toISOString(), 'the arrival, not the hook time minus the elapsed time');
  tt.equal(recorded[0]?.report.processTimespan, 60, 'headers at 10 + 50 ms');
  tt.equal(recorded[0]?.at, arrivedAt);
});
