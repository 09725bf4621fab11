/**
 * A safe unpickler: CPython's stack machine for the opcodes that protocols
 * 0–5 use to write the objects calcnet exchanges, and nothing more. Globals
 * resolve only through the whitelist, REDUCE / NEWOBJ / BUILD only build the
 * whitelisted objects (never calling anything), and every failure is a
 * one-line {@linkcode PickleError}: truncated data, an unknown or forbidden
 * opcode (PERSID, INST, OBJ, EXT*, bytes, sets, buffers…), a stack underflow,
 * a memo reference to nothing, or a limit exceeded. It never recurses, so
 * nesting cannot overflow the JS stack; work and memory are linear in the
 * input. The work is counted (a unit per byte read, so at least one per
 * opcode, and a unit per value copied) and bounded by `maxWorkPerByte`
 * units per byte of the pickle; the memo is a dense array no longer than
 * the pickle; big dicts are indexed by keys that cannot collide
 * (`key_index.ts`); a second BUILD of an object copies its attributes once,
 * not at every BUILD.
 *
 * Deliberate differences from CPython: the quoted STRING opcode of protocol 0
 * (which CPython 3 never writes for a str) is refused; APPEND, SETITEM and
 * friends never reach below the topmost MARK (CPython tolerates it, its
 * pickler never does it); dict keys compare as JS `Map` keys; INT and LONG
 * take plain decimal digits only. As in CPython, bytes after STOP are
 * ignored.
 *
 * @module
 */

import { callGlobal, newObject, NO_ATTRIBUTES, Refusal, STATE_SETTERS } from "./course_objects.ts";
import {
  type DDict,
  depthOf,
  describe,
  type DInstance,
  type DList,
  type DTuple,
  sameKey,
  SCANNED_KEYS,
  setPair,
  type Value,
} from "./decoded_value.ts";
import { PickleError } from "./errors.ts";
import { type DGlobal, globalNotAllowed, lookupGlobal } from "./globals_whitelist.ts";
import { type DecodeStats, workBudget, workBudgetError } from "./decode_work.ts";
import { containerDepthLimit, type DecodeLimits } from "./limits.ts";
import { truncate } from "./truncate.ts";
import { decodeLong } from "./wire_ints.ts";
import { PickleInput } from "./pickle_input.ts";
import { HIGHEST_PROTOCOL, Op } from "./opcodes.ts";
import { decodeUtf8 } from "./utf8.ts";

/**
 * Unpickles `data` into the decoder's values; `stats`, when given, receives
 * the work done and the budget (also when it throws).
 *
 * @throws {PickleError} for anything but a complete pickle of allowed objects within `limits`.
 */
export function unpickle(data: Uint8Array, limits: DecodeLimits, stats?: DecodeStats): Value {
  const unpickler = new Unpickler(data, limits);
  try {
    return unpickler.load();
  } finally {
    if (stats !== undefined) {
      stats.work = unpickler.work;
      stats.budget = unpickler.budget;
    }
    // Emptied so that they hold on to nothing of this pickle between calls.
    scratchStack.length = 0;
    scratchMarks.length = 0;
    // A big memo is not worth keeping.
    if (scratchMemo.length > MAX_REUSED_MEMO) scratchMemo = [];
    else scratchMemo.length = 0;
  }
}

/**
 * The stack, marks and memo, shared by every call: unpickling is synchronous
 * and never re-entered, and reusing them saves allocating and growing three
 * arrays per request.
 */
const scratchStack: Value[] = [];
const scratchMarks: number[] = [];
/** Never sparse: an index past the end fills the gap with `undefined` (it is bounded). */
let scratchMemo: (Value | undefined)[] = [];
/** The largest memo kept for the next call. */
const MAX_REUSED_MEMO = 4096;

const TRUNCATED = "pickle data was truncated";
const UNDERFLOW = "unpickling stack underflow";

/** Decimal digits of the largest int `maxIntBytes` allows (log10(256) ≈ 2.41 per byte). */
function maxDigits(maxIntBytes: number): number {
  return Math.ceil(maxIntBytes * 8 * Math.log10(2)) + 1;
}

