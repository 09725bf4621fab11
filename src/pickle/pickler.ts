/**
 * A pickler that writes exactly what CPython 3.11's C `_pickle` writes for
 * `pickle.dumps(obj)` (protocol 4) when `obj` is the Python object the
 * {@linkcode PyObject} model describes.
 *
 * The rules it follows, each checked against python3 by the tests:
 *
 * - ints: BININT1 for 0..255, BININT2 for 256..65535, BININT for the rest of
 *   the signed 32-bit range, else LONG1 (LONG4 from 256 bytes) with the
 *   shortest two's-complement little-endian body.
 * - floats: BINFLOAT (big-endian); every NaN as Python's `float('nan')`.
 * - str: SHORT_BINUNICODE below 256 UTF-8 bytes, else BINUNICODE; a body of
 *   64 KiB or more is written outside any frame, as CPython does.
 * - the memo: MEMOIZE after every str, non-empty tuple, list, dict, global,
 *   instance and reduction; BINGET (LONG_BINGET from index 256) when the same
 *   object comes again. The empty tuple is never memoized. Which strs are
 *   the same object follows CPython (see py_object.ts): interned strs and
 *   singletons by value, a module's name once per module (and once more for
 *   the built-in types), a global's attribute name never.
 * - tuples of 1 to 3 items: TUPLE1..3, longer: MARK … TUPLE; lists: APPEND
 *   for one item, MARK … APPENDS in batches of 1000; dicts: SETITEM for one
 *   item, MARK … SETITEMS in batches of 1000 (a dict of a multiple of 1000
 *   items ends with an empty MARK SETITEMS, as CPython's loop does).
 * - framing: PROTO 4, then FRAME headers around the body, a new frame once a
 *   frame holds 64 KiB at the start of an object; a frame under 4 bytes
 *   loses its header.
 *
 * @module
 */

import { ByteWriter } from "./byte_writer.ts";
import { PickleError } from "./errors.ts";
import { Op } from "./opcodes.ts";
import type { PyGlobal, PyInstance, PyObject, PyReduce, PyTuple } from "./py_object.ts";
import { utf8Length } from "./utf8.ts";

/**
 * The deepest nesting of tuples, lists, dicts, instances and reductions
 * {@linkcode pickleDumps} follows (it recurses, so this bounds its stack):
 * beyond what CPython itself can pickle (its recursion limit stops it at a
 * few hundred levels), and half of what the JS stack was measured to hold in
 * the worst case (an instance whose list holds the next instance: about
 * 3,900 levels).
 */
export const PICKLE_MAX_DEPTH = 2000;

const FRAME_HEADER_SIZE = 9;
const FRAME_SIZE_MIN = 4;
const FRAME_SIZE_TARGET = 64 * 1024;
const BATCH_SIZE = 1000;
/** BINFLOAT of Python's `float('nan')`. */
const PY_NAN = new Uint8Array([Op.BINFLOAT, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]);

/**
 * `pickle.dumps(obj)` with CPython's default protocol 4, byte for byte,
 * after `headroom` zero bytes left for the caller (a packet's header).
 *
 * @throws {PickleError} for objects nested deeper than
 * {@linkcode PICKLE_MAX_DEPTH} levels.
 *
 * @example
 * ```ts
 * pickleDumps(pyTuple([6n, pyList([])])); // 80 04 95 07 00 … 4b 06 5d 94 86 94 2e
 * ```
 */
export function pickleDumps(obj: PyObject, headroom = 0): Uint8Array {
  return new Pickler(headroom).dump(obj);
}

/** What {@linkcode pickleNumberAndStrs} keeps of its buffer between calls. */
const SCRATCH_CAPACITY = 2 * FRAME_SIZE_TARGET;
/**
 * {@linkcode pickleNumberAndStrs}'s buffer, reused because allocating typed
 * arrays costs more than writing a typical answer; calls never overlap
 * (nothing in it awaits or calls back), and only the returned copy is new.
 */
