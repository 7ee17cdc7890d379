// Property tests of the request-target canonicaliser (SPEC §4 request hygiene; issue 10).
import t from 'tap';
import fc from 'fast-check';
import { AmbiguousRequest, canonicalTarget } from '../../src/edge/canonical-request.js';
import { tomcatResolve } from '../attacks/tomcat-upstream.js';

const RUNS = Number(process.env.GUARITA_PROPERTY_RUNS ?? 1) * 2000;

/** Tokens an attacker combines: separators, dots, parameters, escapes of every kind, non-ASCII. */
const TOKEN = fc.constantFrom(
  '/', '/', '/', '.', '..', ';', ';x=1', '\\', '?', '#', '&', '=', '%', '%2e', '%2E', '%2f', '%2F', '%5c', '%3b', '%25', '%00', '%0a',
  '%7f', '%41', '%7E', '%7e', '%2D', '%5F', '%20', '%3A', '%40', '%c0%ae', '%c3%a9', '%e2%82%ac', '%ff', '%g0', '%2', 'a', 'b', 'accounts',
  'v2', '~', '-', '_', 'é', '\u0000', '\t', ' ', '\u007f',
);
const hostileTarget = fc.array(TOKEN, { maxLength: 16 }).map((parts) => parts.join(''));
const anyTarget = fc.oneof(hostileTarget, hostileTarget.map((s) => `/${s}`), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 40 }));

const UNRESERVED_ESCAPE = /%(?:4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a]|3[0-9]|2d|5f|7e)/i;
const FORBIDDEN_ESCAPE = /%(?:2f|5c|3b|2e|25|[01][0-9a-f]|7f)/i;

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

t.test('never throws, and answers a string or an AmbiguousRequest', async (tt) => {
  fc.assert(
    fc.property(anyTarget, (target) => {
      const out = canonicalTarget(target);
      return typeof out === 'string' || out instanceof AmbiguousRequest;
    }),
    { numRuns: RUNS },
  );
  tt.pass('held');
});

t.test('never accepts what SPEC §4 refuses', async (tt) => {
  fc.assert(
    fc.property(anyTarget, (target) => {
      const out = canonicalTarget(target);
      if (typeof out !== 'string') return true;
      const path = pathOf(out);
      tt.equal(out.charCodeAt(0), 0x2f, 'origin-form');
      tt.notOk(/[^\x21-\x7e]/.test(out), 'printable ASCII only');
      tt.notOk(/[;\\#]/.test(path) || out.includes('#'), 'no ; \\ #');
      tt.notOk(/\/\//.test(path), 'no empty segment');
      tt.notOk(/(?:^|\/)\.{1,2}(?:\/|$)/.test(path), 'no dot segment');
      tt.notOk(FORBIDDEN_ESCAPE.test(path), 'no forbidden escape');
      tt.notOk(UNRESERVED_ESCAPE.test(path), 'unreserved escapes were decoded');
      tt.notOk(/%(?![0-9a-f]{2})/i.test(out), 'every escape well formed');
      return true;
    }),
    { numRuns: RUNS },
  );
});

t.test('canonical targets are fixed points (canonicalising twice changes nothing)', async (tt) => {
  fc.assert(
    fc.property(anyTarget, (target) => {
      const once = canonicalTarget(target);
      return typeof once !== 'string' || canonicalTarget(once) === once;
    }),
    { numRuns: RUNS },
  );
  tt.pass('held');
});

t.test('an accepted target stays under its route prefix when a Tomcat-style upstream resolves it', async (tt) => {
  const prefix = '/open-banking/products-services/v1';
  fc.assert(
    fc.property(hostileTarget, (rest) => {
      const out = canonicalTarget(`${prefix}/${rest}`);
      if (typeof out !== 'string') return true;
      return tomcatResolve(out).startsWith(`${prefix}/`) || tomcatResolve(out) === prefix;
    }),
    { numRuns: RUNS },
  );
  tt.pass('held');
});

t.test('round trip: unreserved characters percent-encoded at random decode to the plain path', async (tt) => {
  const unreserved = fc.constantFrom(...'ABCXYZabcxyz0189-_~'.split(''));
  const segment = fc.array(fc.tuple(unreserved, fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 8 });
  fc.assert(
    fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (segments) => {
      const plain = '/' + segments.map((s) => s.map(([c]) => c).join('')).join('/');
      const encoded = '/' + segments.map((s) => s.map(([c, enc, upper]) => (enc ? escape(c, upper) : c)).join('')).join('/');
      return canonicalTarget(`${encoded}?q=%41`) === `${plain}?q=%41`;
    }),
    { numRuns: RUNS },
  );
  tt.pass('held');
});

function escape(c: string, upper: boolean): string {
  const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${upper ? hex.toUpperCase() : hex}`;
}
