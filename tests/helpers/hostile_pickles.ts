/**
 * Hostile pickles for the decoder's work budget (issue 9): shapes that make a
 * naive unpickler do far more work than the bytes it reads, each sized to
 * fit one request packet unless told otherwise.
 *
 * @module
 */

/** The most data bytes a request packet carries (65,535 minus the 12-byte header). */
export const MAX_PACKET_DATA = 65_535 - 12;

/** Appends bytes and latin-1 text; `bytes()` returns what was written. */
export class PickleWriter {
  #chunks: number[] = [];

  /** Writes each part: a byte, a byte array, or latin-1 text. */
  put(...parts: (number | readonly number[] | string)[]): this {
    for (const part of parts) {
      if (typeof part === "number") this.#chunks.push(part);
      else if (typeof part === "string") {
        for (const ch of part) this.#chunks.push(ch.charCodeAt(0));
      } else for (const byte of part) this.#chunks.push(byte);
    }
    return this;
  }

  /** SHORT_BINUNICODE of ASCII `text`. */
  str(text: string): this {
    return this.put(0x8c, text.length, text);
  }

  /** `count` copies of `part`. */
  repeat(count: number, part: string | readonly number[]): this {
    for (let i = 0; i < count; i++) this.put(part);
    return this;
  }

  /** The bytes so far. */
  bytes(): Uint8Array {
    return Uint8Array.from(this.#chunks);
  }

  /** How many bytes so far. */
  get length(): number {
    return this.#chunks.length;
  }
}

/** The 26-byte request data: LONG_BINPUT 0xFFFFFFFE, then 0xFFFFFFFF. */
export const MEMO_EXTREMES_HEX = "80044e72feffffff72ffffffff2e";

/**
 * PROTO 4, then `calculator.Constant()` by STACK_GLOBAL and NEWOBJ, as the
 * pickler writes it: memo 0 "calculator", 1 "Constant", 2 the class, 3 the
 * object.
 */
function constantObject(): PickleWriter {
  return new PickleWriter()
    .put(0x80, 0x04)
    .str("calculator").put(0x94)
    .str("Constant").put(0x94, 0x93, 0x94)
    .put(0x29, 0x81, 0x94);
}

/** The attribute names of the attack: '4096', '8192', … (`count` of them). */
export function collidingNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => String(4096 * (i + 1)));
}

/**
 * The 62 KB attack: a `Constant` whose BUILD sets `attributes`
 * attributes named '4096', '8192', … (to None), followed by `builds` empty
 * BUILDs (`}b`). The dict of attributes is memo 4.
 */
export function repeatedBuildPickle(attributes = 4095, builds = 10_000): Uint8Array {
  const out = constantObject().put(0x7d, 0x94, 0x28);
  for (const name of collidingNames(attributes)) out.str(name).put(0x4e);
  return out.put(0x75, 0x62).repeat(builds, "}b").put(0x2e).bytes();
}

/**
 * A `Constant` whose state dict of `attributes` colliding names (memo 4) is
 * applied again and again (BINGET 4, BUILD) until the packet is full: each
 * BUILD merges the whole dict, a copy the bytes do not pay for.
 */
export function rebuildFromMemoPickle(attributes = 2000, size = MAX_PACKET_DATA): Uint8Array {
  const out = constantObject().put(0x7d, 0x94, 0x28);
  for (const name of collidingNames(attributes)) out.str(name).put(0x4e);
  out.put(0x75, 0x62);
  while (out.length + 4 <= size) out.put(0x68, 4, 0x62);
  return out.put(0x2e).bytes();
}

/**
 * A dict of `attributes` entries (memo 4) that alternately becomes an
 * object's state (shared with it) and is changed again (copied before the
 * change), until the packet is full.
 */
