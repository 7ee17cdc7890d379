/** An HTTPS client presenting (or not) a client certificate over real TLS. */
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ConnectionOptions } from 'node:tls';

export interface ClientResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The parsed JSON body (throws when it is not JSON). */
  json<T = OfbErrorBody>(): T;
}

export interface OfbErrorBody {
  errors: { code: string; title: string; detail: string }[];
  meta: { requestDateTime: string };
}

export interface ClientOptions {
  readonly method?: string;
  readonly path: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string | Buffer;
  /** Client certificate and key (PEM); omit to present none. */
  readonly cert?: { cert: string; key: string } | undefined;
  /** Trust anchor for the server certificate. */
  readonly ca: string;
  readonly tls?: ConnectionOptions;
  readonly servername?: string;
}

/** One request on a new TLS connection. */
export function send(port: number, options: ClientOptions): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        servername: options.servername ?? 'localhost',
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
        ca: options.ca,
        ...(options.cert ? { cert: options.cert.cert, key: options.cert.key } : {}),
        ...options.tls,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json<T>() {
              return JSON.parse(body) as T;
            },
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
