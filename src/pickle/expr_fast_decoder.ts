/**
 * The server's fast path (issue 13): a request pickle read straight into an
 * {@linkcode Expr}, without first building the general unpickler's values
 * (dicts, instances, tuples) and converting them. It reads the layouts
 * CPython 3.11 writes for the course's classes at protocols 2–5: FRAME or
 * not, MEMOIZE or BINPUT, STACK_GLOBAL or GLOBAL, module `calculator` or
 * `api`, `Associativity` members by value or by name, `rand` with its
 * `random.Random`.
 *
 * It never has the last word on a refusal: whenever the bytes stray from
 * those layouts, or a limit might be reached, it returns undefined and
 * `decodeExpr` runs the general path (`decoder.ts`, then `expr_decoder.ts`),
 * whose tree or error is the answer. What it accepts is a part of what the
 * general path accepts, read to the same tree (objects shared alike) within
 * the same limits, with the same work counted (the general path's units for
 * the same opcodes):
 *
 * - the opcodes those layouts use, and nothing else;
 * - an object's one BUILD directly follows the SETITEM(S) that fill its
 *   fresh state dict with exactly its class's attributes
 *   (`COURSE_ATTRIBUTES`), each of them already built, so each object is
 *   read once, when it is built;
 * - the memo grows densely, and a state dict or an args list is never
 *   fetched from it (nothing read can change afterwards);
 * - NEWOBJ gets no arguments, a `random.Random` one state, before its
 *   `uniform` is used;
 * - the pickle is no longer than `maxValues` bytes;
 * - the pickle ends with the tree alone on the stack.
 *
 * @module
 */

import {
  BINARY_SYMBOLS,
  type BinarySymbol,
  call,
  constant,
  type ConstantName,
  type Expr,
  FUNCTION_NAMES,
  type FunctionName,
  type RandomState,
  type UnarySymbol,
} from "../calc/mod.ts";
import {
  BINARY_OPERATOR_ASSOCIATIVITY,
  BINARY_OPERATOR_FUNCTIONS,
  COURSE_ATTRIBUTES,
  COURSE_MODULE,
  type CourseClassName,
  FUNCTION_GLOBALS,
  type GlobalName,
  NAMED_CONSTANT_NAMES,
  UNARY_OPERATOR_FUNCTIONS,
} from "./course_model.ts";
import { RANDOM_STATE_WORK, randomStateOf, Refusal } from "./course_objects.ts";
import { ASSOCIATIVITY, type DAssociativity } from "./decoded_value.ts";
import { type DecodeStats, workBudget } from "./decode_work.ts";
import { type DGlobal, lookupGlobal } from "./globals_whitelist.ts";
import type { DecodeLimits } from "./limits.ts";
import { truncate } from "./truncate.ts";
import { decodeLong } from "./wire_ints.ts";
import { PickleInput } from "./pickle_input.ts";
import { HIGHEST_PROTOCOL } from "./opcodes.ts";
import { decodeUtf8 } from "./utf8.ts";

/**
 * Reads `data` as {@linkcode decodeExpr} would, when it is a pickle of the
 * layouts above; `stats`, when given, receives the work and budget then.
 * Returns undefined otherwise (`stats` untouched): the general path decides.
 */
export function decodeExprFast(
  data: Uint8Array,
  limits: DecodeLimits,
  stats?: DecodeStats,
): Expr | undefined {
  // Each value pushed takes an opcode, a byte at least: a pickle no longer
  // than maxValues cannot push more, and the pushes need no counting.
  if (data.length > limits.maxValues) return undefined;
  const reader = new FastReader(data, limits);
  try {
    const expr = reader.read();
    if (stats !== undefined) {
      stats.work = reader.work;
      stats.budget = reader.budget;
    }
    return expr;
  } catch (error: unknown) {
    if (error === UNUSUAL) return undefined;
    throw error;
  } finally {
    SLOTS[0] = SLOTS[1] = SLOTS[2] = null;
    // Emptied so that they hold on to nothing of this pickle between calls.
    truncate(scratchStack, 0);
    truncate(scratchMarks, 0);
    if (scratchMemo.length > MAX_REUSED_MEMO) scratchMemo = [];
    else truncate(scratchMemo, 0);
  }
}

