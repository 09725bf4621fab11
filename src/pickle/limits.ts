/**
 * The bounds on what the decoders accept, so that hostile bytes end in a
 * {@linkcode PickleError} instead of a hang, a crash or an out-of-memory.
 *
 * @module
 */

import { limitsResolver } from "../base/mod.ts";

/** The bounds of `decodeExpr` and `decodeResponse`. */
export interface DecodeLimits {
  /**
   * The deepest expression (a bare constant is depth 1) or chain of nested
   * exceptions. Unpickling itself refuses lists, tuples, dicts and objects
   * nested deeper than `2 × maxDepth + 8` (one expression level takes at most
   * two: a call object and its args list), so that hostile nesting fails
   * early. Default 1000; CPython cannot even pickle an expression deeper
   * than a few hundred levels.
   */
  readonly maxDepth: number;
  /**
   * The most expression nodes, a shared sub-tree counted each time it is
   * used (what evaluating the tree will walk). Default 100,000.
   */
  readonly maxNodes: number;
  /**
   * The most values unpickling may push on its stack, every push counted (a
   * packet of 64 KiB cannot push more than 64 Ki). Default 1,000,000.
   */
  readonly maxValues: number;
  /**
   * The largest int, in bytes of its two's-complement form (a decimal int in
   * a text opcode is held to the same size). Default 4096, about 9,860
   * decimal digits.
   */
  readonly maxIntBytes: number;
  /**
   * The work decoding may do, in units per byte of the pickle: the budget is
   * `maxWorkPerByte × data length`, and a pickle that needs more is a
   * PickleError. A unit is about one step of the decoder: each byte read
   * (so each opcode costs at least one), each value a tuple, list, dict or
   * BUILD takes, each value of a shared dict or `__dict__` copied before a
   * change, each memo slot skipped, two per word of a random state checked,
   * each character of a dict key made hash-safe (`key_index.ts`); for a
   * response, each step and each of its characters, every time the steps
   * use it, and each exception and each character or digit of its
   * arguments, every time a message holds them. Pickles of calcnet's objects need about
   * 1–2 units per byte (the course's examples 1.1), a response of 100
   * nested exceptions 13. Default 16: a 64 KiB packet gets about a million
   * units, a few milliseconds whatever its shape; the hostile shapes that
   * are cheap to send and costly to read (a BUILD repeated with one big
   * dict, a dict shared and changed again and again) need hundreds.
   */
  readonly maxWorkPerByte: number;
}

/** The defaults of {@linkcode DecodeLimits}. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({
  maxDepth: 1000,
  maxNodes: 100_000,
  maxValues: 1_000_000,
  maxIntBytes: 4096,
  maxWorkPerByte: 16,
});

/**
 * `limits` with the defaults filled in, frozen. Passing the result (or any
 * frozen limits) again costs one lookup.
 *
 * @throws {RangeError} for a limit that is not a positive integer (a NaN
 * would silently disable it).
 */
export const resolveDecodeLimits: (limits?: Partial<DecodeLimits>) => DecodeLimits = limitsResolver(
  DEFAULT_DECODE_LIMITS,
  "decode limit",
);

/** The container nesting unpickling allows for `limits` (see `maxDepth`). */
export function containerDepthLimit(limits: DecodeLimits): number {
  return 2 * limits.maxDepth + 8;
}
