/**
 * A mock PCM (OFB metrics platform) for the sandbox, the demo and the tests: one HTTPS origin with
 * - `POST /token/`: client_credentials; the client certificate must verify against `clientCa` and
 *   `client_id` must match (tls_client_auth), else 401 `invalid_client`;
 * - `POST /report-api/v1/private/report/` and `POST /report-api/v1/opendata/report`: a Bearer token
 *   it issued, a JSON array of at most 5,000 reports; answers 200, or 207 with per-item
 *   `DISCARDED` for reports missing a required field (pcm-specs PCM-v310) or chosen by `discard`.
 * It records every accepted batch and can be told to fail. Development only.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export const PCM_TOKEN_PATH = '/token/';
export const PCM_REPORT_PATH = '/report-api/v1/private/report/';
export const PCM_OPENDATA_PATH = '/report-api/v1/opendata/report';

export interface MockPcmOptions {
  /** Server certificate and key (PEM). */
  readonly cert: string;
  readonly key: string;
  /** Trust anchors of the client certificates the token endpoint accepts. */
  readonly clientCa: string;
  /** The client_id the token endpoint accepts. */
  readonly clientId: string;
  readonly port?: number;
  /** Token lifetime in seconds (the PCM's is 21,600). */
  readonly expiresIn?: number;
  /** Keep what it receives (default true); the benchmark, which sends millions, only counts. */
  readonly keep?: boolean;
}

/** One batch as received. */
export interface ReceivedBatch {
  readonly kind: 'server' | 'opendata';
  readonly reports: Record<string, unknown>[];
  /** The status answered. */
  readonly status: number;
}

export interface MockPcm {
  readonly url: string;
  readonly tokenUrl: string;
  readonly reportUrl: string;
  readonly openDataReportUrl: string;
  /** Every batch answered 200 or 207, in order. */
  readonly batches: ReceivedBatch[];
  /** Every report accepted (not DISCARDED), in order. */
  readonly accepted: Record<string, unknown>[];
  /** Calls to the token endpoint, and how many got a token. */
  readonly tokenCalls: { total: number; issued: number };
  /** Calls to the report endpoints (any answer). */
  reportCalls: number;
  /** Report endpoints answer this status (e.g. 503) while set; undefined = normal. */
  failWith: number | undefined;
  /** Token endpoint answers this status while set. */
  tokenFailWith: number | undefined;
  /** Reports for which this returns true are DISCARDED (207). */
  discard: ((report: Record<string, unknown>) => boolean) | undefined;
  /** While set, a batch is recorded and its answer waits for this promise (an answer lost in a crash). */
  hold: Promise<void> | undefined;
  /** Invalidate every token issued so far (the next report call gets 401). */
  revokeTokens(): void;
  close(): Promise<void>;
}

const SERVER_REQUIRED = ['fapiInteractionId', 'endpoint', 'statusCode', 'httpMethod', 'timestamp', 'processTimespan', 'clientOrgId', 'serverOrgId', 'role'];
const OPENDATA_REQUIRED = ['endpoint', 'statusCode', 'httpMethod', 'timestamp', 'processTimespan', 'additionalInfo'];
const MAX_BODY = 16 << 20;

export async function startMockPcm(options: MockPcmOptions): Promise<MockPcm> {
  const tokens = new Set<string>();
  const state: Omit<MockPcm, 'url' | 'tokenUrl' | 'reportUrl' | 'openDataReportUrl' | 'close'> = {
    batches: [],
    accepted: [],
    tokenCalls: { total: 0, issued: 0 },
    reportCalls: 0,
    failWith: undefined,
    tokenFailWith: undefined,
    discard: undefined,
    hold: undefined,
    revokeTokens: () => tokens.clear(),
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    // The client may be gone (a held answer to a killed gateway): nothing to answer then.
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const token = (req: IncomingMessage, res: ServerResponse, body: string) => {
    state.tokenCalls.total++;
    if (state.tokenFailWith !== undefined) return json(res, state.tokenFailWith, { error: 'temporarily_unavailable' });
    const socket = req.socket as TLSSocket;
    const form = new URLSearchParams(body);
    const presented = typeof socket.getPeerCertificate === 'function' && socket.getPeerCertificate().raw !== undefined;
    if (!presented || !socket.authorized) return json(res, 401, { error: 'invalid_client', error_description: 'a client certificate of a trusted CA is required' });
    if (form.get('grant_type') !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type' });
    if (form.get('client_id') !== options.clientId) return json(res, 401, { error: 'invalid_client', error_description: 'unknown client_id' });
    const value = randomUUID();
    tokens.add(value);
    state.tokenCalls.issued++;
    return json(res, 200, { access_token: value, token_type: 'Bearer', expires_in: options.expiresIn ?? 21_600 });
  };

  const report = (kind: 'server' | 'opendata', req: IncomingMessage, res: ServerResponse, body: string) => {
    state.reportCalls++;
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (bearer === undefined || !tokens.has(bearer)) return json(res, 401, { message: 'Unauthorized' });
    if (state.failWith !== undefined) return json(res, state.failWith, { message: 'Internal Server Error' });
    let reports: unknown;
    try {
      reports = JSON.parse(body);
    } catch {
      return json(res, 400, { message: 'Invalid payload format: MUST be an array' });
    }
    if (!Array.isArray(reports)) return json(res, 400, { message: 'Invalid payload format: MUST be an array' });
    if (reports.length > 5000) return json(res, 413, { message: 'Record limit exceeded' });
    const required = kind === 'server' ? SERVER_REQUIRED : OPENDATA_REQUIRED;
    const answers = (reports as Record<string, unknown>[]).map((r) => {
      const missing = required.filter((k) => r?.[k] === undefined);
      if (missing.length > 0) return { reportId: randomUUID(), status: 'DISCARDED', message: `Missing fields: ${missing.map((m) => `'${m}'`).join(', ')}` };
      if (state.discard?.(r) === true) return { reportId: randomUUID(), status: 'DISCARDED', message: 'Discarded by the mock' };
      if (options.keep !== false) state.accepted.push(r);
      return { reportId: randomUUID(), status: 'ACCEPTED' };
    });
    const status = answers.some((a) => a.status === 'DISCARDED') ? 207 : 200;
    if (options.keep !== false) state.batches.push({ kind, reports: reports as Record<string, unknown>[], status });
    if (state.hold !== undefined) return void state.hold.then(() => json(res, status, answers), () => undefined);
    return json(res, status, answers);
  };

  const server: Server = createServer({ cert: options.cert, key: options.key, ca: options.clientCa, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return json(res, 413, { message: 'Record limit exceeded' });
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'POST' && path === PCM_TOKEN_PATH) return token(req, res, body);
      if (req.method === 'POST' && path === PCM_REPORT_PATH) return report('server', req, res, body);
      if (req.method === 'POST' && path === PCM_OPENDATA_PATH) return report('opendata', req, res, body);
      return json(res, 404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `https://localhost:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url,
    tokenUrl: `${url}${PCM_TOKEN_PATH}`,
    reportUrl: `${url}${PCM_REPORT_PATH}`,
    openDataReportUrl: `${url}${PCM_OPENDATA_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as MockPcm;
}
