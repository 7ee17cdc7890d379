import { ClientCertificateError } from '../errors.js';
import { routeKey } from '../config/problems.js';
import type { CheckDefinition } from './types.js';

/**
 * SPEC §1 row 2, §3 — the client certificate chains to `clientCa`, is inside its validity period
 * and not revoked (OpenSSL verifies it during the handshake). `required`: no valid certificate → 401
 * INVALID_CLIENT. `optional`: used when presented, but a presented certificate that fails
 * verification is refused, never silently ignored. The verified identity goes on request.ofb.
 */
export const clientCertificateCheck: CheckDefinition = {
  name: 'client-certificate',
  phase: 'headers',
  validate(route, config) {
    // Ingress mode: the trusted proxy verified the chain (SPEC §3).
    if (route.mtls === 'none' || config.server.tls.clientCa.length > 0 || config.server.ingress !== undefined) return [];
    return [{ path: routeKey(route, 'mtls'), message: 'needs server.tls.clientCa (the trust anchors for client certificates)' }];
  },
  create(route, deps) {
    if (route.mtls === 'none') return undefined;
    const certificateOf = deps.certificates;
    const required = route.mtls === 'required';
    return function verifyClientCertificate(request) {
      const state = certificateOf(request);
      switch (state.status) {
        case 'verified':
          request.ofb.identity = state.identity;
          request.ofb.certificateDer = state.der;
          return;
        case 'rejected':
          request.ofb.refusedCertificate = state.certificate;
          throw new ClientCertificateError(state.reason, { cause: state.cause });
        case 'absent':
          if (required) throw new ClientCertificateError('a client certificate is required on this route (mTLS)');
          return;
      }
    };
  },
};
