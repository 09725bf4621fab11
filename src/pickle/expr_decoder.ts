/**
 * The server side of a request payload: the pickled expression tree, read
 * back into calcnet's {@linkcode Expr} after checking that it is made of the
 * course's classes exactly as the course's code builds them.
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
} from "../calc/expr.ts";
import {
  BINARY_OPERATOR_ASSOCIATIVITY,
  BINARY_OPERATOR_FUNCTIONS,
  type CourseClassName,
  FUNCTION_GLOBALS,
  type GlobalName,
  UNARY_OPERATOR_FUNCTIONS,
} from "./course_model.ts";
import { describe, type DInstance, type Value } from "./decoded_value.ts";
import { isKind, unpickle } from "./decoder.ts";
import { NotAnExpressionError, PickleError } from "./errors.ts";
import { type DecodeLimits, resolveLimits } from "./limits.ts";

/**
 * Reads a request payload: any protocol 2–5 pickle of an expression made of
 * the course's classes, in module `calculator` or `api`. (Protocols 0 and 1
 * rebuild such objects through `copyreg._reconstructor`, which is refused.)
 *
 * The tree is checked as the course's code builds it: each operator's
 * symbol, function global and associativity agree, a function's name
 * matches its global, `rand` is `getattr(<random.Random with a state>,
 * 'uniform')`, a named constant is PI, TAU or E (its transmitted value is
 * kept), a constant is an int, float or bool. Objects that are one Python
 * object in the pickle are one JS object in the result, so every `rand` call
 * of one `Function` shares one {@linkcode RandomState}. Extra attributes are
 * ignored, as Python ignores them.
 *
 * @throws {NotAnExpressionError} when the data is empty, or unpickles to
 * something other than such an expression (e.g. `42`, or a `BinaryExpr`
 * whose operator is `'+'` with `_operator.sub`).
 * @throws {PickleError} when the data is not a pickle of allowed objects
 * within `limits` (including an expression nested deeper than `maxDepth`,
 * one of more than `maxNodes` nodes, one that contains itself, or a `rand`
 * whose Random has no state).

 * @throws {RangeError} when a given limit is not a positive integer.
 *
 * @example
 * ```ts
 * decodeExpr(encodeExpr(binary(constant(1n), "+", constant(2n)))); // the same tree
 * ```
 */
export function decodeExpr(data: Uint8Array, limits?: Partial<DecodeLimits>): Expr {
  if (data.length === 0) throw new NotAnExpressionError("no data: an expression was expected");
  const resolved = resolveLimits(limits);
  return new ExprReader(resolved).read(unpickle(data, resolved));
}

const EXPRESSION_CLASSES: ReadonlySet<CourseClassName> = new Set([
  "Constant",
  "NamedConstant",
  "BinaryExpr",
  "UnaryExpr",
  "FunctionCallExpr",
]);

const NAMED_CONSTANT_NAMES: ReadonlySet<string> = new Set(["PI", "TAU", "E"]);

/** A converted node: the tree, its node count (shared sub-trees counted per use) and height. */
interface Read {
  readonly expr: Expr;
  readonly size: number;
  readonly height: number;
}

/** A node's checked own parts: what it becomes once its children are read. */
type Shape =
  | { readonly kind: "leaf"; readonly expr: Expr }
  | { readonly kind: "binary"; readonly operator: BinarySymbol }
  | { readonly kind: "unary"; readonly operator: UnarySymbol }
  | { readonly kind: "call"; readonly fn: FunctionInfo };

/** A node being converted: its checked parts, and its children as they are read. */
interface Frame {
  readonly node: DInstance;
  readonly depth: number;
  /** The child expressions still to read, in order. */
  readonly children: readonly Value[];
  readonly shape: Shape;
  readonly exprs: Expr[];
  size: number;
  height: number;
}

/** What a child of `shape` is, for messages. */
function childLabel(shape: Shape, index: number): string {
  switch (shape.kind) {
    case "binary":
      return BINARY_LABELS[index] as string;
    case "unary":
      return "UnaryExpr.operand";
    case "call":
      return `an argument of ${shape.fn.name}()`;
    case "leaf":
      return "";
  }
}

/** Builds the node from its children's trees. */
function make(shape: Shape, exprs: Expr[]): Expr {
  switch (shape.kind) {
    case "leaf":
      return shape.expr;
    case "binary":
      return {
        kind: "binary",
        operator: shape.operator,
        left: exprs[0] as Expr,
        right: exprs[1] as Expr,
      };
    case "unary":
      return { kind: "unary", operator: shape.operator, operand: exprs[0] as Expr };
    case "call":
      return call(shape.fn.name, exprs, shape.fn.random);
  }
}

