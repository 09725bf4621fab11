/**
 * The Internet checksum (RFC 1071) of the IPv4 header and of TCP segments,
 * so that the packets calcnet synthesises pass Wireshark's checks.
 *
 * @module
 */

/**
 * Adds the 16-bit big-endian words of `bytes` to `sum` (an odd last byte is
 * padded with a zero byte), without folding the carries.
 */
export function addWords(bytes: Uint8Array, sum = 0): number {
  const even = bytes.length & ~1;
  let total = sum;
  for (let i = 0; i < even; i += 2) {
    total += ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  }
  if (even < bytes.length) total += (bytes[even] as number) << 8;
  // Fold now and then so that the sum stays a small integer.
  return total > 0x7fffffff ? fold(total) : total;
}

/** Folds the carries of a one's-complement sum into 16 bits. */
function fold(sum: number): number {
  let folded = sum;
  while (folded > 0xffff) folded = (folded & 0xffff) + Math.floor(folded / 0x10000);
  return folded;
}

/**
 * The checksum field's value for a sum of words: the one's complement of
 * the folded sum.
 *
 * @example
 * ```ts
 * checksumOf(addWords(ipv4HeaderWithZeroChecksum)); // the header checksum
 * ```
 */
export function checksumOf(sum: number): number {
  return ~fold(sum) & 0xffff;
}
