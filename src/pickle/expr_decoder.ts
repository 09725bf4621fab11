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
} from "../calc/mod.ts";
import {
  BINARY_OPERATOR_ASSOCIATIVITY,
  BINARY_OPERATOR_FUNCTIONS,
  type CourseClassName,
  EXPRESSION_CLASSES,
  FUNCTION_GLOBALS,
  type GlobalName,
  NAMED_CONSTANT_NAMES,
  qualifiedName,
  UNARY_OPERATOR_FUNCTIONS,
} from "./course_model.ts";
import type { DecodeStats } from "./decode_work.ts";
import { describe, type DInstance, findKey, type Value } from "./decoded_value.ts";
import { isKind, unpickle } from "./decoder.ts";
import { NotAnExpressionError, PickleError } from "./errors.ts";
import { decodeExprFast } from "./expr_fast_decoder.ts";
import { type DecodeLimits, resolveDecodeLimits } from "./limits.ts";

/**
 * Reads a request payload: any protocol 2–5 pickle of an expression made of
 * the course's classes, in module `calculator` or `api`. (Protocols 0 and 1
 * rebuild such objects through `copyreg._reconstructor`, which is refused.)
 *
 * The tree is checked as the course's code builds it: each operator's
 * symbol, function global and associativity agree (an `Associativity`
 * member pickled by value, `Associativity(0)`, or by name,
 * `getattr(Associativity, 'LEFT')`, as CPython 3.11.0–3.11.4 do), a function's name
 * matches its global, `rand` is `getattr(<random.Random with a state>,
 * 'uniform')`, a named constant is PI, TAU or E (its transmitted value is
 * kept), a constant is an int, float or bool. Objects that are one Python
 * object in the pickle are one JS object in the result, so every `rand` call
 * of one `Function` shares one {@linkcode RandomState}. Extra attributes are
 * ignored, as Python ignores them.
 *
 * `stats`, when given, receives the work unpickling did and its budget
 * (`maxWorkPerByte`), also when it throws; reading the unpickled objects
 * into a tree is bounded by `maxNodes` instead.
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
export function decodeExpr(
  data: Uint8Array,
  limits?: Partial<DecodeLimits>,
  stats?: DecodeStats,
): Expr {
  if (data.length === 0) throw new NotAnExpressionError("no data: an expression was expected");
  const resolved = resolveDecodeLimits(limits);
  // The fast path reads what CPython writes; anything else, and every
  // refusal, is the general path's.
  return decodeExprFast(data, resolved, stats) ?? decodeExprGeneral(data, resolved, stats);
}

/**
 * {@linkcode decodeExpr}'s general path, which decides whatever the fast
 * path (`expr_fast_decoder.ts`) steps aside from: the generic unpickler,
 * then its values checked and read into a tree.
 */
export function decodeExprGeneral(
  data: Uint8Array,
  limits: DecodeLimits,
  stats?: DecodeStats,
): Expr {
  return new ExprReader(limits).read(unpickle(data, limits, stats));
}

/** What a {@linkcode Frame}'s node becomes once its children are read. */
const enum Shape {
  Leaf,
  Binary,
  Unary,
  Call,
}

/**
 * A node being converted, then (once `expr` is set) converted: its checked
 * own parts, its children as they are read, its node count (shared sub-trees
 * counted per use) and height. One object per node serves both uses, so
 * that converting allocates little besides the tree.
 */
interface Frame {
  readonly depth: number;
  /** The child expressions still to read, in order. */
  readonly children: readonly Value[];
  readonly shape: Shape;
  /** The symbol of a binary or unary node. */
  readonly operator: BinarySymbol | UnarySymbol | undefined;
  /** The function of a call. */
  readonly fn: FunctionInfo | undefined;
  readonly exprs: Expr[];
  size: number;
  height: number;
  /** The tree: a leaf's from the start, any other node's once its children are read. */
  expr: Expr | undefined;
}

/** What a child of `frame` is, for messages. */
function childLabel(frame: Frame, index: number): string {
  switch (frame.shape) {
    case Shape.Binary:
      return BINARY_LABELS[index] as string;
    case Shape.Unary:
      return "UnaryExpr.operand";
    case Shape.Call:
      return `an argument of ${(frame.fn as FunctionInfo).name}()`;
    case Shape.Leaf:
      return "";
  }
}

/** Builds the (non-leaf) node of `frame` from its children's trees. */
function make(frame: Frame): Expr {
  const exprs = frame.exprs;
  switch (frame.shape) {
    case Shape.Binary:
      return {
        kind: "binary",
        operator: frame.operator as BinarySymbol,
        left: exprs[0] as Expr,
        right: exprs[1] as Expr,
      };
    case Shape.Unary:
      return { kind: "unary", operator: frame.operator as UnarySymbol, operand: exprs[0] as Expr };
    default: {
      const fn = frame.fn as FunctionInfo;
      return call(fn.name, exprs, fn.random);
    }
  }
}

/** A frame; made in one place so that every frame has the same shape (V8 hidden class). */
function newFrame(
  depth: number,
  children: readonly Value[],
  shape: Shape,
  operator: BinarySymbol | UnarySymbol | undefined,
  fn: FunctionInfo | undefined,
  expr: Expr | undefined,
): Frame {
  return { depth, children, shape, operator, fn, exprs: [], size: 1, height: 1, expr };
}