let scratch = new ByteWriter(1024);

/**
 * `pickle.dumps((number, [strs…]))` for the server's `(result, steps)`
 * answer: the bytes {@linkcode pickleDumps} writes for
 * `pyTuple([number, pyList(strs)])`, without building the model or the
 * general pickler's memo maps, after `headroom` zero bytes (see
 * {@linkcode pickleDumps}). Returns undefined when the body would not stay
 * within one frame (the caller then takes the general path, which splits
 * frames as CPython does).
 */
export function pickleNumberAndStrs(
  number: bigint | number | boolean,
  strs: readonly string[],
  headroom = 0,
): Uint8Array | undefined {
  const out = scratch;
  out.length = 0;
  out.zeros(headroom);
  const start = headroom;
  out.byte2(Op.PROTO, 4);
  out.reserve(FRAME_HEADER_SIZE);
  out.length += FRAME_HEADER_SIZE;
  if (typeof number === "bigint") {
    writeInt(out, number);
  } else if (typeof number === "number") {
    writeFloat(out, number);
  } else {
    out.byte(number ? Op.NEWTRUE : Op.NEWFALSE);
  }
  writeStrList(out, strs);
  out.byte(Op.TUPLE2);
  out.byte2(Op.MEMOIZE, Op.STOP);
  // Below the target no save() would have ended the frame (a larger LONG or
  // str may have); the general pickler handles the rest.
  const frameSize = out.length - start - 2 - FRAME_HEADER_SIZE;
  let bytes: Uint8Array | undefined;
  if (frameSize < FRAME_SIZE_TARGET) {
    // The body always holds at least FRAME_SIZE_MIN bytes, so the frame keeps its header.
    out.bytes[start + 2] = Op.FRAME;
    out.view.setUint32(start + 3, frameSize, true);
    out.view.setUint32(start + 7, 0, true);
    bytes = out.toBytes();
  }
  // A huge answer must not keep its buffer alive.
  if (out.bytes.length > SCRATCH_CAPACITY) scratch = new ByteWriter(1024);
  return bytes;
}

/** The list `strs` as the first object memoized: a new list of new strs. */
function writeStrList(out: ByteWriter, strs: readonly string[]): void {
  out.byte2(Op.EMPTY_LIST, Op.MEMOIZE);
  // The list is memo 0; each new str takes the next index.
  let memoSize = 1;
  /** CPython's singleton strs ("" and one char below U+0100) are shared by value. */
  let singletons: Map<string, number> | undefined;
  const batched = strs.length > 1;
  for (let i = 0; i < strs.length; i++) {
    if (batched && i % BATCH_SIZE === 0) out.byte(Op.MARK);
    const text = strs[i] as string;
    const singleton = isLatin1Singleton(text);
    const index = singleton ? singletons?.get(text) : undefined;
    if (index !== undefined) {
      writeMemoGet(out, index);
    } else {
      // Steps are short ASCII as a rule: written in one pass over the text.
      if (!out.shortAscii(Op.SHORT_BINUNICODE, text)) {
        const size = utf8Length(text);
        if (size < 256) out.byte2(Op.SHORT_BINUNICODE, size);
        else out.opU32(Op.BINUNICODE, size);
        out.utf8(text, size);
      }
      out.byte(Op.MEMOIZE);
      if (singleton) (singletons ??= new Map()).set(text, memoSize);
      memoSize++;
    }
    if (batched && (i % BATCH_SIZE === BATCH_SIZE - 1 || i === strs.length - 1)) {
      out.byte(Op.APPENDS);
    }
  }
  if (strs.length === 1) out.byte(Op.APPEND);
}

/** Whether `text` is one of CPython's singleton strs: `""` or one char below U+0100. */
function isLatin1Singleton(text: string): boolean {
  return text.length === 0 || (text.length === 1 && text.charCodeAt(0) < 0x100);
}