/** A course class with attributes (not the enum `Associativity`). */
type ObjectClass = Exclude<CourseClassName, "Associativity">;

// The stack's objects are of classes, so that telling them apart is a
// prototype check (`instanceof`): reading a `kind` of objects of a dozen
// shapes is a slow, megamorphic load.

/** An object of a course class: made by NEWOBJ, then read when its BUILD comes. */
class CourseObject {
  readonly cls: ObjectClass;
  /** Its class's attributes (`COURSE_ATTRIBUTES`). */
  readonly names: readonly string[];
  built = false;
  /** An expression's tree, once built. */
  expr: Expr | undefined = undefined;
  /** The tree's height and node count (a shared sub-tree counted per use). */
  height = 0;
  size = 0;
  /** An operator's symbol, once built. */
  symbol: BinarySymbol | UnarySymbol | undefined = undefined;
  /** A `Function`'s name and, for `rand`, its state, once built. */
  fnName: FunctionName | undefined = undefined;
  random: RandomState | undefined = undefined;

  constructor(cls: ObjectClass) {
    this.cls = cls;
    this.names = COURSE_ATTRIBUTES[cls];
  }
}

/** A tuple. */
class Tuple {
  readonly items: readonly Item[];

  constructor(items: readonly Item[]) {
    this.items = items;
  }
}

/** A `FunctionCallExpr`'s args: built expressions only. */
class ArgsList {
  readonly items: CourseObject[] = [];
}

/** A fresh state dict: it only ever becomes an object's state at once. */
class StateDict {
  /** Its items go straight to its object. */
  readonly empty = true;
}

/** A `random.Random`; its state comes with its one BUILD. */
class RandomObject {
  state: RandomState | null = null;
}

/** `getattr(<random.Random>, 'uniform')`. */
class Uniform {
  readonly random: RandomObject;

  constructor(random: RandomObject) {
    this.random = random;
  }
}

/** A value on the fast path's stack. */
type Item =
  | null
  | boolean
  | bigint
  | number
  | string
  | DGlobal
  | DAssociativity
  | CourseObject
  | Tuple
  | ArgsList
  | StateDict
  | RandomObject
  | Uniform
  | ObjectClassRef;

/**
 * A class NEWOBJ makes objects of, as the fast path pushes its global: told
 * once per pickle, when the global is named, rather than at every object.
 */
class ObjectClassRef {
  readonly cls: ObjectClass;

  constructor(cls: ObjectClass) {
    this.cls = cls;
  }
}

/** The {@linkcode ObjectClassRef} of each (whitelisted) class global. */
const OBJECT_CLASSES: ReadonlyMap<DGlobal, ObjectClassRef> = new Map(
  (Object.keys(COURSE_ATTRIBUTES) as ObjectClass[]).map((cls) => [
    lookupGlobal(COURSE_MODULE, cls, HIGHEST_PROTOCOL) as DGlobal,
    new ObjectClassRef(cls),
  ]),
);
/** `calculator.Associativity`, which REDUCE and getattr make members of. */
const ASSOCIATIVITY_CLASS = lookupGlobal(COURSE_MODULE, "Associativity", HIGHEST_PROTOCOL);
const GETATTR = lookupGlobal("builtins", "getattr", HIGHEST_PROTOCOL);
const RANDOM_CLASS = lookupGlobal("random", "Random", HIGHEST_PROTOCOL);

/** Thrown (never an Error: no stack to capture) when the bytes are not what the fast path reads. */
const UNUSUAL: unique symbol = Symbol("unusual pickle");

function unusual(): never {
  throw UNUSUAL;
}

/** `()`, shared as in CPython. */
const EMPTY_TUPLE: Tuple = new Tuple(Object.freeze([]));
/** Every state dict: it holds nothing (its items go straight to its object). */
const STATE_DICT: StateDict = new StateDict();
/** BININT1's values, made once. */
const BYTE_INTS: readonly bigint[] = Array.from({ length: 256 }, (_, i) => BigInt(i));

