/**
 * Request packets: the flags a request carries and the packet around its data.
 *
 * @module
 */

import { encodePacket, MAX_AGE_FOREVER, Status, unixSeconds } from "./header.ts";

/** The flags of a request. */
export interface RequestFlags {
  /** S: ask for the steps. */
  readonly steps: boolean;
  /** C: the answer may be cached. */
  readonly cache: boolean;
  /** Cache control: the oldest cached answer accepted, in seconds (65535: any); 0 when C=0. */
  readonly maxAge: number;
}

/** The course client's defaults: steps, cacheable, any age. */
export const DEFAULT_REQUEST_FLAGS: RequestFlags = {
  steps: true,
  cache: true,
  maxAge: MAX_AGE_FOREVER,
};

/**
 * A request packet around `data`, time-stamped at `nowMs` (default: now).
 *
 * @example
 * ```ts
 * const packet = requestPacket(encodeExpr(parseExpression("1 + 2")), DEFAULT_REQUEST_FLAGS);
 * ```
 */
export function requestPacket(
  data: Uint8Array,
  flags: RequestFlags,
  nowMs: number = Date.now(),
): Uint8Array {
  return encodePacket(
    {
      timestamp: unixSeconds(nowMs),
      cache: flags.cache,
      steps: flags.steps,
      isRequest: true,
      status: Status.None,
      cacheControl: flags.maxAge,
    },
    data,
  );
}