/** `()`, a singleton as in CPython; shared, as nothing changes a tuple. */
const EMPTY_TUPLE: DTuple = Object.freeze({ kind: "tuple", items: Object.freeze([]), depth: 1 });

/** One more than the largest opcode byte. */
const OPCODE_COUNT = 256;

/** BININT1's values, made once: a BigInt per int pushed is a needless allocation. */
const BYTE_INTS: readonly bigint[] = Array.from({ length: 256 }, (_, i) => BigInt(i));

const DECIMAL_INT = /^[+-]?[0-9]+$/;
// No two parts can match the same digits, so matching stays linear on hostile input.
const PY_FLOAT =
  /^[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)$/i;
const PY_FLOAT_SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;

class Unpickler extends PickleInput {
  readonly #limits: DecodeLimits;
  readonly #maxContainerDepth: number;
  readonly #stack: Value[] = scratchStack;
  /** Stack heights at each MARK. */
  readonly #marks: number[] = scratchMarks;
  /**
   * The topmost of the marks (0 for none): the fence pops may not cross,
   * kept in a field as every pop checks it.
   */
  #fence = 0;
  /**
   * The memo: an array, as indices are dense in practice. An index is
   * refused from the pickle's length up (each put takes a byte, so a real
   * pickle never gets there), and a gap below is filled, so that it stays
   * a small dense array.
   */
  readonly #memo: (Value | undefined)[] = scratchMemo;
  #memoCount = 0;
  /** The opcode being run, for messages. */
  #opStart = 0;
  #protocol = 0;
  #pushes = 0;
  /** The most work units this pickle may take (see `maxWorkPerByte`). */
  readonly budget: number;
  /**
   * The units left for copies. Reading costs a unit per byte, so it is
   * counted by the position (no count per opcode) and the whole input's
   * share is set aside: reading and copying together never exceed `budget`.
   */
  #copyWorkLeft: number;

  constructor(data: Uint8Array, limits: DecodeLimits) {
    super(data);
    this.#limits = limits;
    this.#maxContainerDepth = containerDepthLimit(limits);
    this.budget = workBudget(limits, data.length);
    this.#copyWorkLeft = this.budget - data.length;
  }

