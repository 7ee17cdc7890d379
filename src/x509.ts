/**
 * The single entry point for `@peculiar/x509` in Guarita.
 *
 * Importing the library directly fails at load time (tsyringe needs a Reflect
 * metadata polyfill) and every call also needs a WebCrypto provider; this module
 * does both once. Hot-path code (e.g. `src/tls/identity.ts`) uses
 * `@peculiar/asn1-x509` directly and does not need this.
 */
import 'reflect-metadata'; // tsyringe (inside @peculiar/x509) refuses to load without it; must come first
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };
