/**
 * Whether an answer came from a cache, told by its time stamp: a server
 * stamps each answer with the second it made it, and a cache hands out a
 * stored answer unchanged, old stamp included. Pure.
 *
 * @module
 */

import { decodeHeader } from "../protocol/mod.ts";
import type { Exchange } from "./connection.ts";

/** How old an answer is. */
export interface Freshness {
  /** Made before the second the request was sent in: served from a cache. */
  readonly cached: boolean;
  /** Whole seconds from when it was made to when it was asked for (0 when fresh). */
  readonly ageSeconds: number;
}

/**
 * The freshness of `exchange`'s answer. The request's own time stamp is the
 * second it was sent in; a stamp is whole seconds, so an answer made in that
 * second or later is fresh, and one from an earlier second was stored.
 * (Both stamps come from clocks: a server on another machine whose clock is
 * behind makes fresh answers look cached.)
 */
export function freshnessOf(exchange: Exchange): Freshness {
  const sent = decodeHeader(exchange.request).header.timestamp;
  const made = exchange.header.timestamp;
  return { cached: made < sent, ageSeconds: Math.max(0, sent - made) };
}
