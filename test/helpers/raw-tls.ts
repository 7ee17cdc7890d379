/**
 * Raw bytes over a real TLS connection: for requests no HTTP client library would send (bad request
 * lines, duplicate framing headers, raw non-ASCII). Reads until the server closes or the first
 * response is complete.
 */
import { connect, type ConnectionOptions } from 'node:tls';

export interface RawResponse {
  /** 0 when the server closed without answering (or the deadline passed). */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Whether the server answered before the deadline. */
  readonly answered: boolean;
}

export interface RawOptions {
  readonly ca: string;
  readonly cert?: { cert: string; key: string } | undefined;
  /** Give up after this long (the response so far is returned). */
  readonly timeoutMs?: number;
  readonly tls?: ConnectionOptions;
}

/** Send `request` (bytes as written) on a new TLS connection and read the first response. */
export function rawExchange(port: number, request: string | Buffer, options: RawOptions): Promise<RawResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: options.ca,
      ...(options.cert ?? {}),
      ...options.tls,
    });
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseResponse(Buffer.concat(chunks)));
    };
    const timer = setTimeout(finish, options.timeoutMs ?? 3000);
    socket.once('secureConnect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (isComplete(Buffer.concat(chunks))) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
  });
}

function splitHead(bytes: Buffer): { head: string; body: Buffer } | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  return { head: bytes.subarray(0, end).toString('latin1'), body: bytes.subarray(end + 4) };
}

function headersOf(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** A response with a Content-Length whose body has fully arrived. */
function isComplete(bytes: Buffer): boolean {
  const parts = splitHead(bytes);
  if (parts === undefined) return false;
  const length = headersOf(parts.head)['content-length'];
  return length !== undefined && parts.body.length >= Number(length);
}

function parseResponse(bytes: Buffer): RawResponse {
  const parts = splitHead(bytes);
  if (parts === undefined) return { status: 0, headers: {}, body: '', answered: false };
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(parts.head)?.[1] ?? 0);
  return { status, headers: headersOf(parts.head), body: parts.body.toString('utf8'), answered: status !== 0 };
}
