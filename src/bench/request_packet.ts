/**
 * The request a benchmark sends: an expression's pickle behind a header with
 * the course client's flags, built once and sent unchanged.
 *
 * @module
 */

import { MAX_AGE_FOREVER, requestPacket } from "../protocol/mod.ts";
import { COURSE_EXAMPLES, parseExpression } from "../calc/mod.ts";
import { encodeExpr } from "../pickle/mod.ts";

/**
 * The text of course example `number` (1–6, as the course numbers them).
 *
 * @throws {RangeError} for a number without an example.
 */
export function courseExample(number: number): string {
  const example = COURSE_EXAMPLES[number - 1];
  if (example === undefined) throw new RangeError(`there is no course example ${number}`);
  return example.text;
}

/** Flags of a benchmark request. */
export interface BenchRequestFlags {
  /** S: ask for the steps. */
  readonly showSteps: boolean;
  /** Cache control: 65535 (any age, the default) or 0 to make the proxy ask the server. */
  readonly cacheControl?: number;
}

/**
 * The request packet for `expression` (C=1, time stamp now).
 *
 * @throws {UsageError} when the expression does not parse.
 */
export function benchRequest(expression: string, flags: BenchRequestFlags): Uint8Array {
  return requestPacket(encodeExpr(parseExpression(expression)), {
    showSteps: flags.showSteps,
    cacheResult: true,
    cacheControl: flags.cacheControl ?? MAX_AGE_FOREVER,
  });
}
