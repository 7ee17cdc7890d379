/**
 * Forwarding (SPEC §4) with @fastify/reply-from (undici): streamed bodies, method, path and query
 * kept, upstream failures mapped to OFB 502/504 (reply-from's own default maps a reset to 500).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/reply-from';
import type { Config, Route } from '../config/load.js';
import { BadGatewayError, GatewayTimeoutError } from '../errors.js';
import { requestHeaderRewriter, responseHeaderRewriter, strippedRequestHeaders } from './headers.js';

type FromOptions = NonNullable<Parameters<FastifyReply['from']>[1]>;

/** Build the handler that forwards one route's accepted requests; its options are built once. */
export function createForwarder(route: Route, config: Config) {
  const names = config.upstreamHeaders;
  const extraStrip = config.server.ingress ? [config.server.ingress.header] : [];
  const stripped = strippedRequestHeaders(names, extraStrip);
  const upstream = route.upstream;
  const options: FromOptions = {
    getUpstream: () => upstream,
    timeout: route.timeoutMs,
    rewriteRequestHeaders: requestHeaderRewriter(names, stripped, route.forwardClientCert),
    rewriteHeaders: responseHeaderRewriter(),
    onError(reply, { error }) {
      const cause = error as { code?: string; statusCode?: number };
      // reply-from reports a headers timeout as a 504 GatewayTimeoutError; anything else is 502.
      reply.send(cause.statusCode === 504 ? new GatewayTimeoutError({ cause: error }) : new BadGatewayError({ cause: error }));
    },
  };
  return function forward(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    request.ofb.forwardedAt = performance.now();
    return reply.from(undefined, options);
  };
}
