/**
 * The HTTP side of the gateway's own clients (introspection, consent lookup): one keep-alive undici
 * pool per origin, a hard deadline per call, bounded JSON bodies, and every failure mapped to 503
 * SERVICE_UNAVAILABLE (SPEC §5 fail closed) with an internal cause for the logs.
 */
import { Pool } from 'undici';
import { ServiceUnavailableError } from '../errors.js';

export interface PoolOptions {
  /** PEM trust anchors for the server (default: Node's bundled roots). */
  readonly ca?: string | Buffer | undefined;
  /** PEM client certificate and key presented on the connection (tls_client_auth). */
  readonly cert?: string | Buffer | undefined;
  readonly key?: string | Buffer | undefined;
  /** Deadline of one call, connection included. */
  readonly timeoutMs: number;
}

/** Largest response body read from an authorization or consent service. */
const MAX_RESPONSE_BYTES = 256 * 1024;
/** Bound on parallel connections to one service: a burst of distinct tokens must not flood the AS. */
const MAX_CONNECTIONS = 64;

/** A keep-alive pool for `origin` (scheme, host, port). */
export function createPool(origin: string, options: PoolOptions): Pool {
  return new Pool(origin, {
    connections: MAX_CONNECTIONS,
    keepAliveTimeout: 30_000,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    maxResponseSize: MAX_RESPONSE_BYTES,
    connect: {
      timeout: options.timeoutMs,
      rejectUnauthorized: true,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.cert === undefined ? {} : { cert: options.cert }),
      ...(options.key === undefined ? {} : { key: options.key }),
    },
  });
}

export interface JsonCall {
  readonly method: 'GET' | 'POST';
  /** Path and query on the pool's origin. */
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
  /** What is being called, for the logged cause ("introspection endpoint"). */
  readonly service: string;
}

export interface JsonAnswer {
  readonly status: number;
  /** The parsed body of a 2xx answer; undefined for any other status (its body is discarded). */
  readonly json: unknown;
}

/**
 * One call; resolves with the status and, for 2xx, the parsed JSON. Unreachable, past the
 * deadline, or a 2xx body that is not JSON → ServiceUnavailableError (503).
 */
export async function callJson(pool: Pool, call: JsonCall): Promise<JsonAnswer> {
  let status: number;
  let text: string | undefined;
  try {
    const response = await pool.request({
      method: call.method,
      path: call.path,
      headers: { accept: 'application/json', ...call.headers },
      ...(call.body === undefined ? {} : { body: call.body }),
      // The whole call — connect, headers and body — fits in timeoutMs.
      signal: AbortSignal.timeout(call.timeoutMs),
    });
    status = response.statusCode;
    if (status >= 200 && status < 300) text = await response.body.text();
    else await response.body.dump();
  } catch (err) {
    throw new ServiceUnavailableError({ cause: new Error(`${call.service} unreachable or too slow: ${describe(err)}`, { cause: err }) });
  }
  if (text === undefined) return { status, json: undefined };
  try {
    return { status, json: JSON.parse(text) as unknown };
  } catch (err) {
    throw new ServiceUnavailableError({ cause: new Error(`${call.service} answered ${status} with a body that is not JSON`, { cause: err }) });
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    return code === undefined ? `${err.name}: ${err.message}` : `${code} (${err.message})`;
  }
  return String(err);
}

/** The value at a dot path (`consent.status`) in parsed JSON; own properties only. */
export function valueAt(root: unknown, path: string): unknown {
  let node: unknown = root;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}
