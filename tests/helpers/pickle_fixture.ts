/**
 * Test helpers of the pickle layer: the JSON shapes that
 * `tests/fixtures/course_classes.py` reads and writes (described there), a
 * seeded random generator, and random expressions and Python values.
 *
 * @module
 */

import {
  BINARY_SYMBOLS,
  type ConstantName,
  type Expr,
  FUNCTION_NAMES,
  NAMED_CONSTANT_VALUES,
  type PyNumber,
  type RandomState,
} from "../../src/calc/expr.ts";
import { PyException } from "../../src/calc/py_exception.ts";
import {
  pyBuiltinType,
  pyDict,
  pyGlobal,
  pyInstance,
  pyInterned,
  pyList,
  type PyObject,
  pyReduce,
  pyTuple,
} from "../../src/pickle/mod.ts";
import { toHex } from "./bytes.ts";

// ---------------------------------------------------------------- bytes

/** Where two byte strings first differ, for readable failures. */
export function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const at = Math.floor(i / 2) * 2;
  return `bytes differ from offset ${at / 2}: ours …${a.slice(at, at + 40)}… CPython …${
    b.slice(at, at + 40)
  }…`;
}

// ---------------------------------------------------------------- numbers

/** A float as the fixture's 16 hex digits (big-endian IEEE, NaN as Python's). */
export function floatHex(value: number): string {
  if (Number.isNaN(value)) return "7ff8000000000000";
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  return toHex(new Uint8Array(view.buffer));
}

/** A JSON number of the fixture. */
export type NumberJson = { readonly int: string } | { readonly float: string } | {
  readonly bool: boolean;
};

/** A Python number as fixture JSON. */
export function numberJson(value: PyNumber): NumberJson {
  if (typeof value === "bigint") return { int: value.toString() };
  if (typeof value === "boolean") return { bool: value };
  return { float: floatHex(value) };
}

// ---------------------------------------------------------------- trees

/** A tree node of the fixture's JSON. */
export type TreeJson = { readonly [key: string]: unknown };

/** A tree of the fixture's JSON with its random states. */
export interface TreeDocument {
  readonly tree: TreeJson;
  readonly states: readonly unknown[];
}

/**
 * `expr` as the fixture's JSON: nodes numbered in preorder, a node met again
 * (the same JS object) as a reference, random states numbered by object.
 */
export function treeJson(expr: Expr): TreeDocument {
  const ids = new Map<Expr, number>();
  const stateIds = new Map<RandomState, number>();
  const states: unknown[] = [];
  const visit = (node: Expr): TreeJson => {
    const known = ids.get(node);
    if (known !== undefined) return { k: "ref", ref: known };
    const id = ids.size;
    ids.set(node, id);
    switch (node.kind) {
      case "constant":
        return { id, k: "const", v: numberJson(node.value) };
      case "named":
        return { id, k: "named", name: node.name, v: numberJson(node.value) };
      case "binary": {
        const left = visit(node.left);
        return { id, k: "bin", op: node.operator, l: left, r: visit(node.right) };
      }
      case "unary":
        return { id, k: "un", op: node.operator, x: visit(node.operand) };
      case "call": {
        const json: { [key: string]: unknown } = { id, k: "call", f: node.name };
        if (node.random !== undefined) {
          let stateId = stateIds.get(node.random);
          if (stateId === undefined) {
            stateId = states.length;
            stateIds.set(node.random, stateId);
            states.push({
              words: Array.from(node.random.words),
              index: node.random.index,
              gauss: node.random.gauss === null ? null : numberJson(node.random.gauss),
            });
          }
          json.state = stateId;
        }
        json.args = node.args.map(visit);
        return json;
      }
    }
  };
  return { tree: visit(expr), states };
}

/**
 * A fixture tree with every reference replaced by a copy of the node it
 * names and the ids dropped: what the tree means, whatever is shared.
 */