  /** The work units spent so far; never more than `budget`. */
  get work(): number {
    return this.pos + (this.budget - this.data.length - this.#copyWorkLeft);
  }

  /**
   * What each opcode does (STOP aside, which ends the loop): a flat table,
   * one line per opcode; an opcode without an entry is refused.
   */
  static readonly #OPS: readonly (((u: Unpickler) => void) | undefined)[] = opcodeTable({
    [Op.PROTO]: (u) => u.#proto(u.u8()),
    // CPython only checks that the frame's bytes are there.
    [Op.FRAME]: (u) => u.need(u.u64()),
    [Op.NONE]: (u) => u.#push(null),
    [Op.NEWTRUE]: (u) => u.#push(true),
    [Op.NEWFALSE]: (u) => u.#push(false),
    [Op.BININT1]: (u) => u.#push(BYTE_INTS[u.u8()] as bigint),
    [Op.BININT2]: (u) => u.#push(BigInt(u.u16())),
    [Op.BININT]: (u) => u.#push(BigInt(u.i32())),
    [Op.LONG1]: (u) => u.#push(u.#long(u.u8())),
    [Op.LONG4]: (u) => u.#push(u.#long4()),
    [Op.INT]: (u) => u.#push(u.#int(u.#asciiLine())),
    [Op.LONG]: (u) => u.#push(u.#decimalLong(u.#asciiLine())),
    [Op.BINFLOAT]: (u) => u.#push(u.f64()),
    [Op.FLOAT]: (u) => u.#push(u.#textFloat(u.#asciiLine())),
    [Op.SHORT_BINUNICODE]: (u) => u.#push(u.#utf8(u.u8())),
    [Op.BINUNICODE]: (u) => u.#push(u.#utf8(u.u32())),
    [Op.BINUNICODE8]: (u) => u.#push(u.#utf8(u.u64())),
    [Op.UNICODE]: (u) => u.#push(u.#rawUnicodeEscape(u.line())),
    [Op.SHORT_BINSTRING]: (u) => u.#push(u.#python2Str(u.u8())),
    [Op.BINSTRING]: (u) => u.#push(u.#python2Str(u.u32())),
    [Op.EMPTY_TUPLE]: (u) => u.#push(EMPTY_TUPLE),
    [Op.TUPLE1]: (u) => u.#push(u.#tuple(u.#popItems(1))),
    [Op.TUPLE2]: (u) => u.#push(u.#tuple(u.#popItems(2))),
    [Op.TUPLE3]: (u) => u.#push(u.#tuple(u.#popItems(3))),
    [Op.TUPLE]: (u) => u.#push(u.#tuple(u.#popMark())),
    [Op.EMPTY_LIST]: (u) => u.#push({ kind: "list", items: [], depth: 1 }),
    [Op.LIST]: (u) => u.#push(u.#list(u.#popMark())),
    [Op.APPEND]: (u) => u.#append(),
    [Op.APPENDS]: (u) => u.#appends(u.#popMarkIndex()),
    [Op.EMPTY_DICT]: (u) => u.#push(newDict()),
    [Op.DICT]: (u) => u.#dict(),
    // Both stay on the stack while #setItems reads them.
    [Op.SETITEM]: (u) => u.#setItems(u.#aboveFence(2)),
    [Op.SETITEMS]: (u) => u.#setItems(u.#popMarkIndex()),
    [Op.MARK]: (u) => u.#marks.push(u.#fence = u.#stack.length),
    [Op.POP]: (u) => u.#popOp(),
    [Op.POP_MARK]: (u) => truncate(u.#stack, u.#popMarkIndex()),
    [Op.DUP]: (u) => u.#push(u.#top()),
    [Op.BINGET]: (u) => u.#push(u.#memoGet(u.u8())),
    [Op.LONG_BINGET]: (u) => u.#push(u.#memoGet(u.u32())),
    [Op.GET]: (u) => u.#push(u.#memoGet(u.#memoIndexLine())),
    [Op.BINPUT]: (u) => u.#memoPut(u.u8()),
    [Op.LONG_BINPUT]: (u) => u.#memoPut(u.u32()),
    [Op.PUT]: (u) => u.#memoPut(u.#memoIndexLine()),
    // CPython's MEMOIZE index is the number of memo entries so far.
    [Op.MEMOIZE]: (u) => u.#memoPut(u.#memoCount),
    [Op.STACK_GLOBAL]: (u) => u.#stackGlobal(),
    [Op.GLOBAL]: (u) => u.#push(u.#resolve(u.#strictUtf8(u.line()), u.#strictUtf8(u.line()))),
    [Op.NEWOBJ]: (u) => u.#newObjectOp(false),
    [Op.NEWOBJ_EX]: (u) => u.#newObjectOp(true),
    [Op.REDUCE]: (u) => u.#reduceOp(),
    [Op.BUILD]: (u) => u.#buildOp(),
  });

  load(): Value {
    const data = this.data;
    const ops = Unpickler.#OPS;
    for (;;) {
      if (this.pos >= data.length) throw this.#error(TRUNCATED);
      this.#opStart = this.pos;
      const op = data[this.pos++] as number;
      if (op === Op.STOP) return this.#pop();
      const run = ops[op];
      if (run === undefined) throw this.#error(`unsupported opcode ${opcodeName(op)}`);
      run(this);
    }
  }

