/**
 * What a cache shared by several proxies offers, whatever holds it: answers
 * by cache key, and coalescing of identical misses across proxies (one
 * leader asks the server, the others wait for what it publishes).
 *
 * Every operation is best effort and bounded in time: when the store is
 * unreachable or slow it answers `undefined` (or does nothing) instead of
 * throwing, and the caller goes on alone (its own cache, the server).
 *
 * @module
 */

/** How the store's connection stands: not tried yet, usable, or not usable. */
export type StoreState = "connecting" | "up" | "down";

/** What {@linkcode SharedStore.lead} answers. */
export type LeadRole =
  /** The caller holds the lock: it asks the server, then publishes and releases. */
  | "leader"
  /** Another caller (this proxy or another) holds the lock: await its outcome. */
  | "follower";

/** A leader's result, shared with the waiters of every proxy. */
export interface SharedOutcome {
  /** The response packet to send: the server's answer, or the leader's failure answer. */
  readonly response: Uint8Array;
  /** True when the trip failed: shared with those waiting now, never stored as an entry. */
  readonly failed: boolean;
}

/** Running totals of a store's work, for the proxy's counters. */
export interface StoreCounters {
  /** Operations sent to the store. */
  readonly ops: number;
  /** Operations that failed with an error (a refused connection, an error reply). */
  readonly failures: number;
  /** Operations that got no reply within the timeout. */
  readonly timeouts: number;
  /** Operations not sent because the store was not up (the circuit was open). */
  readonly skipped: number;
}

/** A state change: the new state and, for "down", why. */
export interface StoreStateChange {
  /** The state now. */
  readonly state: StoreState;
  /** What caused it: the error or timeout for "down", the address for "up". */
  readonly detail: string;
}

/**
 * A cache shared by several proxies, with cross-proxy coalescing.
 *
 * A miss, in the order that keeps duplicate trips rare: `get(key)`; on a
 * miss `lead(key, ttlMs)`; a "leader" calls `get(key)` once more (another
 * proxy may have finished between the two), then asks the server,
 * `set()`s a storable answer, `publish()`es the outcome and finally
 * `release()`s; a "follower" calls `await(key, deadline)` and goes alone
 * when it answers `undefined`.
 */
export interface SharedStore extends AsyncDisposable {
  /** The state now. */
  readonly state: StoreState;
  /** The totals so far. */
  readonly counters: StoreCounters;
  /** Followers in {@linkcode SharedStore.await} now. */
  readonly waiting: number;
  /** The response stored under `key` (a cache key), or `undefined`: absent, invalid or no store. */
  get(key: string): Promise<Uint8Array | undefined>;
  /**
   * Stores `response` under `key` for `ttlSeconds` (Infinity or 65535:
   * "forever", capped by the store's longest entry life); a TTL ≤ 0 or a
   * response longer than a packet stores nothing.
   */
  set(key: string, response: Uint8Array, ttlSeconds: number): Promise<void>;
  /**
   * Takes the lock on `key` for at most `ttlMs` ("leader"), or finds it
   * taken ("follower"); `undefined` when the store cannot tell: go alone.
   *
   * @throws {RangeError} for a `ttlMs` that is not a positive finite number.
   */
  lead(key: string, ttlMs: number): Promise<LeadRole | undefined>;
  /** Shares a leader's outcome for `key` with the followers waiting now. */
  publish(key: string, outcome: SharedOutcome): Promise<void>;
  /** Gives up the lock on `key` if this store still holds it (never another's). */
  release(key: string): Promise<void>;
  /**
   * Waits for the outcome the leader of `key` publishes; `undefined` when
   * the lock is gone without one (the leader died or gave up), when
   * `deadline` (a `performance.now()` time) passes, or when the store is not up.
   */
  await(key: string, deadline: number): Promise<SharedOutcome | undefined>;
  /** Closes the connections and wakes every waiter; later calls do nothing. */
  close(): Promise<void>;
}
