/**
 * What the proxy made of a request (its outcome), decided by a pure
 * function, and the event that tells it to logs, counters, the demo and
 * tests.
 *
 * @module
 */

import { formatRemaining, type Remaining } from "./policy.ts";

/** What a request came to, as the log line names it. */
export type Outcome =
  | "HIT"
  | "HIT (shared)"
  | "MISS (stored)"
  | "MISS (not stored)"
  | "STALE"
  | "BYPASS"
  | "COALESCED"
  | "ERROR";

/** One answered request. */
export interface ProxyEvent {
  /** "host:port" of the client. */
  readonly peer: string;
  /** What the request came to. */
  readonly outcome: Outcome;
  /** Bytes of the request packet. */
  readonly requestBytes: number;
  /** Bytes of the response packet. */
  readonly responseBytes: number;
  /** Remaining times, when the cache was consulted or an answer judged. */
  readonly remaining?: Remaining;
  /** What else the log should say (why an error, that a stale entry was refreshed). */
  readonly note?: string;
  /** Milliseconds from the request to its answer (0 when not measured). */
  readonly elapsedMs: number;
  /** "host:port" of the server that answered, when one did for this request. */
  readonly server?: string;
}

/** How a trip to the server ended, as far as the outcome depends on it. */
export interface TripSummary {
  /** The request had cache control 0: the cache was neither read nor written. */
  readonly bypass: boolean;
  /** A cached entry was found too old. */
  readonly stale: boolean;
  /** The answer came from another request's trip (in this proxy). */
  readonly coalesced: boolean;
  /** The answer came through the cache shared with other proxies (stored there, or another proxy's trip). */
  readonly sharedHit: boolean;
  /** The server gave no usable answer (the client gets the proxy's 500). */
  readonly failed: boolean;
  /** The answer was stored in the cache. */
  readonly stored: boolean;
}

/**
 * The outcome of a request that went past the cache.
 *
 * @example
 * ```ts
 * missOutcome({ bypass: false, stale: true, coalesced: false, sharedHit: false, failed: false, stored: true }); // "STALE"
 * ```
 */
export function missOutcome(trip: TripSummary): Outcome {
  if (trip.failed) return "ERROR";
  if (trip.coalesced) return "COALESCED";
  if (trip.sharedHit) return "HIT (shared)";
  if (trip.bypass) return "BYPASS";
  if (trip.stale) return "STALE";
  return trip.stored ? "MISS (stored)" : "MISS (not stored)";
}

/** The log line of an event, with the remaining times as the course proxy prints them. */
export function formatProxyEvent(event: ProxyEvent): string {
  const { remaining } = event;
  const times = remaining
    ? `, server time remaining: ${formatRemaining(remaining.server)}, client time remaining: ${
      formatRemaining(remaining.client)
    }`
    : "";
  const via = event.server === undefined ? "" : ` via ${event.server}`;
  return `${event.peer} ${event.outcome} ${event.requestBytes} B -> ${event.responseBytes} B${via}${times}, ` +
    `${event.elapsedMs.toFixed(2)} ms${event.note ? `: ${event.note}` : ""}`;
}
