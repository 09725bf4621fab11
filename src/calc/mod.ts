/**
 * The calculator (docs/PROTOCOL.md §4, §5): the expression tree
 * ({@linkcode Expr}), the parser of the client's syntax
 * ({@linkcode parseExpression}) and its inverse ({@linkcode exprText}),
 * evaluation with CPython's numbers and the course server's steps
 * ({@linkcode evaluate}), Python's printing of numbers and exceptions, and
 * the course's examples. Pure: no I/O. Above `base/` only.
 *
 * @module
 */

export { notARequestException, unpackingException } from "./course_errors.ts";
export { COURSE_EXAMPLES, type CourseExample } from "./course_examples.ts";
export { DEFAULT_EVAL_LIMITS, type EvalLimits, evaluate, resolveEvalLimits } from "./evaluate.ts";
export {
  binary,
  BINARY_SYMBOLS,
  type BinarySymbol,
  call,
  constant,
  type ConstantName,
  type Expr,
  FUNCTION_NAMES,
  type FunctionName,
  MT_WORDS,
  named,
  NAMED_CONSTANT_VALUES,
  type PyNumber,
  type RandomState,
  unary,
  type UnarySymbol,
} from "./expr.ts";
export { exprText } from "./expr_text.ts";
export { formatNumber } from "./number_format.ts";
export { parseExpression } from "./parser.ts";
export {
  EXCEPTION_MODULE,
  PyException,
  type PyExceptionArg,
  type PyExceptionType,
} from "./py_exception.ts";
export { freshRandomState, withRandomState } from "./random_state.ts";
export { formatSteps } from "./steps.ts";
