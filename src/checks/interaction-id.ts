import { randomUUID } from 'node:crypto';
import { InvalidParameterError } from '../errors.js';
import { routeKey } from '../config/problems.js';
import type { CheckDefinition } from './types.js';

/** RFC 4122 textual form, any hex case (SPEC §1 row 1). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a received `x-fapi-interaction-id` value is usable: one RFC 4122 UUID, any hex case. */
export function isInteractionId(sent: string | string[] | undefined): sent is string {
  return typeof sent === 'string' && UUID.test(sent);
}

/** SPEC §1: a response to a request without a valid id carries a freshly generated UUID v4. */
export function freshInteractionId(): string {
  return randomUUID();
}

/**
 * SPEC §1 row 1 — FAPI 1.0 Part 1 §6.2.2: x-fapi-interaction-id, when sent, shall be an RFC 4122 UUID;
 * OFB requires it on resource requests (conformance suite CheckForFAPIInteractionIdInResourceRequest).
 * The response then carries a freshly generated UUID (assigned before any check runs).
 */
export const interactionIdCheck: CheckDefinition = {
  name: 'interaction-id',
  phase: 'headers',
  validate(route) {
    // SPEC §1 row 1: fapi defaults to true when auth is not none, and a token route cannot opt out.
    if (route.fapi || route.auth === undefined) return [];
    return [{ path: routeKey(route, 'fapi'), message: 'a route with token checks is a FAPI route (x-fapi-interaction-id is mandatory)' }];
  },
  create(route) {
    if (!route.fapi) return undefined;
    return function requireInteractionId(request) {
      if (request.ofb.interactionIdValid) return;
      const sent = request.headers['x-fapi-interaction-id'];
      throw new InvalidParameterError(
        sent === undefined
          ? 'x-fapi-interaction-id header is required'
          : 'x-fapi-interaction-id must be a UUID (RFC 4122), sent once',
      );
    };
  },
};
