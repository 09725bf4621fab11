/**
 * The body of LONG1 and LONG4: a little-endian two's-complement int, shared
 * by both decoders so that they read every int alike.
 *
 * @module
 */

/** The longest body read through a double: 6 bytes (48 bits) are exact in one. */
const MAX_DOUBLE_BYTES = 6;

/** The int whose `size`-byte two's-complement little-endian body starts at `data[start]`. */
export function decodeLong(data: Uint8Array, start: number, size: number): bigint {
  if (size === 0) return 0n;
  if (size <= MAX_DOUBLE_BYTES) {
    let value = 0;
    for (let i = start + size - 1; i >= start; i--) value = value * 256 + (data[i] as number);
    if ((data[start + size - 1] as number) >= 0x80) value -= 2 ** (8 * size);
    return BigInt(value);
  }
  let hex = "";
  for (let i = start + size - 1; i >= start; i--) {
    hex += (data[i] as number).toString(16).padStart(2, "0");
  }
  return BigInt.asIntN(size * 8, BigInt(`0x${hex}`));
}
