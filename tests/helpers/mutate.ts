/**
 * Mutations of byte strings for the fuzz tests: bit flips, interesting
 * bytes, insertions, deletions, copies, cuts, splices from a corpus, and
 * length fields gone huge or negative.
 *
 * @module
 */

import type { SeededRandom } from "./pickle_fixture.ts";

/** Bytes a mutation likes to write: boundaries and pickle opcodes that take lengths. */
const INTERESTING = [
  0x00,
  0x01,
  0x02,
  0x03,
  0x04,
  0x05,
  0x7f,
  0x80,
  0xff,
  0x28, // MARK
  0x2e, // STOP
  0x4a, // BININT
  0x58, // BINUNICODE
  0x8a, // LONG1
  0x8b, // LONG4
  0x8c, // SHORT_BINUNICODE
  0x93, // STACK_GLOBAL
  0x94, // MEMOIZE
  0x95, // FRAME
  0x68, // BINGET
  0x6a, // LONG_BINGET
  0x52, // REDUCE
  0x62, // BUILD
  0x81, // NEWOBJ
];

/** One random change to `input`: a bit flip, a byte, an insertion, a deletion, a copy, a cut, a splice. */
export function mutate(
  rng: SeededRandom,
  input: Uint8Array,
  corpus: readonly Uint8Array[],
): Uint8Array {
  const bytes = Array.from(input);
  const at = (): number => rng.int(bytes.length + 1);
  switch (rng.int(8)) {
    case 0:
      if (bytes.length > 0) {
        const i = rng.int(bytes.length);
        bytes[i] = (bytes[i] ?? 0) ^ (1 << rng.int(8));
      }
      break;
    case 1:
      if (bytes.length > 0) bytes[rng.int(bytes.length)] = rng.pick(INTERESTING);
      break;
    case 2:
      bytes.splice(at(), 0, ...Array.from({ length: rng.int(8) + 1 }, () => rng.int(256)));
      break;
    case 3:
      bytes.splice(at(), rng.int(16) + 1);
      break;
    case 4: {
      const start = at();
      bytes.splice(at(), 0, ...bytes.slice(start, start + rng.int(64) + 1));
      break;
    }
    case 5:
      bytes.length = at();
      break;
    case 6: {
      const other = rng.pick(corpus);
      const from = rng.int(other.length + 1);
      bytes.splice(at(), rng.int(32), ...other.subarray(from, from + rng.int(64) + 1));
      break;
    }
    default: {
      // A 4- or 8-byte length field (FRAME, BINUNICODE, LONG4) gone huge or negative.
      const i = at();
      const value = rng.pick([0xffffffff, 0x7fffffff, 0x80000000, 0x10000, rng.uint32()]);
      bytes.splice(i, 4, value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24);
      break;
    }
  }
  return new Uint8Array(bytes);
}

/** `input` after one to four mutations. */
export function mutated(
  rng: SeededRandom,
  input: Uint8Array,
  corpus: readonly Uint8Array[],
): Uint8Array {
  let bytes = input;
  for (let n = rng.int(4) + 1; n > 0; n--) bytes = mutate(rng, bytes, corpus);
  return bytes;
}
