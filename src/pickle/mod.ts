/**
 * The pickle layer: calcnet's payloads, byte-compatible with the course's
 * Python code (docs/PROTOCOL.md §3).
 *
 * - {@linkcode encodeExpr}, {@linkcode encodeResult},
 *   {@linkcode encodeException}: exactly the bytes CPython 3.11 writes.
 * - {@linkcode decodeExpr}, {@linkcode decodeResponse}: a safe reader of any
 *   protocol 2–5 pickle of those objects, and of nothing else, within
 *   {@linkcode DecodeLimits} (a work budget per byte among them; pass
 *   {@linkcode DecodeStats} to see the work done).
 * - {@linkcode pickleDumps} and the {@linkcode PyObject} model behind the
 *   encoders, for other payloads.
 *
 * @module
 */

export { encodeExpr, MAX_ENCODE_DEPTH } from "./expr_encoder.ts";
export { encodeException, encodeResult } from "./response_encoder.ts";
export { decodeExpr } from "./expr_decoder.ts";
export { type DecodedResponse, decodeResponse, MAX_EXCEPTION_DEPTH } from "./response_decoder.ts";
export { type DecodeLimits, DEFAULT_DECODE_LIMITS, resolveDecodeLimits } from "./limits.ts";
export { type DecodeStats, newDecodeStats } from "./decode_work.ts";
export { ComplexResultError, NotAnExpressionError, PickleError } from "./errors.ts";
export { pickleDumps } from "./pickler.ts";
export {
  pyBuiltinType,
  type PyDict,
  pyDict,
  type PyGlobal,
  pyGlobal,
  type PyInstance,
  pyInstance,
  type PyInterned,
  pyInterned,
  type PyList,
  pyList,
  type PyObject,
  type PyReduce,
  pyReduce,
  type PyTuple,
  pyTuple,
} from "./py_object.ts";
export { HIGHEST_PROTOCOL, Op } from "./opcodes.ts";
