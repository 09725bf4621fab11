/**
 * The store's up/down state as a circuit breaker, without I/O or timers:
 * a failure opens it ("down": callers skip Redis), a successful probe
 * closes it ("up"). Each change is reported exactly once.
 *
 * A failure counts only against the up period it began in (its epoch): a
 * slow operation that fails after the store went down and came back again
 * must not take it down a second time.
 *
 * @module
 */

import type { StoreState, StoreStateChange } from "./shared_store.ts";

/** Tracks the state and reports its changes. */
export class Circuit {
  #state: StoreState = "connecting";
  #epoch = 0;
  readonly #report: (change: StoreStateChange) => void;

  /** `report` hears every change of state, once. */
  constructor(report: (change: StoreStateChange) => void) {
    this.#report = report;
  }

  /** The state now. */
  get state(): StoreState {
    return this.#state;
  }

  /** The number of the current (or last) up period; 0 before the first. */
  get epoch(): number {
    return this.#epoch;
  }

  /** The store answered: up, if it was not. Returns whether the state changed. */
  up(detail: string): boolean {
    if (this.#state === "up") return false;
    this.#state = "up";
    this.#epoch++;
    this.#report({ state: "up", detail });
    return true;
  }

  /**
   * The store failed an operation begun in up period `epoch` (default: the
   * current one): down, if it was not and the failure is not from an earlier
   * period. Returns whether the state changed.
   */
  down(detail: string, epoch: number = this.#epoch): boolean {
    if (this.#state === "down" || epoch !== this.#epoch) return false;
    this.#state = "down";
    this.#report({ state: "down", detail });
    return true;
  }
}