export function sharedDictCopiesPickle(attributes = 2000, size = MAX_PACKET_DATA): Uint8Array {
  const out = new PickleWriter().put(0x80, 0x04)
    .str("calculator").put(0x94)
    .str("Constant").put(0x94, 0x93, 0x94) // memo 2: the class
    .put(0x7d, 0x94, 0x28); // memo 3: the dict
  for (const name of collidingNames(attributes)) out.str(name).put(0x4e);
  out.put(0x75);
  // NEWOBJ a Constant, BUILD it with the dict, drop it; then dict["a"] = None.
  const cycle = [
    0x68,
    2,
    0x29,
    0x81,
    0x68,
    3,
    0x62,
    0x30,
    0x68,
    3,
    0x8c,
    1,
    0x61,
    0x4e,
    0x73,
    0x30,
  ];
  while (out.length + cycle.length + 1 <= size) out.put(cycle);
  return out.put(0x2e).bytes();
}

/**
 * A dict whose keys are ints of `keyBytes` bytes equal in their low 64 bits
 * (V8 hashes a BigInt by them), as many as fit in `size` bytes; with
 * `control`, the counter sits in the low bytes instead (no collision).
 */
export function bigIntKeysPickle(
  keyBytes = 10,
  size = MAX_PACKET_DATA,
  control = false,
): Uint8Array {
  const out = new PickleWriter().put(0x80, 0x04, 0x7d, 0x28);
  const perKey = 2 + keyBytes + 1;
  const room = Math.floor((size - out.length - 2) / perKey);
  const count = Math.min(room, 2 ** Math.min(8 * (keyBytes - 9) + 7, 30));
  for (let i = 1; i <= count; i++) {
    const body = new Array<number>(keyBytes).fill(0);
    // The counter's bytes, then a 1 on top (one size for all; the top bit
    // clear, a positive int).
    body[keyBytes - 1] = 1;
    for (let at = control ? 0 : 8, rest = i; rest > 0; at++, rest = Math.floor(rest / 256)) {
      body[at] = rest % 256;
    }
    out.put(0x8a, keyBytes, body, 0x4e);
  }
  return out.put(0x75, 0x2e).bytes();
}

/** A dict keyed by `names` (None values): by default `count` colliding names. */
export function collidingKeysPickle(
  count = 5000,
  names: readonly string[] = collidingNames(count),
): Uint8Array {
  const out = new PickleWriter().put(0x80, 0x04, 0x7d, 0x28);
  for (const name of names) out.str(name).put(0x4e);
  return out.put(0x75, 0x2e).bytes();
}

/** Ordinary names as long as {@linkcode collidingNames}' (the control of a timing test). */
export function ordinaryNames(count: number): string[] {
  return collidingNames(count).map((name, i) => `k${i}`.padEnd(name.length, "_"));
}

/**
 * A `random.Random` whose BUILD with one memoized 625-word state is
 * repeated until the packet is full (each BUILD checks all the words).
 */
export function randomRebuildPickle(size = MAX_PACKET_DATA): Uint8Array {
  const out = new PickleWriter().put(0x80, 0x04)
    .str("random").str("Random").put(0x93, 0x29, 0x52, 0x94) // memo 0: Random()
    .put(0x4b, 3, 0x28); // version 3, MARK
  for (let i = 0; i < 624; i++) out.put(0x4b, i % 256);
  out.put(0x4d, 0x70, 0x02, 0x74, 0x4e, 0x87, 0x94); // index 624, TUPLE; gauss None; memo 1
  out.put(0x62); // BUILD
  while (out.length + 4 <= size) out.put(0x68, 1, 0x62);
  return out.put(0x2e).bytes();
}

/** `complex(*t)` for one memoized tuple of 5,000 ints, repeated until the packet is full. */
export function complexReducePickle(size = MAX_PACKET_DATA): Uint8Array {
  const out = new PickleWriter().put(0x80, 0x04)
    .str("builtins").str("complex").put(0x93, 0x94) // memo 0: complex
    .put(0x28).repeat(5000, [0x4b, 1]).put(0x74, 0x94, 0x30); // memo 1: the tuple
  while (out.length + 7 <= size) out.put(0x68, 0, 0x68, 1, 0x52, 0x30);
  return out.put(0x4e, 0x2e).bytes();
}

/** `count` MARKs in a row, then as many POP_MARKs, then None. */
export function deepMarksPickle(count = 32_000): Uint8Array {
  return new PickleWriter().put(0x80, 0x04).repeat(count, "(").repeat(count, "1")
    .put(0x4e, 0x2e).bytes();
}