/**
 * The stack, marks and memo, shared by every call (a call never awaits or
 * re-enters): growing new ones per pickle allocated half of what reading
 * one does.
 */
const scratchStack: Item[] = [];
const scratchMarks: number[] = [];
let scratchMemo: Item[] = [];
/** The largest memo kept for the next call. */
const MAX_REUSED_MEMO = 4096;
/** An object's attribute values, in its class's order while it is built. */
const SLOTS: Item[] = [null, null, null];

/** The one BUILD opcode that follows an object's SETITEM(S). */
const BUILD = 0x62;

class FastReader extends PickleInput {
  readonly #limits: DecodeLimits;
  readonly #stack: Item[] = scratchStack;
  readonly #marks: number[] = scratchMarks;
  /** The topmost mark (0 for none): no pop may cross it. */
  #fence = 0;
  readonly #memo: Item[] = scratchMemo;
  #protocol = 0;
  /** The work units of copies so far, and the most they may be (see decoder.ts). */
  #copyWork = 0;
  readonly #copyBudget: number;
  /** The most work units the pickle may take. */
  readonly budget: number;

  constructor(data: Uint8Array, limits: DecodeLimits) {
    super(data);
    this.#limits = limits;
    this.budget = workBudget(limits, data.length);
    this.#copyBudget = this.budget - data.length;
  }

  /** The work done: a unit per byte read, and the copies' units. */
  get work(): number {
    return this.pos + this.#copyWork;
  }

  read(): Expr {
    for (;;) {
      // Literal labels: V8 compiles them into a jump table (see decoder.ts).
      switch (this.u8()) {
        case 0x80 /* PROTO */:
          this.#proto(this.u8());
          break;
        case 0x95 /* FRAME */:
          this.need(this.u64());
          break;
        case 0x2e /* STOP */:
          return this.#stop();
        case 0x4e /* NONE */:
          this.#push(null);
          break;
        case 0x88 /* NEWTRUE */:
          this.#push(true);
          break;
        case 0x89 /* NEWFALSE */:
          this.#push(false);
          break;
        case 0x4b /* BININT1 */:
          this.#push(BYTE_INTS[this.u8()] as bigint);
          break;
        case 0x4d /* BININT2 */:
          this.#push(BigInt(this.u16()));
          break;
        case 0x4a /* BININT */:
          this.#push(BigInt(this.i32()));
          break;
        case 0x8a /* LONG1 */:
          this.#push(this.#long(this.u8()));
          break;
        case 0x8b /* LONG4 */:
          this.#push(this.#long(this.i32()));
          break;
        case 0x47 /* BINFLOAT */:
          this.#push(this.f64());
          break;
        case 0x8c /* SHORT_BINUNICODE */:
          this.#push(this.#str(this.u8()));
          break;
        case 0x58 /* BINUNICODE */:
          this.#push(this.#str(this.u32()));
          break;
        case 0x29 /* EMPTY_TUPLE */:
          this.#push(EMPTY_TUPLE);
          break;
        case 0x85 /* TUPLE1 */:
          this.#tuple(this.#stack.length - 1, false);
          break;
        case 0x86 /* TUPLE2 */:
          this.#tuple(this.#stack.length - 2, false);
          break;
        case 0x87 /* TUPLE3 */:
          this.#tuple(this.#stack.length - 3, false);
          break;
        case 0x74 /* TUPLE */:
          this.#tuple(this.#popMark(), true);
          break;
        case 0x5d /* EMPTY_LIST */:
          this.#push(new ArgsList());
          break;
        case 0x61 /* APPEND */:
          this.#append(this.#stack.length - 1, false);
          break;
        case 0x65 /* APPENDS */:
          this.#append(this.#popMark(), true);
          break;
        case 0x7d /* EMPTY_DICT */:
          this.#push(STATE_DICT);
          break;
        case 0x73 /* SETITEM */:
          this.#setState(this.#stack.length - 2);
          break;
        case 0x75 /* SETITEMS */:
          this.#setState(this.#popMark());
          break;
        case 0x28 /* MARK */:
          this.#marks.push(this.#fence = this.#stack.length);
          break;
        case 0x68 /* BINGET */:
          this.#memoGet(this.u8());
          break;
        case 0x6a /* LONG_BINGET */:
          this.#memoGet(this.u32());
          break;
        case 0x71 /* BINPUT */:
          this.#memoPut(this.u8());
          break;
        case 0x72 /* LONG_BINPUT */:
          this.#memoPut(this.u32());
          break;
        case 0x94 /* MEMOIZE */:
          this.#memoPut(this.#memo.length);
          break;
        case 0x93 /* STACK_GLOBAL */:
          this.#stackGlobal();
          break;
        case 0x63 /* GLOBAL */:
          this.#global(this.#asciiLine(), this.#asciiLine());
          break;
        case 0x81 /* NEWOBJ */:
          this.#newObject();
          break;
        case 0x52 /* REDUCE */:
          this.#reduce();
          break;
        case 0x62 /* BUILD */:
          this.#buildRandom();
          break;
        default:
          unusual();
      }
    }
  }

