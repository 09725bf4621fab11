/**
 * The lookup table of a big dict or `__dict__`: a `Map` whose keys cannot be
 * made to collide (issue 9).
 *
 * V8 hashes a str that is an array index ('0' to '4294967294') by its
 * value, a BigInt by its low 64 bits, and a JS number without a seed, so
 * keys like '4096', '8192', … or ints equal in their low 64 bits all land
 * in one bucket and every insert scans them all (measured: 5,000 such
 * names 60 ms, against 1 ms). Other strings get V8's seeded string hash,
 * and objects a random identity hash. So a key becomes a string that V8
 * hashes with its seed whenever it is not one already: such a "tagged" key
 * starts with {@linkcode TAG}, which no other key does, then a letter for
 * its type, then its value. Strs of up to 16 characters that start with a
 * digit (V8's "integer indices" too) are tagged, and so is a str that
 * starts with the tag. Keys compare by value, as before (SameValueZero:
 * NaN is NaN, +0 is -0).
 *
 * (V8 hashes a string of more than 16,383 characters by its length alone;
 * each such key costs its 16 KB in the pickle, so a packet holds few.)
 *
 * @module
 */

/** Where each key of a dict is in its pairs, by {@linkcode indexKey}. */
export type KeyIndex = Map<string | object, number>;

/** The first character of a tagged key; a str key starting with it is tagged too. */
const TAG = "\u0000";
const TAG_CODE = 0;
/** The longest str V8 may read as a number (an "integer index", up to 2^53). */
const MAX_NUMERIC_LENGTH = 16;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** A dict key: any decoder value (`Value`, which this file does not import). */
export type DictKey = string | bigint | number | boolean | null | object;

/** `key` as a {@linkcode KeyIndex} key. */
export function indexKey(key: DictKey): string | object {
  switch (typeof key) {
    case "string": {
      const first = key.charCodeAt(0);
      const numeric = first >= DIGIT_0 && first <= DIGIT_9 && key.length <= MAX_NUMERIC_LENGTH;
      return numeric || first === TAG_CODE ? `${TAG}s${key}` : key;
    }
    case "bigint":
      return `${TAG}i${key.toString(16)}`;
    case "number":
      // String() tells every double apart but +0 and -0, which are one key.
      return `${TAG}f${key}`;
    case "boolean":
      return key ? `${TAG}T` : `${TAG}F`;
    default:
      return key === null ? `${TAG}N` : key;
  }
}

/**
 * The work units of making `key` into `indexed` (see `maxWorkPerByte`): 1,
 * or the length of a tagged key, made and hashed anew each time.
 */
export function indexKeyWork(key: DictKey, indexed: string | object): number {
  return indexed === key || typeof indexed !== "string" ? 1 : indexed.length;
}
