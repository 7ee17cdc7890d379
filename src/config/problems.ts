/**
 * What a configuration rule reports: the key it is about and what is wrong. Rules return problems
 * instead of throwing, so each states its needs once and the loader alone turns a key path into
 * `file:line: key: message` (src/config/errors.ts).
 */

/** A key path into routes.yaml, e.g. `['routes', 3, 'jws']` for `routes[3].jws`. */
export type KeyPath = readonly (string | number)[];

/** One broken rule: the key to name, and a sentence saying what it needs. */
export interface ConfigProblem {
  readonly path: KeyPath;
  readonly message: string;
}

/** The key path of `keys` inside the route at `index` of `routes`. */
export function routeKey(route: { readonly index: number }, ...keys: (string | number)[]): KeyPath {
  return ['routes', route.index, ...keys];
}

/** `routes[0].upstream` for `['routes', 0, 'upstream']`. */
export function keyPathString(keyPath: KeyPath): string {
  return keyPath.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}
