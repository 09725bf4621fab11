/**
 * The little-endian ints of the pickle format: opcode arguments (BININT2,
 * BININT, lengths, memo indices) and the bodies of LONG1 and LONG4, shared
 * by both decoders so that they read every int alike. The callers check
 * that the bytes are there.
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

/** The unsigned 16-bit int at `data[at]`. */
export function readU16(data: Uint8Array, at: number): number {
  return (data[at] as number) | (data[at + 1] as number) << 8;
}

/** The signed 32-bit int at `data[at]` (`>>> 0` makes it unsigned). */
export function readI32(data: Uint8Array, at: number): number {
  return (data[at] as number) | (data[at + 1] as number) << 8 | (data[at + 2] as number) << 16 |
    (data[at + 3] as number) << 24;
}

/** The unsigned 64-bit size at `data[at]`; one from 2^32 up (beyond any input) is Infinity. */
export function readSize64(data: Uint8Array, at: number): number {
  return readI32(data, at + 4) === 0 ? readI32(data, at) >>> 0 : Infinity;
}
