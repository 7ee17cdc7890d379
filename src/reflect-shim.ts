/**
 * Minimal Reflect metadata shim, loaded only for its side effect.
 *
 * Why: @peculiar/x509 2.x resolves its algorithm providers through tsyringe,
 * which refuses to load unless `Reflect.getMetadata` exists ("tsyringe requires
 * a reflect polyfill"). The x509 build emits no `design:paramtypes` metadata,
 * so tsyringe only ever needs the three functions below to store and look up
 * its own injection-token records. A full polyfill (reflect-metadata) would do
 * the same job; this avoids a dependency for ~20 lines. If a real polyfill is
 * already installed we leave it alone.
 *
 * Import this module before `@peculiar/x509` (see `src/x509.ts`).
 */

type MetadataStore = WeakMap<object, Map<unknown, unknown>>;

const store: MetadataStore = new WeakMap();

const shim = {
  defineMetadata(key: unknown, value: unknown, target: object): void {
    let own = store.get(target);
    if (!own) store.set(target, (own = new Map()));
    own.set(key, value);
  },
  getOwnMetadata(key: unknown, target: object): unknown {
    return store.get(target)?.get(key);
  },
  // Walks the prototype chain like reflect-metadata's OrdinaryGetMetadata.
  getMetadata(key: unknown, target: object): unknown {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const own = store.get(t);
      if (own?.has(key)) return own.get(key);
    }
    return undefined;
  },
};

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect.getMetadata !== 'function') {
  for (const [name, fn] of Object.entries(shim)) {
    Object.defineProperty(Reflect, name, { value: fn, writable: true, configurable: true });
  }
}
