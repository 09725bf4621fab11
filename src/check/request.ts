/**
 * The requests the checker sends: a packet around some data with given
 * flags, and the one-line description a report shows for it.
 *
 * @module
 */

import { encodePacket, MAX_AGE_FOREVER, unixSeconds } from "../protocol/header.ts";

/** The flags of a request. */
export interface RequestFlags {
  /** S: ask for the steps. */
  readonly steps: boolean;
  /** C: the answer may be cached. */
  readonly cache: boolean;
  /** Cache control: the oldest cached answer accepted (65535: any). */
  readonly maxAge: number;
}

/** The course client's flags with or without steps: C=1, max-age 65535. */
export function courseFlags(steps: boolean): RequestFlags {
  return { steps, cache: true, maxAge: MAX_AGE_FOREVER };
}

/** A request packet around `data`, time-stamped now. */
export function requestPacket(data: Uint8Array, flags: RequestFlags): Uint8Array {
  return encodePacket(
    {
      timestamp: unixSeconds(Date.now()),
      cache: flags.cache,
      steps: flags.steps,
      isRequest: true,
      status: 0,
      cacheControl: flags.cache ? flags.maxAge : 0,
    },
    data,
  );
}

/** "`max(2, 3) + 3` (S=1 C=1 max-age 65535)". */
export function describeRequest(text: string, flags: RequestFlags): string {
  return `\`${text}\` (S=${flags.steps ? 1 : 0} C=${flags.cache ? 1 : 0} max-age ${
    flags.cache ? flags.maxAge : 0
  })`;
}