export function expandTree(tree: TreeJson): unknown {
  const byId = new Map<number, TreeJson>();
  const index = (node: TreeJson): void => {
    if (node.k === "ref") return;
    byId.set(node.id as number, node);
    for (const key of ["l", "r", "x"]) if (key in node) index(node[key] as TreeJson);
    for (const arg of (node.args ?? []) as TreeJson[]) index(arg);
  };
  index(tree);
  const expand = (node: TreeJson): unknown => {
    const target = node.k === "ref" ? byId.get(node.ref as number) as TreeJson : node;
    const out: { [key: string]: unknown } = {};
    for (const [key, value] of Object.entries(target)) {
      if (key === "id") continue;
      if (key === "l" || key === "r" || key === "x") out[key] = expand(value as TreeJson);
      else if (key === "args") out[key] = (value as TreeJson[]).map(expand);
      else out[key] = value;
    }
    return out;
  };
  return expand(tree);
}

// ---------------------------------------------------------------- randomness

/** A small seeded generator (sfc32), so that every run tests the same cases. */
export class SeededRandom {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.uint32();
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.uint32() / 2 ** 32) * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.uint32() / 2 ** 32 < p;
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** A random bigint of up to `bits` bits, either sign. */
  bigint(bits: number): bigint {
    let value = 0n;
    for (let i = 0; i < bits; i += 32) value = (value << 32n) | BigInt(this.uint32());
    value &= (1n << BigInt(this.int(bits) + 1)) - 1n;
    return this.chance(0.5) ? -value : value;
  }

  /** A random double: any bit pattern, a special value, or an ordinary one. */
  float(): number {
    switch (this.int(4)) {
      case 0:
        return this.pick([0, -0, Infinity, -Infinity, NaN, 5e-324, Number.MAX_VALUE, 0.1, 1e20]);
      case 1: {
        const view = new DataView(new ArrayBuffer(8));
        view.setUint32(0, this.uint32());
        view.setUint32(4, this.uint32());
        return view.getFloat64(0);
      }
      default:
        return (this.uint32() - 2 ** 31) / (this.int(1000) + 1);
    }
  }
}

/** The ints whose encodings change at a boundary, and their neighbours. */
export const INT_EDGES: readonly bigint[] = [
  0n,
  1n,
  -1n,
  255n,
  256n,
  -256n,
  65535n,
  65536n,
  -65536n,
  2n ** 31n - 1n,
  2n ** 31n,
  -(2n ** 31n),
  -(2n ** 31n) - 1n,
  2n ** 32n,
  -(2n ** 32n),
  -(2n ** 39n),
  -(2n ** 39n) - 1n,
  -128n * 2n ** 32n,
  2n ** 63n,
  -(2n ** 63n),
  -(2n ** 64n),
  2n ** 2039n - 1n,
  2n ** 2039n,
  -(2n ** 2039n),
  -(2n ** 2039n) - 1n,
  3n ** 2000n,
];

/** A random int, often at an encoding boundary. */
function randomInt(rng: SeededRandom): bigint {
  switch (rng.int(4)) {
    case 0:
      return rng.pick(INT_EDGES);
    case 1:
      return rng.bigint(rng.pick([8, 16, 32, 64, 200]));
    default:
      return BigInt(rng.int(300));
  }
}

/** A random Python number for a Constant. */
function randomNumber(rng: SeededRandom): PyNumber {
  switch (rng.int(5)) {
    case 0:
      return rng.chance(0.5);
    case 1:
    case 2:
      return rng.float();
    default:
      return randomInt(rng);
  }
}

/** A random `random.Random` state. */
export function randomState(rng: SeededRandom): RandomState {
  const words = new Uint32Array(624);
  for (let i = 0; i < 624; i++) words[i] = rng.uint32();
  return { words, index: rng.int(625), gauss: rng.chance(0.2) ? rng.float() : null };
}

/**
 * A random expression: every operator and function, named constants (now and
 * then with a value of their own), ints of all sizes, floats incl. -0.0, inf
 * and nan, bools, `rand` with one shared state (sometimes a second one), and
 * sub-trees used twice.
 */
