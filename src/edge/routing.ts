/**
 * Routing rules at the edge (SPEC §1 row 0): prefix routes on whole segments, 405 for a path that
 * exists for other methods, 404 otherwise — all as OFB errors.
 */
import type { FastifyInstance } from 'fastify';
import type { Route } from '../config/load.js';
import { MethodNotAllowedError, RouteNotFoundError } from '../errors.js';

/** The methods a route may list (and accepts when it lists none). */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Prefix match on whole segments: `/a/b` serves `/a/b` and `/a/b/...`, never `/a/bc`. */
export function urlsFor(path: string): string[] {
  return path === '/' ? ['/', '/*'] : [path, `${path}/*`];
}

/** SPEC §1 row 0: no route for the path → 404 NAO_ENCONTRADO. */
export function routeNotFound(): never {
  throw new RouteNotFoundError();
}

/**
 * SPEC §1 row 0: the longest path prefix decides, then the method. A method no route of that path
 * accepts is 405 — it never falls back to a shorter prefix (whose checks may be weaker).
 */
export function registerMethodNotAllowed(app: FastifyInstance, routes: readonly Route[]): void {
  const byPath = new Map<string, Set<string>>();
  for (const r of routes) {
    const methods = byPath.get(r.path) ?? new Set<string>();
    for (const m of r.methods ?? HTTP_METHODS) methods.add(m);
    byPath.set(r.path, methods);
  }
  for (const [path, allowed] of byPath) {
    const others = HTTP_METHODS.filter((m) => !allowed.has(m));
    if (others.length === 0) continue;
    const allow = [...allowed];
    for (const url of urlsFor(path)) {
      app.route({
        method: others,
        url,
        handler() {
          throw new MethodNotAllowedError(allow);
        },
      });
    }
  }
}

