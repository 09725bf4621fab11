/**
 * The request payload: an expression tree pickled exactly as the course's
 * Python client pickles the same tree (docs/PROTOCOL.md §3.1), so that Python and
 * TypeScript clients share the proxy's cache entries.
 *
 * @module
 */

import {
  type BinarySymbol,
  type ConstantName,
  type Expr,
  type FunctionName,
  MT_WORDS,
  NAMED_CONSTANT_VALUES,
  type RandomState,
  type UnarySymbol,
} from "../calc/mod.ts";
import {
  BINARY_OPERATOR_ASSOCIATIVITY,
  BINARY_OPERATOR_FUNCTIONS,
  COURSE_CLASS_NAMES,
  COURSE_MODULE,
  type CourseClassName,
  FUNCTION_GLOBALS,
  type GlobalName,
  RANDOM_STATE_VERSION,
  UNARY_OPERATOR_FUNCTIONS,
} from "./course_model.ts";
import { PickleError } from "./errors.ts";
import { DEFAULT_DECODE_LIMITS } from "./limits.ts";
import { pickleDumps } from "./pickler.ts";
import {
  type PyGlobal,
  pyGlobal,
  type PyInstance,
  pyInstance,
  pyInterned,
  pyList,
  type PyObject,
  pyReduce,
  pyTuple,
} from "./py_object.ts";

/**
 * The bytes the course's Python client sends for `expr`: `pickle.dumps(expr)`
 * with the classes in module `calculator`. Operators, functions and named
 * constants are the course's module-level singletons (each written once per
 * pickle), and a sub-tree that is one JS object in several places is written
 * once, as CPython writes a shared object.
 *
 * @throws {PickleError} for a tree Python cannot have built: `rand` without a
 * valid {@linkcode RandomState}, a random state on another function, or a
 * tree nested deeper than {@linkcode MAX_ENCODE_DEPTH} levels.
 *
 * @example
 * ```ts
 * encodeExpr(binary(call("max", [constant(2n), constant(3n)]), "+", constant(3n))); // 364 bytes
 * ```
 */
export function encodeExpr(expr: Expr): Uint8Array {
  return pickleDumps(new ExprConverter().convert(expr, 1));
}

/**
 * The deepest tree {@linkcode encodeExpr} writes: what a calcnet server
 * accepts by default (CPython cannot even pickle that deep a tree).
 */
export const MAX_ENCODE_DEPTH: number = DEFAULT_DECODE_LIMITS.maxDepth;

/** One global per course class, shared by every node (the pickler dedups globals by name). */
const COURSE_CLASSES = Object.fromEntries(
  COURSE_CLASS_NAMES.map((name) => [name, pyGlobal(COURSE_MODULE, name)]),
) as Readonly<Record<CourseClassName, PyGlobal>>;

function functionGlobal([module, name]: GlobalName): PyGlobal {
  return pyGlobal(module, name);
}

/** `Associativity.LEFT` and `.RIGHT`: enum members reduce to `Associativity(value)`. */
const ASSOCIATIVITY = [
  pyReduce(COURSE_CLASSES.Associativity, pyTuple([0n])),
  pyReduce(COURSE_CLASSES.Associativity, pyTuple([1n])),
] as const;

function binaryOperator(symbol: BinarySymbol): PyInstance {
  return pyInstance(COURSE_CLASSES.BinaryOperator, [
    ["symbol", pyInterned(symbol)],
    ["function", functionGlobal(BINARY_OPERATOR_FUNCTIONS[symbol])],
    ["associativity", ASSOCIATIVITY[BINARY_OPERATOR_ASSOCIATIVITY[symbol]]],
  ]);
}

function unaryOperator(symbol: UnarySymbol): PyInstance {
  return pyInstance(COURSE_CLASSES.UnaryOperator, [
    ["symbol", pyInterned(symbol)],
    ["function", functionGlobal(UNARY_OPERATOR_FUNCTIONS[symbol])],
  ]);
}

function courseFunction(name: FunctionName, implementation: PyObject): PyInstance {
  return pyInstance(COURSE_CLASSES.Function, [
    ["name", pyInterned(name)],
    ["function", implementation],
  ]);
}

function namedConstant(name: ConstantName, value: number): PyInstance {
  return pyInstance(COURSE_CLASSES.NamedConstant, [
    ["name", pyInterned(name)],
    ["value", value],
  ]);
}

// The course's module-level singletons. The memo is per pickle, so sharing
// these objects between calls is safe.
const BINARY_OPERATORS: Readonly<Record<BinarySymbol, PyInstance>> = {
  "+": binaryOperator("+"),
  "-": binaryOperator("-"),
  "*": binaryOperator("*"),
  "/": binaryOperator("/"),
  "%": binaryOperator("%"),
  "**": binaryOperator("**"),
};

const UNARY_OPERATORS: Readonly<Record<UnarySymbol, PyInstance>> = {
  "-": unaryOperator("-"),
  "+": unaryOperator("+"),
};