export function randomExpr(rng: SeededRandom, maxDepth: number): Expr {
  const made: Expr[] = [];
  const states = [randomState(rng), randomState(rng)];
  const grow = (depth: number): Expr => {
    if (made.length > 0 && rng.chance(0.05)) return rng.pick(made);
    let node: Expr;
    if (depth >= maxDepth || rng.chance(0.25)) {
      if (rng.chance(0.15)) {
        const name = rng.pick<ConstantName>(["PI", "TAU", "E"]);
        node = {
          kind: "named",
          name,
          value: rng.chance(0.8) ? NAMED_CONSTANT_VALUES[name] : rng.float(),
        };
      } else {
        node = { kind: "constant", value: randomNumber(rng) };
      }
    } else {
      switch (rng.int(3)) {
        case 0:
          node = {
            kind: "binary",
            operator: rng.pick(BINARY_SYMBOLS),
            left: grow(depth + 1),
            right: grow(depth + 1),
          };
          break;
        case 1:
          node = {
            kind: "unary",
            operator: rng.pick(["-", "+"] as const),
            operand: grow(depth + 1),
          };
          break;
        default: {
          const name = rng.pick(FUNCTION_NAMES);
          const args = Array.from({ length: rng.int(5) }, () => grow(depth + 1));
          node = name === "rand"
            ? { kind: "call", name, args, random: rng.chance(0.9) ? states[0] : states[1] }
            : { kind: "call", name, args };
        }
      }
    }
    made.push(node);
    return node;
  };
  return grow(1);
}

// ---------------------------------------------------------------- Python values

/**
 * `value` as the fixture's generic JSON: JS objects met again become
 * references, so that CPython builds the same sharing.
 */
export function valueJson(value: PyObject): unknown {
  const ids = new Map<object, number>();
  const visit = (obj: PyObject): unknown => {
    if (obj === null) return ["none"];
    switch (typeof obj) {
      case "boolean":
        return ["bool", obj];
      case "bigint":
        return ["int", obj.toString()];
      case "number":
        return ["float", floatHex(obj)];
      case "string":
        return ["str", obj];
    }
    if (obj.kind === "interned") return ["istr", obj.value];
    if (obj.kind === "global") return ["global", obj.module, obj.name];
    const known = ids.get(obj);
    if (known !== undefined) return ["ref", known];
    const id = ids.size;
    ids.set(obj, id);
    let json: unknown;
    switch (obj.kind) {
      case "tuple":
        json = ["tuple", obj.items.map(visit)];
        break;
      case "list":
        json = ["list", obj.items.map(visit)];
        break;
      case "dict":
        json = ["dict", obj.entries.map(([k, v]) => [visit(k), visit(v)])];
        break;
      case "instance":
        json = ["obj", visit(obj.cls), obj.attributes.map(([k, v]) => [k, visit(v)])];
        break;
      case "reduce":
        json = [
          "reduce",
          visit(obj.callable),
          visit(obj.args),
          obj.state === undefined || obj.state === null ? null : visit(obj.state),
        ];
        break;
    }
    return ["id", id, json];
  };
  return visit(value);
}

const TEXTS = [
  "",
  "a",
  "+",
  "é",
  "\u00ff",
  "\u0100",
  "€",
  "\ud83d\ude00",
  "\ud800",
  "lone \udc00 low",
  "x".repeat(255),
  "x".repeat(256),
  "é".repeat(128),
  "steps = 1 + 2",
  "line\nbreak\\",
];

/**
 * A random str, shared by value or not. Never an interned single latin-1
 * character: whether CPython's interned one is its singleton depends on the
 * interpreter (see py_object.ts).
 */
function randomStr(rng: SeededRandom): PyObject {
  const text = rng.chance(0.7) ? rng.pick(TEXTS) : `s${rng.int(50)}`;
  const singleton = text.length <= 1 && (text.charCodeAt(0) || 0) < 0x100;
  return rng.chance(0.3) && !singleton ? pyInterned(text) : text;
}

