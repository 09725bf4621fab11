/**
 * The decoders' work budget (issue 9): what a decode may spend, in units
 * (see `DecodeLimits.maxWorkPerByte`), and what it did spend.
 *
 * @module
 */

import { PickleError } from "./errors.ts";
import type { DecodeLimits } from "./limits.ts";

/**
 * What one decode cost: pass one to `decodeExpr` or `decodeResponse` and
 * read it afterwards (also after a throw).
 *
 * @example
 * ```ts
 * const stats = newDecodeStats();
 * decodeExpr(data, undefined, stats);
 * stats.work <= stats.budget; // true
 * ```
 */
export interface DecodeStats {
  /**
   * The work units spent, never more than `budget`: a step that would
   * exceed it is refused (a PickleError) and not counted.
   */
  work: number;
  /** The units allowed: `maxWorkPerByte` × the pickle's length. */
  budget: number;
}

/** A {@linkcode DecodeStats} before any decode. */
export function newDecodeStats(): DecodeStats {
  return { work: 0, budget: 0 };
}

/** The work units a pickle of `length` bytes may take under `limits`. */
export function workBudget(limits: DecodeLimits, length: number): number {
  return limits.maxWorkPerByte * length;
}

/** The error of a pickle of `length` bytes that needs more than its budget. */
export function workBudgetError(limits: DecodeLimits, length: number): PickleError {
  return new PickleError(
    `pickle needs more than ${
      workBudget(limits, length)
    } units of work (${limits.maxWorkPerByte} per byte of its ${length})`,
  );
}

/**
 * The rest of a decode's budget, for the work done after unpickling (a
 * response's steps and exception messages): each charge counts in `stats`,
 * and one that would pass the budget is refused with the budget's error.
 */
export class DecodeBudget {
  readonly #stats: DecodeStats;
  readonly #limits: DecodeLimits;
  readonly #length: number;

  /** The budget `stats` has left, for a pickle of `length` bytes decoded under `limits`. */
  constructor(stats: DecodeStats, limits: DecodeLimits, length: number) {
    this.#stats = stats;
    this.#limits = limits;
    this.#length = length;
  }

  /** Counts `units` of work and returns them; past the budget, a PickleError instead. */
  charge(units: number): number {
    const stats = this.#stats;
    if (units > stats.budget - stats.work) throw workBudgetError(this.#limits, this.#length);
    stats.work += units;
    return units;
  }
}
