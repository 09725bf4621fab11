/**
 * A promise's outcome within a time limit, as a value rather than a throw:
 * the caller decides what a timeout or an error means.
 *
 * @module
 */

/** How a promise settled within its time limit. */
export type Settled<T> =
  | { readonly kind: "value"; readonly value: T }
  | { readonly kind: "error"; readonly error: unknown }
  | { readonly kind: "timeout" };

/**
 * Waits at most `ms` for `promise`. The timer is cleared as soon as the
 * promise settles; a promise that settles after the limit is still
 * observed, so its rejection is never unhandled.
 */
export function settleWithin<T>(promise: Promise<T>, ms: number): Promise<Settled<T>> {
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
