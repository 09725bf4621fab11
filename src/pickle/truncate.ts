/**
 * Cutting the decoders' stacks and memos short, a few values at a time
 * being the common case.
 *
 * @module
 */

/** The most values {@linkcode truncate} pops one by one (a longer cut sets `length`). */
const MAX_POPS = 64;

/**
 * Shortens `array` to `length` values: popping a few is much cheaper than
 * setting `length` (a call into the runtime); a long cut sets it.
 */
export function truncate(array: unknown[], length: number): void {
  if (array.length - length > MAX_POPS) array.length = length;
  else while (array.length > length) array.pop();
}