/** A checked `Function`. */
interface FunctionInfo {
  readonly name: FunctionName;
  readonly random?: RandomState;
}

/** `module.name` of each course global, made once (the tables' tuples are constants). */
const QUALIFIED = new Map<GlobalName, string>();

function qualified(global: GlobalName): string {
  let text = QUALIFIED.get(global);
  if (text === undefined) QUALIFIED.set(global, text = `${global[0]}.${global[1]}`);
  return text;
}

/** A node whose children are being read: meeting it again means a cycle. */
const IN_PROGRESS = "in progress";

const BINARY_LABELS = ["BinaryExpr.left_operand", "BinaryExpr.right_operand"];
const NO_CHILDREN: readonly Value[] = Object.freeze([]);

/**
 * Converts the unpickled objects without recursion (a limit may be set far
 * beyond what the JS stack could recurse through), depth first, left to
 * right, each shared node once.
 */
class ExprReader {
  readonly #limits: DecodeLimits;
  /** Each node entered: its tree once read, IN_PROGRESS until then (one map, not two). */
  readonly #done = new Map<DInstance, Read | typeof IN_PROGRESS>();
  readonly #binaryOperators = new Map<DInstance, BinarySymbol>();
  readonly #unaryOperators = new Map<DInstance, UnarySymbol>();
  readonly #functions = new Map<DInstance, FunctionInfo>();

  constructor(limits: DecodeLimits) {
    this.#limits = limits;
  }

  read(root: Value): Expr {
    const { maxDepth, maxNodes } = this.#limits;
    if (!isExpression(root)) throw notAnExpression("the pickled object", root);
    const stack: Frame[] = [this.#enter(root, 1)];
    for (;;) {
      const frame = stack[stack.length - 1] as Frame;
      const index = frame.exprs.length;
      if (index < frame.children.length) {
        const child = frame.children[index] as Value;
        if (!isExpression(child)) throw notAnExpression(childLabel(frame.shape, index), child);
        const depth = frame.depth + 1;
        const done = this.#done.get(child);
        if (done === undefined || done === IN_PROGRESS) {
          if (depth > maxDepth) throw tooDeep(maxDepth);
          if (done === IN_PROGRESS) throw new PickleError("the expression contains itself");
          stack.push(this.#enter(child, depth));
        } else {
          // A shared sub-tree counts again, at its new depth.
          if (depth + done.height - 1 > maxDepth) throw tooDeep(maxDepth);
          addChild(frame, done, maxNodes);
        }
        continue;
      }
      stack.pop();
      const read: Read = {
        expr: make(frame.shape, frame.exprs),
        size: frame.size,
        height: frame.height,
      };
      this.#done.set(frame.node, read);
      const parent = stack[stack.length - 1];
      if (parent === undefined) return read.expr;
      addChild(parent, read, maxNodes);
    }
  }

  /** Checks a node's own attributes and lists its children. */
  #enter(node: DInstance, depth: number): Frame {
    this.#done.set(node, IN_PROGRESS);
    const frame = (children: readonly Value[], shape: Shape): Frame => ({
      node,
      depth,
      children,
      shape,
      exprs: [],
      size: 1,
      height: 1,
    });
    switch (node.cls) {
      case "Constant": {
        const value = attribute(node, "value");
        if (typeof value !== "bigint" && typeof value !== "number" && typeof value !== "boolean") {
          throw new NotAnExpressionError(`Constant.value is ${describe(value)}, not a number`);
        }
        return frame(NO_CHILDREN, { kind: "leaf", expr: constant(value) });
      }
      case "NamedConstant": {
        const name = attribute(node, "name");
        const value = attribute(node, "value");
        if (typeof name !== "string" || !NAMED_CONSTANT_NAMES.has(name)) {
          throw new NotAnExpressionError("NamedConstant.name is not PI, TAU or E");
        }
        if (typeof value !== "number") {
          throw new NotAnExpressionError(`NamedConstant.value is ${describe(value)}, not a float`);
        }
        // The transmitted value is kept: the Python server computes with it.
        return frame(NO_CHILDREN, {
          kind: "leaf",
          expr: { kind: "named", name: name as ConstantName, value },
        });
      }
      case "BinaryExpr": {
        const left = attribute(node, "left_operand");
        const operator = this.#binaryOperator(attribute(node, "operator"));
        const right = attribute(node, "right_operand");
        return frame([left, right], { kind: "binary", operator });
      }
      case "UnaryExpr": {
        const operator = this.#unaryOperator(attribute(node, "operator"));
        return frame([attribute(node, "operand")], { kind: "unary", operator });
      }
      default: {
        const fn = this.#function(attribute(node, "function"));
        const args = attribute(node, "args");
        // Python iterates over args, so a tuple serves as well as the course's list.
        if (!isKind(args, "list") && !isKind(args, "tuple")) {
          throw new NotAnExpressionError(`FunctionCallExpr.args is ${describe(args)}, not a list`);
        }
        return frame(args.items, { kind: "call", fn });
      }
    }
  }

  #binaryOperator(value: Value): BinarySymbol {
    const operator = instanceOf(value, "BinaryOperator", "BinaryExpr.operator");
    const known = this.#binaryOperators.get(operator);
    if (known !== undefined) return known;
    const symbol = attribute(operator, "symbol");
    if (typeof symbol !== "string" || !(BINARY_SYMBOLS as readonly string[]).includes(symbol)) {
      throw new NotAnExpressionError("BinaryOperator.symbol is not one of + - * / % **");
    }
    const binarySymbol = symbol as BinarySymbol;
    checkGlobal(
      attribute(operator, "function"),
      BINARY_OPERATOR_FUNCTIONS[binarySymbol],
      `operator ${symbol}`,
    );
    const associativity = attribute(operator, "associativity");
    if (
      !isKind(associativity, "associativity") ||
      associativity.value !== BINARY_OPERATOR_ASSOCIATIVITY[binarySymbol]
    ) {
      throw new NotAnExpressionError(
        `operator ${symbol} must be ${
          BINARY_OPERATOR_ASSOCIATIVITY[binarySymbol] === 1 ? "right" : "left"
        }-associative`,
      );
    }
    this.#binaryOperators.set(operator, binarySymbol);
    return binarySymbol;
  }

