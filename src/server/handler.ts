/**
 * The server's answer to one packet (docs/PROTOCOL.md §6), as a pure function of the
 * packet bytes, the policy and the time.
 *
 * @module
 */

import {
  decodeHeader,
  HEADER_SIZE,
  invalidTotalLength,
  MAX_AGE_FOREVER,
  MAX_PACKET_SIZE,
  Status,
  writeHeader,
} from "../protocol/mod.ts";
import { ProtocolError } from "../base/mod.ts";
import {
  type EvalLimits,
  evaluate,
  type Expr,
  notARequestException,
  PyException,
  unpackingException,
} from "../calc/mod.ts";
import {
  decodeExpr,
  type DecodeLimits,
  encodeException,
  encodeResult,
  NotAnExpressionError,
  PickleError,
} from "../pickle/mod.ts";

/** How the server marks its answers and what it bounds. */
export interface ServerPolicy {
  /** The C flag of every answer (the course: true). */
  readonly cacheResult: boolean;
  /** The cache control of every answer (the course: 65535, forever). */
  readonly cacheControl: number;
  /** Bounds on the pickles it decodes. */
  readonly decodeLimits?: Partial<DecodeLimits>;
  /** Bounds on the work an expression may ask for. */
  readonly evalLimits?: Partial<EvalLimits>;
}

/** The course server's policy: cacheable answers, forever. */
export const DEFAULT_SERVER_POLICY: ServerPolicy = {
  cacheResult: true,
  cacheControl: MAX_AGE_FOREVER,
};

/** The part of a policy that makes an answer uncacheable: C=0, max-age 0. */
export const UNCACHEABLE: Pick<ServerPolicy, "cacheResult" | "cacheControl"> = Object.freeze({
  cacheResult: false,
  cacheControl: 0,
});

/**
 * The answer when answering failed for a reason of the server's own (a bug,
 * a resource failure): a 500 `CalculatorServerError('Internal server
 * error')`, never cacheable.
 */
export function internalErrorAnswer(nowSeconds: number): ServerAnswer {
  return errorAnswer(
    new PyException("CalculatorServerError", ["Internal server error"]),
    Status.ServerError,
    UNCACHEABLE,
    nowSeconds,
  );
}

/** One answered packet. */
export interface ServerAnswer {
  /** The response packet. */
  readonly packet: Uint8Array;
  /** Its status code. */
  readonly statusCode: number;
  /** For errors: the exception's `str()`, for the log. */
  readonly error?: string;
}

/**
 * Answers one request packet exactly as the course server does.
 *
 * @example
 * ```ts
 * const answer = answerRequest(packet, DEFAULT_SERVER_POLICY, Math.floor(Date.now() / 1000));
 * answer.status; // 200
 * ```
 */
export function answerRequest(
  packet: Uint8Array,
  policy: ServerPolicy,
  nowSeconds: number,
): ServerAnswer {
  const request = readRequest(packet, policy);
  if ("error" in request) return errorAnswer(request.error, request.status, policy, nowSeconds);
  let answer: Uint8Array;
  let steps: boolean;
  try {
    const outcome = evaluate(request.expr, { showSteps: request.steps, limits: policy.evalLimits });
    // Pickled after room for the header: the answer is made in one buffer.
    answer = encodeResult(outcome.result, outcome.steps, HEADER_SIZE);
    steps = outcome.steps.length > 0;
  } catch (error: unknown) {
    if (!(error instanceof PyException)) throw error;
    return errorAnswer(error, Status.ClientError, policy, nowSeconds);
  }
  if (answer.length > MAX_PACKET_SIZE) {
    // The reference fails the same way when an answer cannot be framed (its
    // text says 65536, which the length field cannot hold; ours says what we allow).
    const error = new PyException("ValueError", [invalidTotalLength(answer.length)]);
    return errorAnswer(error, Status.ServerError, policy, nowSeconds);
  }
  const fields = {
    timestamp: nowSeconds,
    cacheResult: policy.cacheResult,
    showSteps: steps,
    isRequest: false,
    statusCode: Status.Ok,
    cacheControl: policy.cacheControl,
  };
  writeHeader(answer, fields);
  return { packet: answer, statusCode: Status.Ok };
}

/** A request the server refuses before evaluating: the course's exception and status. */
interface Refused {
  readonly error: PyException;
  readonly status: number;
}

/** The expression and S flag of a request packet, or why the course server refuses it. */
function readRequest(
  packet: Uint8Array,
  policy: ServerPolicy,
): { readonly expr: Expr; readonly steps: boolean } | Refused {
  let steps: boolean;
  try {
    const { header } = decodeHeader(packet);
    if (!header.isRequest) return { error: notARequestException(), status: Status.ClientError };
    steps = header.showSteps;
  } catch (error: unknown) {
    if (!(error instanceof ProtocolError)) throw error;
    return { error: unpackingException(error.message), status: Status.ServerError };
  }
  try {
    return { expr: decodeExpr(packet.subarray(HEADER_SIZE), policy.decodeLimits), steps };
  } catch (error: unknown) {
    const message = error instanceof NotAnExpressionError
      ? "Received data is not an Expression2"
      : error instanceof PickleError
      ? "Received data could not be deserialized"
      : undefined;
    if (message === undefined) throw error;
    return { error: new PyException("ValueError", [message]), status: Status.ClientError };
  }
}

/** Encodes an exception answer; one too large for a packet is replaced by a short one. */
function errorAnswer(
  error: PyException,
  status: number,
  policy: Pick<ServerPolicy, "cacheResult" | "cacheControl">,
  nowSeconds: number,
): ServerAnswer {
  let packet = encodeException(error, HEADER_SIZE);
  if (packet.length > MAX_PACKET_SIZE) {
    const short = new PyException(error.type, ["error message too long to send"]);
    packet = encodeException(short, HEADER_SIZE);
  }
  writeHeader(packet, {
    timestamp: nowSeconds,
    cacheResult: policy.cacheResult,
    showSteps: false,
    isRequest: false,
    statusCode: status,
    cacheControl: policy.cacheControl,
  });
  return { packet, statusCode: status, error: error.str() };
}