  #proto(protocol: number): void {
    if (protocol > HIGHEST_PROTOCOL) throw this.#error(`unsupported pickle protocol: ${protocol}`);
    this.#protocol = protocol;
  }

  #long4(): bigint {
    const size = this.i32();
    if (size < 0) throw this.#error("LONG pickle has negative byte count");
    return this.#long(size);
  }

  /** INT's text: protocol 0 writes True and False as I01 and I00. */
  #int(text: string): bigint | boolean {
    const small = Number(text);
    if (text.length === 2 && DECIMAL_INT.test(text) && (small === 0 || small === 1)) {
      return small === 1;
    }
    return this.#decimalInt(text);
  }

  /** LONG's text: decimal digits, with Python 2's `L` or not. */
  #decimalLong(text: string): bigint {
    return this.#decimalInt(text.endsWith("L") ? text.slice(0, -1) : text);
  }

  /** The stack height `count` values below the top, which must be above the topmost mark. */
  #aboveFence(count: number): number {
    const from = this.#stack.length - count;
    if (from <= this.#fence) throw this.#error(UNDERFLOW);
    return from;
  }

  /** The top `count` values, popped. */
  #popItems(count: number): Value[] {
    const stack = this.#stack;
    const from = stack.length - count;
    if (from < this.#fence) throw this.#error(UNDERFLOW);
    const items = stack.slice(from);
    truncate(stack, from);
    return items;
  }

  #append(): void {
    const item = this.#pop();
    const target = this.#top();
    if (!isKind(target, "list")) throw this.#error(`cannot append to ${describe(target)}`);
    this.#appendItem(target, item);
  }

  #dict(): void {
    const dict = newDict();
    this.#setItemsOf(dict, this.#popMarkIndex());
    this.#push(dict);
  }

  /** POP; as in CPython, which keeps marks apart from the stack, right after a MARK it drops the mark. */
  #popOp(): void {
    if (this.#marks.length > 0 && this.#fence === this.#stack.length) {
      this.#popMarkIndex();
    } else {
      this.#pop();
    }
  }

  #stackGlobal(): void {
    const name = this.#pop();
    const module = this.#pop();
    if (typeof module !== "string" || typeof name !== "string") {
      throw this.#error("STACK_GLOBAL requires str");
    }
    this.#push(this.#resolve(module, name));
  }

  /** NEWOBJ, or NEWOBJ_EX (`withKeywords`), whose keywords must be a dict and are ignored. */
  #newObjectOp(withKeywords: boolean): void {
    const kwargs = withKeywords ? this.#pop() : null;
    const args = this.#pop();
    if (withKeywords && !isKind(kwargs, "dict")) {
      throw this.#error("NEWOBJ_EX kwargs is not a dict");
    }
    this.#push(this.#newObject(this.#pop(), args));
  }

  #reduceOp(): void {
    const args = this.#pop();
    this.#push(this.#reduce(this.#pop(), args));
  }

  #buildOp(): void {
    const state = this.#pop();
    this.#build(this.#top(), state);
  }

  #error(message: string): PickleError {
    return new PickleError(`${message} (opcode at byte ${this.#opStart})`);
  }

  /**
   * Counts `units` of copying; past the budget, a PickleError instead (the
   * work refused is not done, but for the one dict key {@linkcode setPair}
   * just indexed).
   */
  #charge(units: number): void {
    if (units > this.#copyWorkLeft) throw this.#overBudget();
    this.#copyWorkLeft -= units;
  }

  #overBudget(): PickleError {
    return this.#error(workBudgetError(this.#limits, this.data.length).message);
  }

  // ------------------------------------------------------------ input

  protected override truncated(): never {
    throw this.#error(TRUNCATED);
  }

  #bytes(count: number): Uint8Array {
    this.need(count);
    const bytes = this.data.subarray(this.pos, this.pos + count);
    this.pos += count;
    return bytes;
  }

  #asciiLine(): string {
    const line = this.line();
    if (line.length === 0) throw this.#error(TRUNCATED);
    return this.#ascii(line, "non-ASCII byte in a text opcode");
  }

  /** `bytes` as ASCII text; a byte from 0x80 up is a PickleError with `message`. */
  #ascii(bytes: Uint8Array, message: string): string {
    let text = "";
    for (const byte of bytes) {
      if (byte >= 0x80) throw this.#error(message);
      text += String.fromCharCode(byte);
    }
    return text;
  }

  // ------------------------------------------------------------ scalars

  /** LONG1 / LONG4: a little-endian two's-complement body of `size` bytes. */
  #long(size: number): bigint {
    if (size > this.#limits.maxIntBytes) {
      throw this.#error(`int of ${size} bytes exceeds the limit of ${this.#limits.maxIntBytes}`);
    }
    this.need(size);
    const value = decodeLong(this.data, this.pos, size);
    this.pos += size;
    return value;
  }

  #decimalInt(text: string): bigint {
    if (!DECIMAL_INT.test(text)) throw this.#error("could not convert string to int");
    if (text.length > maxDigits(this.#limits.maxIntBytes)) {
      throw this.#error(
        `int of ${text.length} digits exceeds the limit of ${this.#limits.maxIntBytes} bytes`,
      );
    }
    return BigInt(text);
  }

  /** FLOAT's text, as CPython's `PyOS_string_to_double` reads it. */
  #textFloat(text: string): number {
    if (!PY_FLOAT.test(text)) throw this.#error("could not convert string to float");
    if (PY_FLOAT_SPECIAL.test(text)) {
      const lower = text.toLowerCase();
      if (lower.endsWith("nan")) return NaN;
      return lower.startsWith("-") ? -Infinity : Infinity;
    }
    const value = Number(text);
    // CPython refuses a finite literal that overflows.
    if (!Number.isFinite(value)) throw this.#error("float out of range");
    return value;
  }

  #utf8(size: number): string {
    this.need(size);
    const start = this.pos;
    this.pos += size;
    const text = decodeUtf8(this.data, start, this.pos);
    if (text === undefined) throw this.#error("str is not valid UTF-8");
    return text;
  }

  /** GLOBAL's names: strict UTF-8, as CPython decodes them. */
  #strictUtf8(bytes: Uint8Array): string {
    const text = decodeUtf8(bytes);
    if (text === undefined || /[\ud800-\udfff]/.test(text)) {
      throw this.#error("global name is not valid UTF-8");
    }
    return text;
  }

  /** SHORT_BINSTRING / BINSTRING: a Python 2 str, decoded as ASCII as CPython does by default. */
  #python2Str(size: number): string {
    return this.#ascii(this.#bytes(size), "Python 2 str is not ASCII");
  }

  /** UNICODE: `raw-unicode-escape`, where \uXXXX and \UXXXXXXXX escape after an odd run of backslashes. */
  #rawUnicodeEscape(bytes: Uint8Array): string {
    let text = "";
    let i = 0;
    while (i < bytes.length) {
      const byte = bytes[i] as number;
      if (byte !== 0x5c) {
        text += String.fromCharCode(byte);
        i++;
        continue;
      }
      let run = 0;
      while (i < bytes.length && bytes[i] === 0x5c) {
        run++;
        i++;
      }
      const marker = bytes[i];
      if (run % 2 === 0 || (marker !== 0x75 && marker !== 0x55)) {
        text += "\\".repeat(run);
        continue;
      }
      text += "\\".repeat(run - 1);
      const digits = marker === 0x75 ? 4 : 8;
      const hex = String.fromCharCode(...bytes.subarray(i + 1, i + 1 + digits));
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== digits) {
        throw this.#error("truncated \\uXXXX escape in a str");
      }
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) throw this.#error("\\Uxxxxxxxx out of range in a str");
      text += String.fromCodePoint(code);
      i += 1 + digits;
    }
    return text;
  }

  // ------------------------------------------------------------ stack

  #push(value: Value): void {
    if (++this.#pushes > this.#limits.maxValues) {
      throw this.#error(`pickle makes more than ${this.#limits.maxValues} values`);
    }
    this.#stack.push(value);
  }

  #pop(): Value {
    if (this.#stack.length <= this.#fence) throw this.#error(UNDERFLOW);
    return this.#stack.pop() as Value;
  }

  #top(): Value {
    if (this.#stack.length <= this.#fence) throw this.#error(UNDERFLOW);
    return this.#stack[this.#stack.length - 1] as Value;
  }

  /** Removes the topmost MARK and returns the values above it. */
  #popMark(): Value[] {
    const mark = this.#popMarkIndex();
    const stack = this.#stack;
    this.#charge(stack.length - mark);
    // slice and truncate: cheaper than splice, which also builds its result.
    const items = stack.slice(mark);
    truncate(stack, mark);
    return items;
  }

  /**
   * Removes the topmost MARK and returns the stack height it marked, leaving
   * the values above it for the caller to take in place (no array of them).
   */
  #popMarkIndex(): number {
    const marks = this.#marks;
    const mark = marks.pop();
    if (mark === undefined) throw this.#error("could not find MARK");
    this.#fence = marks.length > 0 ? marks[marks.length - 1] as number : 0;
    return mark;
  }

  #memoIndexLine(): number {
    const text = this.#asciiLine();
    if (!/^[0-9]{1,10}$/.test(text)) throw this.#error("invalid memo index");
    return Number(text);
  }

  #memoPut(index: number): void {
    const value = this.#top();
    const memo = this.#memo;
    if (index === memo.length) {
      // MEMOIZE's case: appending keeps the array dense (and skips a read past its end).
      memo.push(value);
      this.#memoCount++;
      return;
    }
    if (index > memo.length) {
      if (index >= this.data.length) {
        throw this.#error(
          `memo index ${index} is beyond what a pickle of ${this.data.length} bytes can hold`,
        );
      }
      this.#charge(index - memo.length);
      while (memo.length < index) memo.push(undefined);
      memo.push(value);
      this.#memoCount++;
      return;
    }
    if (memo[index] === undefined) this.#memoCount++;
    memo[index] = value;
  }

  #memoGet(index: number): Value {
    const value = this.#memo[index];
    if (value === undefined) throw this.#error(`memo has nothing at index ${index}`);
    return value;
  }

  // ------------------------------------------------------------ containers

  /** The depth of a container holding `child`, checked against the limit. */
  #nest(depth: number, child: Value): number {
    const nested = Math.max(depth, depthOf(child) + 1);
    if (nested > this.#maxContainerDepth) throw this.#tooDeep();
    return nested;
  }

  #tooDeep(): PickleError {
    return this.#error(`objects nested deeper than ${this.#maxContainerDepth} levels`);
  }

  #tuple(items: readonly Value[]): DTuple {
    let depth = 1;
    for (let i = 0; i < items.length; i++) depth = this.#nest(depth, items[i] as Value);
    return { kind: "tuple", items, depth };
  }

  #list(items: Value[]): DList {
    let depth = 1;
    for (let i = 0; i < items.length; i++) depth = this.#nest(depth, items[i] as Value);
    return { kind: "list", items, depth };
  }

  #appendItem(target: DList, item: Value): void {
    target.depth = this.#nest(target.depth, item);
    target.items.push(item);
  }

  /** APPENDS: the values from stack height `from` up go into the list below them. */
  #appends(from: number): void {
    const stack = this.#stack;
    // As #top() once the values are popped: the list must be above the fence.
    if (from <= this.#fence) throw this.#error(UNDERFLOW);
    const target = stack[from - 1] as Value;
    if (stack.length > from) {
      if (!isKind(target, "list")) throw this.#error(`cannot append to ${describe(target)}`);
      this.#charge(stack.length - from);
      for (let i = from; i < stack.length; i++) this.#appendItem(target, stack[i] as Value);
    }
    truncate(stack, from);
  }

  /** SETITEM(S): the keys and values from stack height `from` up go into the dict below them. */
  #setItems(from: number): void {
    // As #top() once the items are popped: the dict must be above the fence.
    if (from <= this.#fence) throw this.#error(UNDERFLOW);
    this.#setItemsOf(this.#stack[from - 1] as Value, from);
  }

  /** Puts the keys and values from stack height `from` up into `target`, and pops them. */
  #setItemsOf(target: Value, from: number): void {
    const stack = this.#stack;
    const end = stack.length;
    if (end === from) return;
    if ((end - from) % 2 !== 0) throw this.#error("odd number of items for SETITEMS");
    if (!isKind(target, "dict")) throw this.#error(`cannot set items of ${describe(target)}`);
    if (target.shared) {
      // Copied once until it is shared again, and that takes a BUILD.
      this.#charge(target.pairs.length + (target.index?.size ?? 0));
      target.pairs = target.pairs.slice();
      if (target.index !== undefined) target.index = new Map(target.index);
      target.shared = false;
    }
    this.#charge(end - from);
    let intKey = false;
    for (let i = from; i < end; i += 2) {
      const key = stack[i] as Value;
      if (isKind(key, "list") || isKind(key, "dict")) {
        throw this.#error(`unhashable dict key: ${describe(key)}`);
      }
      if (typeof key === "bigint") intKey = true;
      target.depth = this.#nest(this.#nest(target.depth, key), stack[i + 1] as Value);
    }
    if (
      target.pairs.length === 0 && end - from <= 2 * SCANNED_KEYS && !intKey &&
      !hasDuplicateKey(stack, from, end)
    ) {
      // A new dict's items in one go: an array of just their size, where
      // pushing them one by one would reserve room for 16 more. (Int keys
      // go to setPair, which indexes them rather than compare them.)
      target.pairs = stack.slice(from, end);
    } else {
      for (let i = from; i < end; i += 2) {
        this.#charge(setPair(target, stack[i] as Value, stack[i + 1] as Value));
      }
    }
    truncate(stack, from);
  }

  // ------------------------------------------------------------ objects

  #resolve(module: string, name: string): DGlobal {
    const global = lookupGlobal(module, name, this.#protocol);
    if (global === undefined) throw this.#error(globalNotAllowed(module, name));
    return global;
  }

  /** NEWOBJ: `cls.__new__(cls, *args)`, for the classes the table allows. */
  #newObject(cls: Value, args: Value): Value {
    if (!isKind(args, "tuple")) throw this.#error("NEWOBJ expected an arg tuple");
    if (!isKind(cls, "global")) throw this.#error(`cannot create ${describe(cls)} with NEWOBJ`);
    return this.#made(newObject(cls, args));
  }

  /** REDUCE: `callable(*args)`, for the few calls the table allows. */
  #reduce(callable: Value, args: Value): Value {
    if (!isKind(args, "tuple")) throw this.#error("REDUCE expected an argument tuple");
    if (!isKind(callable, "global")) {
      throw this.#error(`calling ${describe(callable)} is not allowed`);
    }
    return this.#made(callGlobal(callable, args));
  }

  /** What the table made, its nesting checked; a refusal is thrown. */
  #made(made: Value | Refusal): Value {
    if (made instanceof Refusal) throw this.#error(made.message);
    if (depthOf(made) > this.#maxContainerDepth) throw this.#tooDeep();
    return made;
  }

  /** BUILD: an update of `__dict__`, or the table's `__setstate__(state)`. */
  #build(target: Value, state: Value): void {
    if (isKind(target, "instance")) return this.#buildInstance(target, state);
    let refusal: Refusal | undefined;
    if (isKind(target, "random")) {
      this.#charge(STATE_SETTERS.random.work);
      refusal = STATE_SETTERS.random.set(target, state);
    } else if (isKind(target, "exception")) {
      this.#charge(STATE_SETTERS.exception.work);
      refusal = STATE_SETTERS.exception.set(target, state);
    } else {
      throw this.#error(`cannot BUILD ${describe(target)}`);
    }
    if (refusal !== undefined) throw this.#error(refusal.message);
  }

  #buildInstance(target: DInstance, state: Value): void {
    // A 2-tuple is (__dict__ state, slot state); both just set attributes
    // on these slot-less classes.
    if (isKind(state, "tuple") && state.items.length === 2) {
      this.#setAttributes(target, state.items[0] as Value);
      this.#setAttributes(target, state.items[1] as Value);
    } else {
      this.#setAttributes(target, state);
    }
  }

  /** One part of an object's state: a dict of attributes, or None. */
  #setAttributes(target: DInstance, part: Value): void {
    if (part === null) return;
    if (!isKind(part, "dict")) throw this.#error(`object state is ${describe(part)}, not a dict`);
    const pairs = part.pairs;
    this.#charge(pairs.length);
    for (let i = 0; i < pairs.length; i += 2) {
      if (typeof pairs[i] !== "string") throw this.#error("attribute name is not a str");
    }
    for (let i = 1; i < pairs.length; i += 2) {
      target.depth = this.#nest(target.depth, pairs[i] as Value);
    }
    if (target.attributes === NO_ATTRIBUTES) {
      // The common case, an object's one BUILD: share the dict's pairs.
      target.attributes = pairs;
      target.attributeIndex = part.index;
      part.shared = true;
    } else if (pairs.length > 0) {
      this.#mergeAttributes(target, pairs);
    }
  }

  /**
   * A later BUILD: the attributes become the object's own (copied once),
   * then each pair is set in place, as Python updates `__dict__`.
   */
  #mergeAttributes(target: DInstance, pairs: readonly Value[]): void {
    if (!target.ownsAttributes) {
      const index = target.attributeIndex;
      this.#charge(target.attributes.length + (index?.size ?? 0));
      target.attributes = target.attributes.slice();
      target.attributeIndex = index === undefined ? undefined : new Map(index);
      target.ownsAttributes = true;
    }
    // Owned: no one else sees these pairs and index.
    const own = { pairs: target.attributes as Value[], index: target.attributeIndex };
    for (let i = 0; i < pairs.length; i += 2) {
      this.#charge(setPair(own, pairs[i] as Value, pairs[i + 1] as Value));
    }
    target.attributeIndex = own.index;
  }
}