/** BINGET, or LONG_BINGET from index 256: the memo entry `index` again. */
function writeMemoGet(out: ByteWriter, index: number): void {
  if (index < 256) out.byte2(Op.BINGET, index);
  else out.opU32(Op.LONG_BINGET, index);
}

/**
 * Writes an int as CPython does: BININT1 for 0..255, BININT2 to 65535,
 * BININT for the rest of the signed 32-bit range, else LONG1 / LONG4.
 */
function writeInt(out: ByteWriter, value: bigint): void {
  if (value >= 0n && value <= 0xffn) {
    out.byte2(Op.BININT1, Number(value));
  } else if (value >= 0n && value <= 0xffffn) {
    out.opU16(Op.BININT2, Number(value));
  } else if (value >= -0x8000_0000n && value <= 0x7fff_ffffn) {
    out.opU32(Op.BININT, Number(value));
  } else {
    writeLong(out, value);
  }
}

/** LONG1 / LONG4: the shortest two's-complement little-endian body. */
function writeLong(out: ByteWriter, value: bigint): void {
  // The body needs the magnitude's bits plus a sign bit; for a negative
  // value the magnitude to fit is -value - 1 (= ~value).
  const magnitude = (value < 0n ? ~value : value).toString(16);
  const bits = (magnitude.length - 1) * 4 +
    (32 - Math.clz32(parseInt(magnitude.charAt(0), 16)));
  const size = (bits >> 3) + 1;
  const body = BigInt.asUintN(size * 8, value).toString(16).padStart(size * 2, "0");
  if (size < 256) {
    out.byte2(Op.LONG1, size);
  } else {
    out.opU32(Op.LONG4, size);
  }
  out.reserve(size);
  for (let i = 0; i < size; i++) {
    const at = (size - 1 - i) * 2;
    out.bytes[out.length + i] = parseInt(body.slice(at, at + 2), 16);
  }
  out.length += size;
}

/** Writes a float as BINFLOAT; every NaN as Python's `float('nan')`. */
function writeFloat(out: ByteWriter, value: number): void {
  if (Number.isNaN(value)) {
    // JS NaNs carry no reliable sign or payload; write float('nan').
    out.append(PY_NAN);
    return;
  }
  out.opF64(Op.BINFLOAT, value);
}

function tooDeep(): PickleError {
  return new PickleError(`cannot pickle objects nested deeper than ${PICKLE_MAX_DEPTH} levels`);
}

class Pickler {
  readonly #out = new ByteWriter();
  readonly #headroom: number;
  /** Memo indices of objects, by identity. */
  readonly #memo = new Map<object, number>();
  /** Memo indices of interned strings. */
  readonly #interned = new Map<string, number>();
  /** Memo indices of CPython's singleton strs: `""` and one char below U+0100. */
  readonly #latin1Singletons = new Map<string, number>();
  /** Memo indices of module names: each module's `__name__` str. */
  readonly #moduleNames = new Map<string, number>();
  /** Memo indices of globals, by `module\nname`. */
  readonly #globals = new Map<string, number>();
  #memoSize = 0;
  #frameStart = 0;
  #depth = 0;

  constructor(headroom: number) {
    this.#headroom = headroom;
  }

  dump(obj: PyObject): Uint8Array {
    this.#out.zeros(this.#headroom);
    this.#out.byte2(Op.PROTO, 4);
    this.#startFrame();
    this.#save(obj);
    this.#out.byte(Op.STOP);
    this.#commitFrame();
    return this.#out.toBytes();
  }