  // ------------------------------------------------------------ input

  protected override truncated(): never {
    unusual();
  }

  #long(size: number): bigint {
    if (size < 0 || size > this.#limits.maxIntBytes) unusual();
    this.need(size);
    const value = decodeLong(this.data, this.pos, size);
    this.pos += size;
    return value;
  }

  #str(size: number): string {
    this.need(size);
    const start = this.pos;
    this.pos += size;
    return decodeUtf8(this.data, start, this.pos) ?? unusual();
  }

  /** A line of GLOBAL: ASCII, where the general path's strict UTF-8 reads the same. */
  #asciiLine(): string {
    const line = this.line();
    for (let i = 0; i < line.length; i++) if ((line[i] as number) >= 0x80) unusual();
    return decodeUtf8(line) ?? unusual();
  }

  #proto(protocol: number): void {
    if (protocol > HIGHEST_PROTOCOL) unusual();
    this.#protocol = protocol;
  }

  // ------------------------------------------------------------ stack and memo

  #push(item: Item): void {
    this.#stack.push(item);
  }

  #pop(): Item {
    if (this.#stack.length <= this.#fence) unusual();
    return this.#stack.pop() as Item;
  }

  #top(): Item {
    if (this.#stack.length <= this.#fence) unusual();
    return this.#stack[this.#stack.length - 1] as Item;
  }

  /** Removes the topmost MARK and returns the stack height it marked. */
  #popMark(): number {
    const marks = this.#marks;
    const mark = marks.pop() ?? unusual();
    this.#fence = marks.length > 0 ? marks[marks.length - 1] as number : 0;
    return mark;
  }

  /** Counts `units` of copying (as the general path does); past the budget, the general path decides. */
  #charge(units: number): void {
    if ((this.#copyWork += units) > this.#copyBudget) unusual();
  }

  #memoPut(index: number): void {
    // Only as CPython writes it: each index once, in order.
    if (index !== this.#memo.length) unusual();
    this.#memo.push(this.#top());
  }

  #memoGet(index: number): void {
    const item = this.#memo[index];
    if (item === undefined || item === STATE_DICT || item instanceof ArgsList) unusual();
    this.#push(item);
  }

  #stop(): Expr {
    const stack = this.#stack;
    const root = stack[0];
    if (this.#marks.length > 0 || stack.length !== 1 || !isExpression(root)) unusual();
    return root.expr as Expr;
  }

  // ------------------------------------------------------------ containers

  /** TUPLE1..3 (`charged` false) or TUPLE: the items from stack height `from` up. */
  #tuple(from: number, charged: boolean): void {
    const stack = this.#stack;
    if (from < this.#fence) unusual();
    if (charged) this.#charge(stack.length - from);
    const items = stack.slice(from);
    truncate(stack, from);
    this.#push(new Tuple(items));
  }

  /** APPEND (`charged` false) or APPENDS: the items from `from` up go into the list below. */
  #append(from: number, charged: boolean): void {
    const stack = this.#stack;
    const list = from - 1 < this.#fence ? unusual() : stack[from - 1] as Item;
    if (!(list instanceof ArgsList)) unusual();
    if (charged) this.#charge(stack.length - from);
    for (let i = from; i < stack.length; i++) {
      const item = stack[i] as Item;
      if (!isExpression(item)) unusual();
      list.items.push(item);
    }
    truncate(stack, from);
  }

  /**
   * SETITEM(S) of an object's fresh state dict and the BUILD after them:
   * the object is read from its attributes at once.
   */
  #setState(from: number): void {
    const stack = this.#stack;
    if (from - 2 < this.#fence || stack[from - 1] !== STATE_DICT) unusual();
    if (this.data[this.pos] !== BUILD) unusual();
    const object = stack[from - 2] as Item;
    if (!(object instanceof CourseObject) || object.built) unusual();
    const names = object.names;
    const count = stack.length - from;
    if (count !== 2 * names.length) unusual();
    this.pos++;
    // The general path counts each item set in the dict, then in __dict__.
    this.#charge(2 * count);
    let seen = 0;
    for (let i = from, k = 0; i < stack.length; i += 2, k++) {
      const key = stack[i];
      // CPython writes them in the class's order; any other is looked up.
      const at = key === names[k] ? k : typeof key === "string" ? names.indexOf(key) : -1;
      if (at < 0 || (seen & (1 << at)) !== 0) unusual();
      seen |= 1 << at;
      SLOTS[at] = stack[i + 1] as Item;
    }
    truncate(stack, from - 1);
    buildObject(object, this.#limits);
  }

  // ------------------------------------------------------------ objects

  #stackGlobal(): void {
    const name = this.#pop();
    const module = this.#pop();
    if (typeof module !== "string" || typeof name !== "string") unusual();
    this.#global(module, name);
  }

  #global(module: string, name: string): void {
    const global = lookupGlobal(module, name, this.#protocol) ?? unusual();
    this.#push(OBJECT_CLASSES.get(global) ?? global);
  }

  /** NEWOBJ of a course class, with no arguments (as CPython writes it). */
  #newObject(): void {
    const args = this.#pop();
    const cls = this.#pop();
    if (!(cls instanceof ObjectClassRef) || !(args instanceof Tuple) || args.items.length > 0) {
      unusual();
    }
    this.#push(new CourseObject(cls.cls));
  }

  /** REDUCE: an `Associativity` member, a `random.Random()`, or a `getattr`. */
  #reduce(): void {
    const args = this.#pop();
    const callable = this.#pop();
    if (!(args instanceof Tuple)) unusual();
    const items = args.items;
    const [first, second] = items;
    if (callable === ASSOCIATIVITY_CLASS && items.length === 1) {
      this.#push(first === 0n ? ASSOCIATIVITY[0] : first === 1n ? ASSOCIATIVITY[1] : unusual());
    } else if (callable === RANDOM_CLASS && items.length === 0) {
      this.#push(new RandomObject());
    } else if (callable === GETATTR && items.length === 2) {
      if (first instanceof RandomObject && second === "uniform") {
        this.#push(new Uniform(first));
      } else if (first === ASSOCIATIVITY_CLASS && (second === "LEFT" || second === "RIGHT")) {
        this.#push(ASSOCIATIVITY[second === "LEFT" ? 0 : 1]);
      } else {
        unusual();
      }
    } else {
      unusual();
    }
  }

  /** BUILD of a `random.Random` (an object's BUILD is read with its state, above). */
  #buildRandom(): void {
    const state = this.#pop();
    const target = this.#top();
    if (!(target instanceof RandomObject) || target.state !== null) unusual();
    if (!(state instanceof Tuple)) unusual();
    this.#charge(RANDOM_STATE_WORK);
    const [version, internal, gauss] = state.items;
    if (state.items.length !== 3 || !(internal instanceof Tuple)) unusual();
    const made = randomStateOf(version, internal.items, gauss);
    target.state = made instanceof Refusal ? unusual() : made;
  }
}

