/**
 * Identical concurrent misses coalesced into one trip to the server: the
 * first (the leader) goes, the others wait for its result and get the same
 * — an answer, an uncacheable answer or a failure alike. No sockets, no
 * clock of its own: testable alone.
 *
 * @module
 */

/** Coalescing bounds. */
export interface CoalescingLimits {
  /** Requests that may wait for one trip; more make their own. */
  readonly maxWaiters: number;
  /** The longest a waiter waits for the leader's result in all. */
  readonly waitTimeoutMs: number;
}

/** How a request was served by {@linkcode Coalescer.run}. */
export interface Coalesced<T> {
  /** True when another request's trip answered it. */
  readonly shared: boolean;
  /** The trip's result, or the timeout result for a waiter that waited too long. */
  readonly result: T;
}

interface Trip<T> {
  readonly result: Promise<T>;
  waiters: number;
}

/**
 * Runs at most one trip per key at a time and shares its result.
 *
 * @example
 * ```ts
 * const coalescer = new Coalescer<string>({ maxWaiters: 1000, waitTimeoutMs: 10_000 }, () => "timeout");
 * const [a, b] = await Promise.all([coalescer.run("k", ask), coalescer.run("k", ask)]);
 * // ask ran once; b.shared is true and b.result === a.result
 * ```
 */
export class Coalescer<T> {
  readonly #limits: CoalescingLimits;
  readonly #timedOut: () => T;
  readonly #trips = new Map<string, Trip<T>>();

  /** `timedOut` makes the result of a waiter whose wait ran out. */
  constructor(limits: CoalescingLimits, timedOut: () => T) {
    this.#limits = limits;
    this.#timedOut = timedOut;
  }

  /** Trips under way now. */
  get inFlight(): number {
    return this.#trips.size;
  }

  /**
   * Shares the result of the trip under way for `key`, or runs `trip` (which
   * must not reject: failures are results too) and shares it with the
   * requests that arrive meanwhile. When the trip already has its most
   * waiters, `trip` runs for this request alone.
   */
  async run(key: string, trip: () => Promise<T>): Promise<Coalesced<T>> {
    const current = this.#trips.get(key);
    if (current !== undefined && current.waiters < this.#limits.maxWaiters) {
      return { shared: true, result: await this.#wait(current) };
    }
    if (current !== undefined) return { shared: false, result: await trip() };
    const started: Trip<T> = { result: trip(), waiters: 0 };
    this.#trips.set(key, started);
    try {
      return { shared: false, result: await started.result };
    } finally {
      this.#trips.delete(key);
    }
  }

  async #wait(trip: Trip<T>): Promise<T> {
    trip.waiters++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        trip.result,
        new Promise<T>((resolve) => {
          timer = setTimeout(() => resolve(this.#timedOut()), this.#limits.waitTimeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      trip.waiters--;
    }
  }
}
