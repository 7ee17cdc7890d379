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
 * | request body arriving                   | the route's timeoutMs (backstop: headers + longest) | body-deadline.ts → 408; Node requestTimeout |
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

/** Requests in progress on an HTTP-level socket (their responses not yet finished). */
const IN_FLIGHT = Symbol('guarita.inFlight');
type HttpSocket = Socket & { [IN_FLIGHT]?: number };

/** Every socket a listener accepted and has not yet closed, so a drain can end them all. */
export class ConnectionTracker {
  /** From TCP accept on, before any TLS handshake: what the hard bound destroys. */
  readonly #sockets = new Set<Socket>();
  /** Sockets that speak HTTP (after the handshake on TLS listeners): what the drain inspects. */
  readonly #http = new Set<HttpSocket>();

  constructor(
    private readonly server: HttpServer,
    httpEvent: 'secureConnection' | 'connection',
  ) {
    server.on('connection', (socket: Socket) => track(this.#sockets, socket));
    server.on(httpEvent, (socket: HttpSocket) => track(this.#http, socket));
    server.prependListener('request', (req: { socket: HttpSocket }, res: { once(event: 'close', fn: () => void): void }) => {
      const socket = req.socket;
      socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 0) + 1;
      res.once('close', () => (socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 1) - 1));
    });
  }

  /**
   * The drain's first step: end the connections with no request in progress — idle, or still
   * sending headers (Node stops enforcing headersTimeout once the server closes, so a slow-header
   * peer would otherwise hold the drain to its hard bound).
   */
  closeUnused(): void {
    for (const socket of this.#http) if ((socket[IN_FLIGHT] ?? 0) === 0) socket.destroy();
  }

  /** End every connection at once, mid-handshake, idle or busy (the drain's hard bound). */
  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
    for (const socket of this.#http) socket.destroy();
    this.server.closeAllConnections();
  }
}

function track(set: Set<Socket>, socket: Socket): void {
  set.add(socket);
  socket.once('close', () => set.delete(socket));
}

/** The listener's bounds from `server.*` (SPEC §4 defaults) and the routes' timeouts. */
export function connectionSettings(config: { readonly server: Omit<ConnectionSettings, 'bodyTimeoutMs'>; readonly routes: readonly { readonly timeoutMs: number }[] }): ConnectionSettings {
  const { handshakeTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs } = config.server;
  const bodyTimeoutMs = Math.max(...config.routes.map((r) => r.timeoutMs), 0);
  return { handshakeTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs, bodyTimeoutMs };
}

/** Set on a socket whose last request was refused before routing and is being closed. */
const ANSWERED = Symbol('guarita.answeredAndClosing');

/** The socket's request was answered and the connection is closing: any later parse error gets no answer. */
export function markAnswered(socket: Socket): void {
  (socket as Socket & { [ANSWERED]?: true })[ANSWERED] = true;
}

export function wasAnswered(socket: Socket): boolean {
  return (socket as Socket & { [ANSWERED]?: true })[ANSWERED] === true;
}
