/**
 * Request packets: the flags a request carries and the packet around its data.
 *
 * @module
 */

import { encodePacket, MAX_AGE_FOREVER, Status, unixSeconds } from "./header.ts";

/** The flags of a request. */
export interface RequestFlags {
  /** S: ask for the steps. */
  readonly showSteps: boolean;
  /** C: the answer may be cached. */
  readonly cacheResult: boolean;
  /** Cache control: the oldest cached answer accepted, in seconds (65535: any); 0 when C=0. */
  readonly cacheControl: number;
}

/** The course client's defaults: steps, cacheable, any age. */
export const DEFAULT_REQUEST_FLAGS: RequestFlags = {
  showSteps: true,
  cacheResult: true,
  cacheControl: MAX_AGE_FOREVER,
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
  const { showSteps, cacheResult, cacheControl } = flags;
  return encodePacket(
    {
      timestamp: unixSeconds(nowMs),
      cacheResult,
      showSteps,
      isRequest: true,
      statusCode: Status.None,
      cacheControl,
    },
    data,
  );
}
