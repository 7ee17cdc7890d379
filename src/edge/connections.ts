/**
 * Connection lifecycle of a client-facing listener (SPEC §4 "Connections"): every socket has a
 * deadline whatever it is doing, and the drain ends within its bound.
 *
 * | state                                   | bound                                   | enforced by                 |
 * |-----------------------------------------|-----------------------------------------|-----------------------------|
 * | TCP accepted, TLS handshake unfinished  | handshakeTimeoutMs                      | tls.Server handshakeTimeout |
 * | no request yet (connected, silent)      | headersTimeoutMs from the connection    | Node headersTimeout → 408   |
 * | request headers arriving                | headersTimeoutMs                        | Node headersTimeout → 408   |
 * | between two requests (keep-alive)       | keepAliveTimeoutMs                      | Node keepAliveTimeout       |
 * | request body arriving                   | headersTimeoutMs + longest route timeout | Node requestTimeout → 408  |
 * | draining after SIGTERM                  | the grace period, then every socket     | destroyAll()                |
 *
 * A peer that closes is released at once (Node destroys the socket on its FIN: no half-open
 * connection is kept, `allowHalfOpen` stays false).
 */
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionSettings {
  readonly handshakeTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** The longest time any route allows for a request body (its timeoutMs). */
  readonly bodyTimeoutMs: number;
}

/** How often Node checks header and request deadlines (its default, 30 s, would quadruple a 10 s bound). */
const CHECK_INTERVAL_MS = 1000;

/** Options for `http(s).createServer` that bound each phase of a request. */
export function serverTimeouts(settings: ConnectionSettings) {
  return {
    handshakeTimeout: settings.handshakeTimeoutMs,
    headersTimeout: settings.headersTimeoutMs,
    requestTimeout: settings.headersTimeoutMs + settings.bodyTimeoutMs,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(CHECK_INTERVAL_MS, settings.headersTimeoutMs),
  };
}

/** Every socket a listener accepted and has not yet closed, so a drain can end them all. */
export class ConnectionTracker {
  readonly #sockets = new Set<Socket>();

  /** Track `server`'s sockets from the moment TCP accepts them, before any TLS handshake. */
  constructor(private readonly server: HttpServer) {
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  get size(): number {
    return this.#sockets.size;
  }

  /** End every connection at once, mid-handshake, idle or busy (the drain's hard bound). */
  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    this.server.closeAllConnections();
  }
}


/** The listener's bounds from `server.*` (SPEC §4 defaults) and the routes' timeouts. */
export function connectionSettings(config: { readonly server: Omit<ConnectionSettings, 'bodyTimeoutMs'>; readonly routes: readonly { readonly timeoutMs: number }[] }): ConnectionSettings {
  const { handshakeTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs } = config.server;
  const bodyTimeoutMs = Math.max(...config.routes.map((r) => r.timeoutMs), 0);
  return { handshakeTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs, bodyTimeoutMs };
}
