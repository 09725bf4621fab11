/**
 * Sets of numeric limits (decoding, evaluation) resolved against their
 * defaults and checked once.
 *
 * @module
 */

/**
 * A function that fills in `defaults` for the limits a caller leaves out (an
 * explicit undefined too), checks each is a positive integer, and returns
 * them frozen. A server passes the same limits with every request, so frozen
 * limits, and every result, are remembered: passing them again costs one
 * lookup.
 *
 * @example
 * ```ts
 * const resolve = limitsResolver({ maxDepth: 1000 }, "decode limit");
 * resolve({ maxDepth: 5 }); // { maxDepth: 5 }
 * resolve({ maxDepth: 0 }); // RangeError: decode limit maxDepth must be a positive integer, not 0
 * ```
 */
export function limitsResolver<T extends { readonly [K in keyof T]: number }>(
  defaults: T,
  kind: string,
): (limits?: Partial<T>) => T {
  const names = Object.keys(defaults) as (keyof T & string)[];
  const resolvedOf = new WeakMap<Partial<T>, T>();
  return (limits) => {
    if (limits === undefined) return defaults;
    const known = resolvedOf.get(limits);
    if (known !== undefined) return known;
    const filled: Partial<Record<keyof T, number>> = {};
    for (const name of names) {
      const value: number = limits[name] ?? defaults[name];
      // A NaN or an infinity would silently disable the limit.
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`${kind} ${name} must be a positive integer, not ${value}`);
      }
      filled[name] = value;
    }
    const resolved = Object.freeze(filled) as unknown as T;
    resolvedOf.set(resolved, resolved);
    // Only a frozen object can be remembered: a mutable one may change.
    if (Object.isFrozen(limits)) resolvedOf.set(limits, resolved);
    return resolved;
  };
}
