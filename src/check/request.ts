/**
 * The requests the checker sends: the course client's flags, the one-line
 * description a report shows for a request, and sending an expression.
 *
 * @module
 */

import type { Expr } from "../calc/mod.ts";
import { encodeExpr } from "../pickle/mod.ts";
import { MAX_AGE_FOREVER, type RequestFlags, requestPacket } from "../protocol/mod.ts";
import type { Probe, Received } from "./probe.ts";

/** The course client's flags with or without steps: C=1, max-age 65535. */
export function courseFlags(steps: boolean): RequestFlags {
  return { showSteps: steps, cacheResult: true, cacheControl: MAX_AGE_FOREVER };
}

/** "`max(2, 3) + 3` (S=1 C=1 max-age 65535)". */
export function describeRequest(text: string, flags: RequestFlags): string {
  return `\`${text}\` (S=${flags.showSteps ? 1 : 0} C=${flags.cacheResult ? 1 : 0} max-age ${
    flags.cacheResult ? flags.cacheControl : 0
  })`;
}

/**
 * Sends `expr` with `flags` on `probe` and waits for the answer; `text` is
 * how the report names the request (see {@linkcode describeRequest}), after
 * `prefix` if given.
 */
export function askExpr(
  probe: Probe,
  text: string,
  expr: Expr,
  flags: RequestFlags,
  timeoutMs: number,
  prefix = "",
): Promise<Received> {
  return probe.exchange(
    requestPacket(encodeExpr(expr), flags),
    prefix + describeRequest(text, flags),
    timeoutMs,
  );
}