/** Reads `object` from its attribute values in {@linkcode SLOTS}, as the general path checks them. */
function buildObject(object: CourseObject, limits: DecodeLimits): void {
  const [first, second, third] = SLOTS as [Item, Item, Item];
  switch (object.cls) {
    case "Constant":
      if (typeof first !== "bigint" && typeof first !== "number" && typeof first !== "boolean") {
        unusual();
      }
      setTree(object, constant(first), 0, 0, limits);
      break;
    case "NamedConstant":
      if (typeof first !== "string" || !NAMED_CONSTANT_NAMES.has(first)) unusual();
      if (typeof second !== "number") unusual();
      setTree(object, { kind: "named", name: first as ConstantName, value: second }, 0, 0, limits);
      break;
    case "BinaryExpr": {
      const left = expression(first);
      const right = expression(third);
      const expr: Expr = {
        kind: "binary",
        operator: part(second, "BinaryOperator").symbol as BinarySymbol,
        left: left.expr as Expr,
        right: right.expr as Expr,
      };
      setTree(object, expr, Math.max(left.height, right.height), left.size + right.size, limits);
      break;
    }
    case "UnaryExpr": {
      const operand = expression(second);
      const operator = part(first, "UnaryOperator").symbol as UnarySymbol;
      const expr: Expr = { kind: "unary", operator, operand: operand.expr as Expr };
      setTree(object, expr, operand.height, operand.size, limits);
      break;
    }
    case "FunctionCallExpr":
      buildCall(object, part(first, "Function"), second, limits);
      break;
    default:
      buildPart(object, first, second, third);
  }
  object.built = true;
}

