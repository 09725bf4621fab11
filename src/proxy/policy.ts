/**
 * The course proxy's cache rules (docs/PROTOCOL.md §7) as pure functions of headers
 * and the time: freshness on lookup and the decision to store.
 *
 * @module
 */

import { type Header, MAX_AGE_FOREVER } from "../protocol/mod.ts";

/** Seconds left of a max-age given an age; 65535 never runs out. */
function remainingSeconds(maxAge: number, ageSeconds: number): number {
  return maxAge === MAX_AGE_FOREVER ? Infinity : maxAge - ageSeconds;
}

/** The two remaining times the course proxy computes and logs. */
export interface Remaining {
  /** The response's max-age minus its age. */
  readonly server: number;
  /** The request's max-age minus the response's age. */
  readonly client: number;
}

/** How a cached response stands against a request. */
export interface Freshness extends Remaining {
  /** Both remaining times positive: serve it. */
  readonly fresh: boolean;
}

/**
 * Judges a cached response (time stamp and max-age from its header) for a
 * request with cache control `requestMaxAge`, at `nowSeconds`.
 *
 * @example
 * ```ts
 * judge(1000, 65535, 2, 1001).fresh; // true: one second old, the client accepts two
 * ```
 */
export function judge(
  responseTimestamp: number,
  responseMaxAge: number,
  requestMaxAge: number,
  nowSeconds: number,
): Freshness {
  const age = nowSeconds - responseTimestamp;
  const server = remainingSeconds(responseMaxAge, age);
  const client = remainingSeconds(requestMaxAge, age);
  return { server, client, fresh: server > 0 && client > 0 };
}

/**
 * Whether a response fetched for a request may be stored: the request has
 * C=1, the response has C=1, and both remaining times are positive.
 */
export function storable(
  request: Pick<Header, "cacheResult" | "cacheControl">,
  response: Pick<Header, "cacheResult" | "cacheControl" | "timestamp">,
  nowSeconds: number,
): Freshness & { readonly store: boolean } {
  const freshness = judge(
    response.timestamp,
    response.cacheControl,
    request.cacheControl,
    nowSeconds,
  );
  return { ...freshness, store: request.cacheResult && response.cacheResult && freshness.fresh };
}

/** A remaining time as the course proxy prints it: `inf` or two decimals. */
export function formatRemaining(seconds: number): string {
  return seconds === Infinity ? "inf" : seconds.toFixed(2);
}