  #unaryOperator(value: Value): UnarySymbol {
    const operator = instanceOf(value, "UnaryOperator", "UnaryExpr.operator");
    const known = this.#unaryOperators.get(operator);
    if (known !== undefined) return known;
    const symbol = attribute(operator, "symbol");
    if (symbol !== "-" && symbol !== "+") {
      throw new NotAnExpressionError("UnaryOperator.symbol is not - or +");
    }
    checkGlobal(
      attribute(operator, "function"),
      UNARY_OPERATOR_FUNCTIONS[symbol],
      `unary ${symbol}`,
    );
    this.#unaryOperators.set(operator, symbol);
    return symbol;
  }

  #function(value: Value): FunctionInfo {
    const fn = instanceOf(value, "Function", "FunctionCallExpr.function");
    const known = this.#functions.get(fn);
    if (known !== undefined) return known;
    const name = attribute(fn, "name");
    if (typeof name !== "string" || !(FUNCTION_NAMES as readonly string[]).includes(name)) {
      throw new NotAnExpressionError("Function.name is not one of the course's functions");
    }
    const implementation = attribute(fn, "function");
    let info: FunctionInfo;
    if (name === "rand") {
      if (!isKind(implementation, "uniform")) {
        throw new NotAnExpressionError("rand's function is not random.Random.uniform");
      }
      const state = implementation.random.state;
      if (state === null) {
        throw new PickleError("rand's random.Random comes without a state");
      }
      info = { name, random: state };
    } else {
      const functionName = name as Exclude<FunctionName, "rand">;
      checkGlobal(implementation, FUNCTION_GLOBALS[functionName], `function ${name}`);
      info = { name: functionName };
    }
    this.#functions.set(fn, info);
    return info;
  }
}

function addChild(frame: Frame, child: Read, maxNodes: number): void {
  frame.exprs.push(child.expr);
  frame.size += child.size;
  frame.height = Math.max(frame.height, child.height + 1);
  if (frame.size > maxNodes) throw new PickleError(`expression of more than ${maxNodes} nodes`);
}

function isExpression(value: Value): value is DInstance {
  return isKind(value, "instance") && EXPRESSION_CLASSES.has(value.cls);
}

function notAnExpression(what: string, value: Value): NotAnExpressionError {
  return new NotAnExpressionError(`${what} is ${describe(value)}, not an expression`);
}

function tooDeep(maxDepth: number): PickleError {
  return new PickleError(`expression nested deeper than ${maxDepth} levels`);
}

function attribute(node: DInstance, name: string): Value {
  const value = node.attributes.get(name);
  if (value === undefined) {
    throw new NotAnExpressionError(`${node.cls} object has no attribute '${name}'`);
  }
  return value;
}

function instanceOf(value: Value, cls: CourseClassName, where: string): DInstance {
  if (!isKind(value, "instance") || value.cls !== cls) {
    throw new NotAnExpressionError(`${where} is ${describe(value)}, not a ${cls}`);
  }
  return value;
}

function checkGlobal(value: Value, expected: GlobalName, what: string): void {
  if (!isKind(value, "global") || value.qualified !== qualified(expected)) {
    throw new NotAnExpressionError(
      `${what} has function ${describe(value)}, not ${qualified(expected)}`,
    );
  }
}
