/**
 * The bounds on what the decoders accept, so that hostile bytes end in a
 * {@linkcode PickleError} instead of a hang, a crash or an out-of-memory.
 *
 * @module
 */

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
}

/** The defaults of {@linkcode DecodeLimits}. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({
  maxDepth: 1000,
  maxNodes: 100_000,
  maxValues: 1_000_000,
  maxIntBytes: 4096,
});

/**
 * `limits` with the defaults filled in, frozen. Passing the result (or any
 * frozen limits) again costs one lookup.
 *
 * @throws {RangeError} for a limit that is not a positive integer (a NaN
 * would silently disable it).
 */
export function resolveLimits(limits?: Partial<DecodeLimits>): DecodeLimits {
  if (limits === undefined) return DEFAULT_DECODE_LIMITS;
  // A server passes the same limits with every request: check them once.
  const known = RESOLVED.get(limits);
  if (known !== undefined) return known;
  const resolved: DecodeLimits = Object.freeze({
    maxDepth: limits.maxDepth ?? DEFAULT_DECODE_LIMITS.maxDepth,
    maxNodes: limits.maxNodes ?? DEFAULT_DECODE_LIMITS.maxNodes,
    maxValues: limits.maxValues ?? DEFAULT_DECODE_LIMITS.maxValues,
    maxIntBytes: limits.maxIntBytes ?? DEFAULT_DECODE_LIMITS.maxIntBytes,
  });
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`decode limit ${name} must be a positive integer, not ${value}`);
    }
  }
  RESOLVED.set(resolved, resolved);
  // Only a frozen object can be remembered: a mutable one may change.
  if (Object.isFrozen(limits)) RESOLVED.set(limits, resolved);
  return resolved;
}

/** Frozen limits already checked, and what they resolved to. */
const RESOLVED = new WeakMap<Partial<DecodeLimits>, DecodeLimits>();

/** The container nesting unpickling allows for `limits` (see `maxDepth`). */
export function containerDepthLimit(limits: DecodeLimits): number {
  return 2 * limits.maxDepth + 8;
}
