/**
 * A mock bank resource API for the demo and the sandbox: answers OFB-shaped JSON and echoes what
 * the gateway told it (the verified identity headers), so a newcomer can see what reaches a bank.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

export interface MockBank {
  readonly url: string;
  readonly port: number;
  /** Requests received, newest last (method and path only). */
  readonly received: string[];
  close(): Promise<void>;
}

const IDENTITY_HEADERS = ['x-fapi-interaction-id', 'x-org-id', 'x-software-id', 'x-client-id', 'x-consent-id', 'x-token-scope', 'x-jws-verified', 'x-jws-jti'];

/** Start the mock bank API on `port` (0 = any free port) on 127.0.0.1. */
export async function startMockBank(port = 0): Promise<MockBank> {
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(`${req.method} ${req.url}`);
      const { status, body } = answer(req, Buffer.concat(chunks));
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answer(req: IncomingMessage, body: Buffer): { status: number; body: unknown } {
  const seenByBank = Object.fromEntries(IDENTITY_HEADERS.filter((h) => req.headers[h] !== undefined).map((h) => [h, req.headers[h]]));
  const meta = { totalRecords: 1, totalPages: 1, requestDateTime: new Date().toISOString().slice(0, 19) + 'Z' };
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (req.method === 'POST' && path.endsWith('/pix/payments')) {
    let data: unknown = null;
    try {
      const text = body.toString('utf8');
      data = req.headers['content-type']?.startsWith('application/json') ? (JSON.parse(text) as { data?: unknown }).data : `(${body.length} bytes of application/jwt)`;
    } catch {
      data = null;
    }
    return { status: 201, body: { data: { paymentId: randomUUID(), status: 'RCVD', request: data, seenByBank }, links: { self: path }, meta } };
  }
  if (path.includes('/accounts')) {
    return {
      status: 200,
      body: { data: [{ accountId: 'acc-001', brandName: 'Banco Sandbox', type: 'CONTA_DEPOSITO_A_VISTA', seenByBank }], links: { self: path }, meta },
    };
  }
  return { status: 200, body: { data: { path, seenByBank }, links: { self: path }, meta } };
}