const FUNCTIONS = Object.fromEntries(
  Object.entries(FUNCTION_GLOBALS).map(([name, global]) => [
    name,
    courseFunction(name as FunctionName, functionGlobal(global)),
  ]),
) as Readonly<Record<Exclude<FunctionName, "rand">, PyInstance>>;

const NAMED_CONSTANTS: Readonly<Record<ConstantName, PyInstance>> = {
  PI: namedConstant("PI", NAMED_CONSTANT_VALUES.PI),
  TAU: namedConstant("TAU", NAMED_CONSTANT_VALUES.TAU),
  E: namedConstant("E", NAMED_CONSTANT_VALUES.E),
};

const RANDOM_CLASS = pyGlobal("random", "Random");
const GETATTR = pyGlobal("builtins", "getattr");

/**
 * `Function('rand', <random.Random>.uniform)`: the bound method reduces to
 * `getattr(random, 'uniform')`, and the Random to `Random()` followed by
 * `setstate((3, words + (index,), gauss))`.
 */
function randFunction(state: RandomState): PyInstance {
  if (
    state.words.length !== MT_WORDS || !Number.isInteger(state.index) || state.index < 0 ||
    state.index > MT_WORDS
  ) {
    throw new PickleError(
      `invalid random state: ${state.words.length} words (need ${MT_WORDS}), index ${state.index} (need 0..${MT_WORDS})`,
    );
  }
  const internal: PyObject[] = new Array(MT_WORDS + 1);
  for (let i = 0; i < MT_WORDS; i++) internal[i] = BigInt(state.words[i] as number);
  internal[MT_WORDS] = BigInt(state.index);
  const random = pyReduce(
    RANDOM_CLASS,
    pyTuple([]),
    pyTuple([BigInt(RANDOM_STATE_VERSION), pyTuple(internal), state.gauss]),
  );
  return courseFunction("rand", pyReduce(GETATTR, pyTuple([random, pyInterned("uniform")])));
}

/** Turns one tree into the model, keeping JS object identity as Python identity. */
class ExprConverter {
  readonly #nodes = new Map<Expr, PyInstance>();
  /** One `Function('rand', …)` per random state object, as one per Random in Python. */
  readonly #randFunctions = new Map<RandomState, PyInstance>();
  /** Named constants whose value is not the course's: one object per name and value. */
  readonly #otherNamedConstants = new Map<string, PyInstance>();

  convert(expr: Expr, depth: number): PyInstance {
    const known = this.#nodes.get(expr);
    if (known !== undefined) return known;
    if (depth > MAX_ENCODE_DEPTH) {
      throw new PickleError(
        `cannot pickle an expression nested deeper than ${MAX_ENCODE_DEPTH} levels`,
      );
    }
    const converted = this.#convertNew(expr, depth);
    this.#nodes.set(expr, converted);
    return converted;
  }

  #convertNew(expr: Expr, depth: number): PyInstance {
    switch (expr.kind) {
      case "constant":
        return pyInstance(COURSE_CLASSES.Constant, [["value", expr.value]]);
      case "named":
        return this.#namedConstant(expr.name, expr.value);
      case "binary":
        return pyInstance(COURSE_CLASSES.BinaryExpr, [
          ["left_operand", this.convert(expr.left, depth + 1)],
          ["operator", BINARY_OPERATORS[expr.operator]],
          ["right_operand", this.convert(expr.right, depth + 1)],
        ]);
      case "unary":
        return pyInstance(COURSE_CLASSES.UnaryExpr, [
          ["operator", UNARY_OPERATORS[expr.operator]],
          ["operand", this.convert(expr.operand, depth + 1)],
        ]);
      case "call": {
        let fn: PyInstance;
        if (expr.name === "rand") {
          if (expr.random === undefined) {
            throw new PickleError("cannot pickle rand without the state of its random.Random");
          }
          fn = this.#randFunction(expr.random);
        } else {
          if (expr.random !== undefined) {
            throw new PickleError(`${expr.name} takes no random state (only rand does)`);
          }
          fn = FUNCTIONS[expr.name];
        }
        return pyInstance(COURSE_CLASSES.FunctionCallExpr, [
          ["function", fn],
          ["args", pyList(expr.args.map((arg) => this.convert(arg, depth + 1)))],
        ]);
      }
    }
  }

  #namedConstant(name: ConstantName, value: number): PyInstance {
    if (Object.is(value, NAMED_CONSTANT_VALUES[name])) return NAMED_CONSTANTS[name];
    const key = `${name} ${Object.is(value, -0) ? "-0" : value}`;
    let constant = this.#otherNamedConstants.get(key);
    if (constant === undefined) {
      constant = namedConstant(name, value);
      this.#otherNamedConstants.set(key, constant);
    }
    return constant;
  }

  #randFunction(state: RandomState): PyInstance {
    let fn = this.#randFunctions.get(state);
    if (fn === undefined) {
      fn = randFunction(state);
      this.#randFunctions.set(state, fn);
    }
    return fn;
  }
}