function buildCall(
  object: CourseObject,
  fn: CourseObject,
  args: Item,
  limits: DecodeLimits,
): void {
  if (!(args instanceof ArgsList)) unusual();
  const items = args.items;
  const exprs: Expr[] = [];
  let height = 0;
  let size = 0;
  for (let i = 0; i < items.length; i++) {
    const arg = items[i] as CourseObject;
    exprs.push(arg.expr as Expr);
    height = Math.max(height, arg.height);
    size += arg.size;
  }
  setTree(object, call(fn.fnName as FunctionName, exprs, fn.random), height, size, limits);
}

/** Reads an operator or a `Function`: the parts of an expression. */
function buildPart(object: CourseObject, first: Item, second: Item, third: Item): void {
  switch (object.cls) {
    case "BinaryOperator": {
      if (typeof first !== "string" || !(BINARY_SYMBOLS as readonly string[]).includes(first)) {
        unusual();
      }
      const symbol = first as BinarySymbol;
      checkGlobal(second, BINARY_OPERATOR_FUNCTIONS[symbol]);
      if (third !== ASSOCIATIVITY[BINARY_OPERATOR_ASSOCIATIVITY[symbol]]) unusual();
      object.symbol = symbol;
      break;
    }
    case "UnaryOperator":
      if (first !== "-" && first !== "+") unusual();
      checkGlobal(second, UNARY_OPERATOR_FUNCTIONS[first]);
      object.symbol = first;
      break;
    default: {
      if (typeof first !== "string" || !(FUNCTION_NAMES as readonly string[]).includes(first)) {
        unusual();
      }
      const name = first as FunctionName;
      if (name === "rand") {
        if (!(second instanceof Uniform) || second.random.state === null) unusual();
        object.random = second.random.state;
      } else {
        checkGlobal(second, FUNCTION_GLOBALS[name]);
      }
      object.fnName = name;
    }
  }
}

/** Sets an expression's tree, one level above children of `height` and `size` in all. */
function setTree(
  object: CourseObject,
  expr: Expr,
  height: number,
  size: number,
  limits: DecodeLimits,
): void {
  object.height = height + 1;
  object.size = size + 1;
  if (object.height > limits.maxDepth || object.size > limits.maxNodes) unusual();
  object.expr = expr;
}

function expression(item: Item): CourseObject {
  return isExpression(item) ? item : unusual();
}

function part(item: Item, cls: ObjectClass): CourseObject {
  return item instanceof CourseObject && item.built && item.cls === cls ? item : unusual();
}

function checkGlobal(item: Item, expected: GlobalName): void {
  if (item !== lookupGlobal(expected[0], expected[1], HIGHEST_PROTOCOL)) unusual();
}

/** Whether `item` is a built expression. */
function isExpression(item: Item | undefined): item is CourseObject {
  return item instanceof CourseObject && item.expr !== undefined;
}
