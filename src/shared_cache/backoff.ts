/**
 * Exponential backoff with jitter for reconnecting: proxies that lost the
 * same Redis at the same moment do not all knock again at the same moment.
 *
 * @module
 */

/** The shortest and longest pause between attempts. */
export interface BackoffLimits {
  /** The pause after the first failure, in ms (before jitter). */
  readonly minMs: number;
  /** The longest pause, in ms. */
  readonly maxMs: number;
}

/**
 * The pause before attempt `attempt` (0 for the first retry): the minimum
 * doubled per attempt up to the maximum, of which a random half is taken
 * off ("equal jitter": never less than half the step).
 *
 * @example
 * ```ts
 * backoffDelay(3, { minMs: 100, maxMs: 5000 }, () => 1); // 800
 * ```
 */
export function backoffDelay(
  attempt: number,
  limits: BackoffLimits,
  random: () => number = Math.random,
): number {
  // Capping the exponent keeps 2 ** attempt finite however long Redis stays away.
  const step = Math.min(limits.maxMs, limits.minMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (random() * step) / 2);
}
