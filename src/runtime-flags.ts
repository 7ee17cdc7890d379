/**
 * The V8 flags the gateway is meant to run with: the Docker image's ENTRYPOINT passes them (a test
 * keeps the two equal) and `npm run bench` starts the gateway and its bare Node baseline with them.
 * Flags, not code: V8 reads them when the heap is set up, and this one is not allowed in NODE_OPTIONS.
 *
 * --min-semi-space-size=16 (MiB; V8's default maximum on 64-bit, the young generation holds two):
 * after a quiet spell V8 shrinks an idle process's young generation to 1 MiB, and it only grows
 * back as objects survive — the first seconds of traffic then run about 90 scavenges a second
 * instead of 15, which `npm run bench` saw as +10–20 ms on the p99 of an open-loop run after idle.
 * The floor costs 32 MiB of young generation kept while idle.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--min-semi-space-size=16'];
