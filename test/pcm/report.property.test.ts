// SPEC §11 report fields: reportJson writes the JSON text member by member (no object, no
// JSON.stringify per call); it must be exactly JSON.stringify of the pcm-specs report object, for
// any facts — quotes, backslashes, controls and lone surrogates in the strings from outside included.
import t from 'tap';
import fc from 'fast-check';
import { reportJson, reportKind, type CallFacts } from '../../src/pcm/report.js';
import { OFB_ENDPOINTS } from '../../src/ofb/catalogue.js';

/** The reference: the report object of PCM-v310 ServerReportRequest / OpendataReportRequest, in member order. */
function reference(facts: CallFacts, serverOrgId: string): object {
  const common = {
    endpoint: facts.endpoint.template,
    statusCode: facts.status,
    httpMethod: facts.endpoint.method,
    timestamp: new Date(facts.arrivedAt).toISOString(),
    processTimespan: Math.max(0, Math.round(facts.elapsedMs)),
  };
  if (facts.endpoint.openData) return { ...common, additionalInfo: { clientIp: facts.clientIp } };
  return {
    fapiInteractionId: facts.interactionId,
    ...common,
    ...(facts.clientOrgId === undefined ? {} : { clientOrgId: facts.clientOrgId }),
    serverOrgId,
    role: 'SERVER',
    additionalInfo: {},
  };
}

const text = fc.string({ unit: 'binary', maxLength: 60 });
const facts = fc.record({
  endpoint: fc.constantFrom(...OFB_ENDPOINTS),
  interactionId: fc.oneof(fc.uuid(), text),
  status: fc.integer({ min: 100, max: 599 }),
  arrivedAt: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2100, 0, 1) }),
  elapsedMs: fc.oneof(fc.double({ min: -5, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 60_000 })),
  clientOrgId: fc.option(text, { nil: undefined }),
  clientIp: fc.oneof(fc.ipV4(), fc.ipV6(), text),
});

t.test('reportJson is exactly JSON.stringify of the report object (member order, escaping)', async () => {
  fc.assert(
    fc.property(facts, text, (f, serverOrgId) => {
      const json = reportJson(f, serverOrgId);
      if (json !== JSON.stringify(reference(f, serverOrgId))) throw new Error(`differs: ${json}`);
    }),
    { numRuns: 3000 },
  );
});

t.test('reportKind: open-data rows go to the open-data endpoint, the rest to the server one', async (tt) => {
  for (const endpoint of OFB_ENDPOINTS) tt.equal(reportKind(endpoint), endpoint.openData ? 'opendata' : 'server');
});