  // CPython opens a frame lazily at the next write after a commit; a write
  // always follows at once, so opening it eagerly gives the same bytes.
  #startFrame(): void {
    this.#out.reserve(FRAME_HEADER_SIZE);
    this.#frameStart = this.#out.length;
    this.#out.length += FRAME_HEADER_SIZE;
  }

  #commitFrame(): void {
    const out = this.#out;
    const start = this.#frameStart;
    const size = out.length - start - FRAME_HEADER_SIZE;
    if (size >= FRAME_SIZE_MIN) {
      out.bytes[start] = Op.FRAME;
      out.view.setUint32(start + 1, size, true);
      out.view.setUint32(start + 5, 0, true);
    } else {
      out.bytes.copyWithin(start, start + FRAME_HEADER_SIZE, out.length);
      out.length -= FRAME_HEADER_SIZE;
    }
  }

  /**
   * CPython ends a frame that reached its target at the start of each
   * save(); this runs wherever CPython calls save(), also for the parts this
   * pickler writes without going through #save.
   */
  #boundary(): void {
    if (this.#out.length - this.#frameStart - FRAME_HEADER_SIZE >= FRAME_SIZE_TARGET) {
      this.#commitFrame();
      this.#startFrame();
    }
  }

  #save(obj: PyObject): void {
    this.#boundary();
    if (obj === null) {
      this.#out.byte(Op.NONE);
      return;
    }
    switch (typeof obj) {
      case "boolean":
        this.#out.byte(obj ? Op.NEWTRUE : Op.NEWFALSE);
        return;
      case "bigint":
        writeInt(this.#out, obj);
        return;
      case "number":
        writeFloat(this.#out, obj);
        return;
      case "string":
        this.#saveStr(obj, this.#singletons(obj));
        return;
    }
    switch (obj.kind) {
      case "interned":
        this.#saveStr(obj.value, this.#interned);
        return;
      case "global":
        this.#saveGlobal(obj);
        return;
    }
    const index = this.#memo.get(obj);
    if (index !== undefined) {
      this.#memoGet(index);
      return;
    }
    if (++this.#depth > PICKLE_MAX_DEPTH) throw tooDeep();
    switch (obj.kind) {
      case "tuple":
        this.#saveTuple(obj);
        break;
      case "list":
        this.#out.byte(Op.EMPTY_LIST);
        this.#memo.set(obj, this.#memoize());
        this.#appendItems(obj.items);
        break;
      case "dict":
        this.#out.byte(Op.EMPTY_DICT);
        this.#memo.set(obj, this.#memoize());
        this.#setItems(obj.entries, false);
        break;
      case "instance":
        this.#saveInstance(obj);
        break;
      case "reduce":
        this.#saveReduce(obj);
        break;
    }
    this.#depth--;
  }

  /** The singletons' map for `""` and one char below U+0100 (CPython's singletons), else none. */
  #singletons(text: string): Map<string, number> | undefined {
    return isLatin1Singleton(text) ? this.#latin1Singletons : undefined;
  }

  #memoize(): number {
    this.#out.byte(Op.MEMOIZE);
    return this.#memoSize++;
  }

  #memoGet(index: number): void {
    writeMemoGet(this.#out, index);
  }

  /** Writes a str; `shared` is the map of the strs it is shared by value with, if any. */
  #saveStr(text: string, shared: Map<string, number> | undefined): void {
    if (shared !== undefined) {
      const index = shared.get(text);
      if (index !== undefined) {
        this.#memoGet(index);
        return;
      }
    }
    const out = this.#out;
    const size = utf8Length(text);
    if (size < 256) {
      out.byte2(Op.SHORT_BINUNICODE, size);
      out.utf8(text, size);
    } else if (size < FRAME_SIZE_TARGET) {
      out.opU32(Op.BINUNICODE, size);
      out.utf8(text, size);
    } else {
      // A large body bypasses the frame (JS strings never need BINUNICODE8:
      // their UTF-8 is always under 4 GiB).
      this.#commitFrame();
      out.opU32(Op.BINUNICODE, size);
      out.utf8(text, size);
      this.#startFrame();
    }
    const index = this.#memoize();
    shared?.set(text, index);
  }

  #saveTuple(tuple: PyTuple): void {
    const items = tuple.items;
    const out = this.#out;
    if (items.length === 0) {
      out.byte(Op.EMPTY_TUPLE);
      return;
    }
    if (items.length <= 3) {
      for (const item of items) this.#save(item);
      out.byte(Op.TUPLE1 + items.length - 1);
    } else {
      out.byte(Op.MARK);
      for (const item of items) this.#save(item);
      out.byte(Op.TUPLE);
    }
    this.#memo.set(tuple, this.#memoize());
  }

  #appendItems(items: readonly PyObject[]): void {
    const out = this.#out;
    if (items.length === 1) {
      this.#save(items[0] as PyObject);
      out.byte(Op.APPEND);
      return;
    }
    let i = 0;
    while (i < items.length) {
      out.byte(Op.MARK);
      const end = Math.min(i + BATCH_SIZE, items.length);
      for (; i < end; i++) this.#save(items[i] as PyObject);
      out.byte(Op.APPENDS);
    }
  }

  /**
   * The items of a dict; `attributeKeys` when it is an instance's `__dict__`,
   * whose str keys are interned and so shared by value.
   */
  #setItems(entries: readonly (readonly [PyObject, PyObject])[], attributeKeys: boolean): void {
    const out = this.#out;
    if (entries.length === 0) return;
    if (entries.length === 1) {
      const [key, value] = entries[0] as readonly [PyObject, PyObject];
      this.#saveKey(key, attributeKeys);
      this.#save(value);
      out.byte(Op.SETITEM);
      return;
    }
    let i = 0;
    let batch: number;
    do {
      out.byte(Op.MARK);
      batch = 0;
      while (i < entries.length) {
        const [key, value] = entries[i++] as readonly [PyObject, PyObject];
        this.#saveKey(key, attributeKeys);
        this.#save(value);
        if (++batch === BATCH_SIZE) break;
      }
      out.byte(Op.SETITEMS);
    } while (batch === BATCH_SIZE);
  }

  #saveKey(key: PyObject, attributeKey: boolean): void {
    if (attributeKey && typeof key === "string") {
      this.#boundary();
      this.#saveStr(key, this.#interned);
    } else {
      this.#save(key);
    }
  }

  #saveGlobal(global: PyGlobal): void {
    const key = `${global.module}\n${global.name}`;
    const index = this.#globals.get(key);
    if (index !== undefined) {
      this.#memoGet(index);
      return;
    }
    // The module name is the module's own `__name__` object, the same for
    // every global of the module, or for a built-in type the interned str;
    // the attribute name is a new str (CPython takes it from `__qualname__`
    // or `__reduce__`).
    this.#boundary();
    this.#saveStr(
      global.module,
      global.builtinType === true ? this.#interned : this.#moduleNames,
    );
    this.#boundary();
    this.#saveStr(global.name, this.#singletons(global.name));
    this.#out.byte(Op.STACK_GLOBAL);
    this.#globals.set(key, this.#memoize());
  }

  #saveInstance(instance: PyInstance): void {
    const out = this.#out;
    this.#save(instance.cls);
    this.#boundary();
    out.byte(Op.EMPTY_TUPLE);
    out.byte(Op.NEWOBJ);
    this.#memo.set(instance, this.#memoize());
    // CPython's state is None for an empty __dict__: no BUILD at all.
    if (instance.attributes.length === 0) return;
    this.#boundary();
    out.byte(Op.EMPTY_DICT);
    this.#memoize();
    this.#setItems(instance.attributes, true);
    out.byte(Op.BUILD);
  }

  #saveReduce(reduction: PyReduce): void {
    this.#save(reduction.callable);
    this.#save(reduction.args);
    this.#out.byte(Op.REDUCE);
    this.#memo.set(reduction, this.#memoize());
    const state = reduction.state;
    if (state !== undefined && state !== null) {
      this.#save(state);
      this.#out.byte(Op.BUILD);
    }
  }
}