/** A checked `Function`. */
interface FunctionInfo {
  readonly name: FunctionName;
  readonly random?: RandomState;
}

const BINARY_LABELS = ["BinaryExpr.left_operand", "BinaryExpr.right_operand"];
const NO_CHILDREN: readonly Value[] = Object.freeze([]);

/**
 * Converts the unpickled objects without recursion (a limit may be set far
 * beyond what the JS stack could recurse through), depth first, left to
 * right, each shared node once.
 */
class ExprReader {
  readonly #limits: DecodeLimits;

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
        if (!isExpression(child)) throw notAnExpression(childLabel(frame, index), child);
        const depth = frame.depth + 1;
        const done = child.converted as Frame | undefined;
        if (done === undefined || done.expr === undefined) {
          if (depth > maxDepth) throw tooDeep(maxDepth);
          if (done !== undefined) throw new PickleError("the expression contains itself");
          stack.push(this.#enter(child, depth));
        } else {
          // A shared sub-tree counts again, at its new depth.
          if (depth + done.height - 1 > maxDepth) throw tooDeep(maxDepth);
          addChild(frame, done, maxNodes);
        }
        continue;
      }
      stack.pop();
      frame.expr ??= make(frame);
      const parent = stack[stack.length - 1];
      if (parent === undefined) return frame.expr;
      addChild(parent, frame, maxNodes);
    }
  }

  /** Checks a node's own attributes and lists its children. */
  #enter(node: DInstance, depth: number): Frame {
    // A node's `converted` is its frame: converted once `expr` is set,
    // a cycle if met again before then.
    const frame = this.#frame(node, depth);
    node.converted = frame;
    return frame;
  }

  #frame(node: DInstance, depth: number): Frame {
    switch (node.cls) {
      case "Constant": {
        const value = attribute(node, "value");
        if (typeof value !== "bigint" && typeof value !== "number" && typeof value !== "boolean") {
          throw new NotAnExpressionError(`Constant.value is ${describe(value)}, not a number`);
        }
        return newFrame(depth, NO_CHILDREN, Shape.Leaf, undefined, undefined, constant(value));
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
        const expr: Expr = { kind: "named", name: name as ConstantName, value };
        return newFrame(depth, NO_CHILDREN, Shape.Leaf, undefined, undefined, expr);
      }
      case "BinaryExpr": {
        const left = attribute(node, "left_operand");
        const operator = this.#binaryOperator(attribute(node, "operator"));
        const right = attribute(node, "right_operand");
        return newFrame(depth, [left, right], Shape.Binary, operator, undefined, undefined);
      }
      case "UnaryExpr": {
        const operator = this.#unaryOperator(attribute(node, "operator"));
        const operand = attribute(node, "operand");
        return newFrame(depth, [operand], Shape.Unary, operator, undefined, undefined);
      }
      default: {
        const fn = this.#function(attribute(node, "function"));
        const args = attribute(node, "args");
        // Python iterates over args, so a tuple serves as well as the course's list.
        if (!isKind(args, "list") && !isKind(args, "tuple")) {
          throw new NotAnExpressionError(`FunctionCallExpr.args is ${describe(args)}, not a list`);
        }
        return newFrame(depth, args.items, Shape.Call, undefined, fn, undefined);
      }
    }
  }

  #binaryOperator(value: Value): BinarySymbol {
    const operator = instanceOf(value, "BinaryOperator", "BinaryExpr.operator");
    // An operator's `converted` is its checked symbol (its class tells which kind).
    const known = operator.converted as BinarySymbol | undefined;
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
    operator.converted = binarySymbol;
    return binarySymbol;
  }

  #unaryOperator(value: Value): UnarySymbol {
    const operator = instanceOf(value, "UnaryOperator", "UnaryExpr.operator");
    const known = operator.converted as UnarySymbol | undefined;
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
    operator.converted = symbol;
    return symbol;
  }

  #function(value: Value): FunctionInfo {
    const fn = instanceOf(value, "Function", "FunctionCallExpr.function");
    const known = fn.converted as FunctionInfo | undefined;
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
    fn.converted = info;
    return info;
  }
}

function addChild(frame: Frame, child: Frame, maxNodes: number): void {
  frame.exprs.push(child.expr as Expr);
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
  const at = findKey(node.attributes, node.attributeIndex, name);
  if (at < 0) throw new NotAnExpressionError(`${node.cls} object has no attribute '${name}'`);
  return node.attributes[at + 1] as Value;
}

function instanceOf(value: Value, cls: CourseClassName, where: string): DInstance {
  if (!isKind(value, "instance") || value.cls !== cls) {
    throw new NotAnExpressionError(`${where} is ${describe(value)}, not a ${cls}`);
  }
  return value;
}

function checkGlobal(value: Value, expected: GlobalName, what: string): void {
  if (!isKind(value, "global") || value.qualified !== qualifiedName(expected)) {
    throw new NotAnExpressionError(
      `${what} has function ${describe(value)}, not ${qualifiedName(expected)}`,
    );
  }
}
