/**
 * A promise's outcome as a value rather than a throw, at once or within a
 * time limit: the caller decides what an error or a timeout means.
 *
 * @module
 */

/** How a promise settled: the value it gave, or what it was rejected with. */
export type Settled<T, E = unknown> =
  | { readonly kind: "value"; readonly value: T }
  | { readonly kind: "error"; readonly error: E };

/** How a promise settled within its time limit, or that it did not. */
export type SettledWithin<T> = Settled<T> | { readonly kind: "timeout" };

/**
 * `promise`'s outcome as a value: the returned promise never rejects, so
 * `promise`'s rejection is never unhandled.
 *
 * @example
 * ```ts
 * await settle(Promise.reject(new Error("no"))); // { kind: "error", error: Error("no") }
 * ```
 */
export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value): Settled<T> => ({ kind: "value", value }),
    (error: unknown): Settled<T> => ({ kind: "error", error }),
  );
}

/**
 * Waits at most `ms` for `promise`. The timer is cleared as soon as the
 * promise settles; a promise that settles after the limit is still
 * observed, so its rejection is never unhandled.
 */
export function settleWithin<T>(promise: Promise<T>, ms: number): Promise<SettledWithin<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ kind: "timeout" }), Math.max(0, ms));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve({ kind: "value", value });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ kind: "error", error });
      },
    );
  });
}