/** Memo puts at every index up to what the packet holds, then gets of them all. */
export function denseMemoPickle(size = MAX_PACKET_DATA): Uint8Array {
  const out = new PickleWriter().put(0x80, 0x04, 0x4e);
  let index = 0;
  while (out.length + 10 <= size) out.put(0x72, index & 0xff, (index >> 8) & 0xff, 0, 0), index++;
  return out.put(0x2e).bytes();
}

/**
 * A response exception whose args are one int of `intBytes` bytes, used
 * `uses` times: each use is a few bytes, and each printed in its message.
 */
export function bigIntArgsPickle(intBytes = 4096, uses = 25_000): Uint8Array {
  const body = new Array<number>(intBytes).fill(0x11);
  body[intBytes - 1] = 0x7f;
  return new PickleWriter().put(0x80, 0x04)
    .str("builtins").str("ValueError").put(0x93, 0x94) // memo 0: ValueError
    .put(0x8b, intBytes & 0xff, (intBytes >> 8) & 0xff, 0, 0, body, 0x94, 0x30) // memo 1
    .put(0x68, 0, 0x28).repeat(uses, [0x68, 1]).put(0x74, 0x52, 0x2e).bytes();
}

/**
 * A response of nested exceptions, each holding the one below twice
 * (`levels` deep, the innermost's message `leaf`): a DAG of a few bytes per
 * level whose tree has 2^levels leaves.
 */
export function exceptionDagPickle(levels = 60, leaf = "x"): Uint8Array {
  const out = new PickleWriter().put(0x80, 0x04)
    .str("builtins").str("ValueError").put(0x93, 0x94) // memo 0: ValueError
    .put(0x68, 0).str(leaf).put(0x85, 0x52, 0x94); // memo 1: ValueError(leaf)
  for (let level = 1; level <= levels; level++) {
    out.put(0x68, 0, 0x68, level, 0x68, level, 0x86, 0x52, 0x94); // memo level + 1
  }
  return out.put(0x2e).bytes();
}

/**
 * The part of a response pickle around its steps: `(1, [steps])` where the
 * steps are the given opcodes inside MARK ... APPENDS.
 */
function stepsResponse(steps: PickleWriter): Uint8Array {
  return new PickleWriter().put(0x80, 0x04, 0x4b, 1, 0x5d, 0x28) // PROTO 4, 1, [, MARK
    .put(Array.from(steps.bytes()))
    .put(0x65, 0x86, 0x2e).bytes(); // APPENDS, TUPLE2, STOP
}

/** BINUNICODE of `length` copies of "a". */
function longStr(out: PickleWriter, length: number): PickleWriter {
  return out.put(0x58, length & 0xff, (length >> 8) & 0xff, length >> 16, 0, "a".repeat(length));
}

/** The bytes of `(1, [...])` around the steps: what {@linkcode stepsResponse} adds. */
const STEPS_RESPONSE_BYTES = 9;

/**
 * The review's step bomb (/tmp/hostile/stepbomb_server.py): a response whose
 * steps are one `length`-character str, then that str again by a 2-byte
 * memo get until the response is `size` bytes: 64 KiB that would read as
 * half a billion characters.
 */
export function stepBombPickle(length = 30_000, size = MAX_PACKET_DATA): Uint8Array {
  const steps = longStr(new PickleWriter(), length).put(0x94); // memo 0: the str
  steps.repeat(Math.floor((size - STEPS_RESPONSE_BYTES - steps.length) / 2), [0x68, 0]);
  return stepsResponse(steps);
}

/**
 * A response whose first step is `length` characters and every other an
 * empty str (a 2-byte memo get), filling `size` bytes: few characters, but
 * the course client's printout indents every step by the first's length.
 */
export function indentBombPickle(length = 30_000, size = MAX_PACKET_DATA): Uint8Array {
  const steps = longStr(new PickleWriter(), length).put(0x8c, 0, 0x94); // memo 0: ""
  steps.repeat(Math.floor((size - STEPS_RESPONSE_BYTES - steps.length) / 2), [0x68, 0]);
  return stepsResponse(steps);
}