/** Whether the keys of the pairs in `items[from..end)` repeat one. */
function hasDuplicateKey(items: readonly Value[], from: number, end: number): boolean {
  for (let i = from + 2; i < end; i += 2) {
    for (let j = from; j < i; j += 2) {
      if (sameKey(items[i] as Value, items[j] as Value)) return true;
    }
  }
  return false;
}

/** A new, empty dict. */
function newDict(): DDict {
  return { kind: "dict", pairs: [], index: undefined, shared: false, depth: 1 };
}

/** The entries of `table` as an array indexed by opcode. */
function opcodeTable(
  table: Readonly<Record<number, (u: Unpickler) => void>>,
): readonly (((u: Unpickler) => void) | undefined)[] {
  const ops = new Array<((u: Unpickler) => void) | undefined>(OPCODE_COUNT).fill(undefined);
  for (const [op, run] of Object.entries(table)) ops[Number(op)] = run;
  return ops;
}

/** Narrows `value` to the decoder value of the given kind. */
export function isKind<K extends Exclude<Value, null | boolean | bigint | number | string>["kind"]>(
  value: Value,
  kind: K,
): value is Extract<Value, { readonly kind: K }> {
  return typeof value === "object" && value !== null && value.kind === kind;
}

const OPCODE_NAMES = new Map<number, string>(Object.entries(Op).map(([name, op]) => [op, name]));

function opcodeName(op: number): string {
  const hex = `0x${op.toString(16).padStart(2, "0")}`;
  const name = OPCODE_NAMES.get(op) ?? EXTRA_OPCODE_NAMES[op];
  return name === undefined ? hex : `${name} (${hex})`;
}

/** Opcodes calcnet never handles, named for clearer refusals. */
const EXTRA_OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x42: "BINBYTES",
  0x43: "SHORT_BINBYTES",
  0x8e: "BINBYTES8",
  0x8f: "EMPTY_SET",
  0x90: "ADDITEMS",
  0x91: "FROZENSET",
  0x96: "BYTEARRAY8",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
};