/** Real globals CPython can pickle by name. */
const GLOBALS = [
  pyGlobal("builtins", "max"),
  pyGlobal("builtins", "getattr"),
  pyGlobal("math", "sin"),
  pyGlobal("_operator", "add"),
  pyGlobal("calculator", "Constant"),
  pyBuiltinType("ValueError"),
];

/**
 * A random Python value of the model: scalars, str (shared or not), tuples,
 * lists and dicts of every batching size, globals, instances, reductions
 * (a ValueError built by REDUCE), and objects used twice.
 */
export function randomValue(rng: SeededRandom, depth: number): PyObject {
  const made: PyObject[] = [];
  const grow = (level: number): PyObject => {
    if (made.length > 0 && rng.chance(0.08)) return rng.pick(made);
    if (level >= depth || rng.chance(0.3)) {
      switch (rng.int(6)) {
        case 0:
          return rng.pick([null, true, false]);
        case 1:
          return randomInt(rng);
        case 2:
          return rng.float();
        case 3:
          return rng.pick(GLOBALS);
        default:
          return randomStr(rng);
      }
    }
    const size = rng.chance(0.1) ? rng.pick([999, 1000, 1001, 2000]) : rng.int(6);
    const items = (count: number): PyObject[] =>
      Array.from({ length: count }, () => grow(count > 10 ? depth : level + 1));
    let obj: PyObject;
    switch (rng.int(6)) {
      case 0:
        obj = pyTuple(items(size));
        break;
      case 1:
        obj = pyList(items(size));
        break;
      case 2:
        obj = pyDict(
          Array.from({ length: size }, (_, i) => [`k${i}`, grow(size > 10 ? depth : level + 1)]),
        );
        break;
      case 3:
        obj = pyInstance(
          pyGlobal("calculator", "Constant"),
          Array.from({ length: rng.int(3) }, (_, i) => [`attr${i}`, grow(level + 1)]),
        );
        break;
      case 4:
        obj = pyReduce(
          pyBuiltinType("ValueError"),
          pyTuple(items(rng.int(3))),
          rng.chance(0.3) ? pyDict([[pyInterned("note"), grow(level + 1)]]) : undefined,
        );
        break;
      default:
        obj = pyList(items(size));
    }
    made.push(obj);
    return obj;
  };
  return grow(1);
}

// ---------------------------------------------------------------- responses

/** An exception as fixture JSON. */
export function exceptionJson(error: PyException): unknown {
  return {
    type: error.type,
    args: error.args.map((arg) =>
      typeof arg === "string"
        ? arg
        : typeof arg === "bigint"
        ? { int: arg.toString() }
        : exceptionJson(arg)
    ),
  };
}

/** The exceptions the course's server and proxy send (docs/PROTOCOL.md §3.2, §6, §7). */
export const COURSE_EXCEPTIONS: readonly PyException[] = [
  new PyException("ZeroDivisionError", ["division by zero"]),
  new PyException("ZeroDivisionError", ["integer modulo by zero"]),
  new PyException("ValueError", ["math domain error"]),
  new PyException("OverflowError", [34n, "Numerical result out of range"]),
  new PyException("TypeError", ["max expected at least 1 argument, got 0"]),
  new PyException("ValueError", ["Received data could not be deserialized"]),
  new PyException("ValueError", ["Received data is not an Expression2"]),
  new PyException("TypeError", ["Received a response instead of a request"]),
  new PyException("CalculatorClientError", [
    "Error while unpacking request: The data is too short (5 bytes) to be a valid header",
  ]),
  new PyException("CalculatorServerError", [
    "Internal proxy error",
    new PyException("CalculatorServerError", [
      "Connection refused by server and the request was not in the cache/it was stale",
    ]),
  ]),
  new PyException("ValueError", []),
  new PyException("TypeError", ["é€\ud83d\ude00", -(2n ** 70n)]),
];
