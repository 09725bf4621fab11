/**
 * The server's answer to one packet (docs/PROTOCOL.md §6), as a pure function of the
 * packet bytes, the policy and the time.
 *
 * @module
 */

import {
  decodeHeader,
  encodePacket,
  HEADER_SIZE,
  invalidTotalLength,
  MAX_PACKET_SIZE,
  Status,
} from "../protocol/header.ts";
import { ProtocolError } from "../errors.ts";
import { PyException } from "../calc/py_exception.ts";
import { notARequestException, unpackingException } from "../calc/course_errors.ts";
import { type EvalLimits, evaluate } from "../calc/evaluate.ts";
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
  readonly maxAge: number;
  /** Bounds on the pickles it decodes. */
  readonly decodeLimits?: Partial<DecodeLimits>;
  /** Bounds on the work an expression may ask for. */
  readonly evalLimits?: Partial<EvalLimits>;
}

/** The course server's policy: cacheable answers, forever. */
export const DEFAULT_SERVER_POLICY: ServerPolicy = { cacheResult: true, maxAge: 65535 };

/** The part of a policy that makes an answer uncacheable: C=0, max-age 0. */
export const UNCACHEABLE: Pick<ServerPolicy, "cacheResult" | "maxAge"> = Object.freeze({
  cacheResult: false,
  maxAge: 0,
});

/**
 * The answer when answering failed for a reason of the server's own (a bug,
 * a resource failure): a 500 `CalculatorServerError('Internal server
 * error')`, never cacheable.
 */
export function internalErrorAnswer(nowSeconds: number): Answer {
  return errorAnswer(
    new PyException("CalculatorServerError", ["Internal server error"]),
    Status.ServerError,
    UNCACHEABLE,
    nowSeconds,
  );
}

/** One answered packet. */
export interface Answer {
  /** The response packet. */
  readonly packet: Uint8Array;
  /** Its status code. */
  readonly status: number;
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
): Answer {
  let steps: boolean;
  try {
    const { header } = decodeHeader(packet);
    if (!header.isRequest) {
      return errorAnswer(
        notARequestException(),
        Status.ClientError,
        policy,
        nowSeconds,
      );
    }
    steps = header.steps;
  } catch (error: unknown) {
    if (!(error instanceof ProtocolError)) throw error;
    return errorAnswer(unpackingException(error.message), Status.ServerError, policy, nowSeconds);
  }
  const data = packet.subarray(HEADER_SIZE);
  let expr;
  try {
    expr = decodeExpr(data, policy.decodeLimits);
  } catch (error: unknown) {
    const message = error instanceof NotAnExpressionError
      ? "Received data is not an Expression2"
      : error instanceof PickleError
      ? "Received data could not be deserialized"
      : undefined;
    if (message === undefined) throw error;
    return errorAnswer(
      new PyException("ValueError", [message]),
      Status.ClientError,
      policy,
      nowSeconds,
    );
  }
  try {
    const outcome = evaluate(expr, { steps, limits: policy.evalLimits });
    const body = encodeResult(outcome.result, outcome.steps);
    if (body.length + HEADER_SIZE > MAX_PACKET_SIZE) {
      // The reference fails the same way when an answer cannot be framed (its
      // text says 65536, which the length field cannot hold; ours says what we allow).
      return errorAnswer(
        new PyException("ValueError", [invalidTotalLength(body.length + HEADER_SIZE)]),
        Status.ServerError,
        policy,
        nowSeconds,
      );
    }
    return {
      packet: encodePacket(
        {
          timestamp: nowSeconds,
          cache: policy.cacheResult,
          steps: outcome.steps.length > 0,
          isRequest: false,
          status: Status.Ok,
          cacheControl: policy.maxAge,
        },
        body,
      ),
      status: Status.Ok,
    };
  } catch (error: unknown) {
    if (!(error instanceof PyException)) throw error;
    return errorAnswer(error, Status.ClientError, policy, nowSeconds);
  }
}

/** Encodes an exception answer; one too large for a packet is replaced by a short one. */
function errorAnswer(
  error: PyException,
  status: number,
  policy: Pick<ServerPolicy, "cacheResult" | "maxAge">,
  nowSeconds: number,
): Answer {
  let body = encodeException(error);
  if (body.length + HEADER_SIZE > MAX_PACKET_SIZE) {
    body = encodeException(new PyException(error.type, ["error message too long to send"]));
  }
  return {
    packet: encodePacket(
      {
        timestamp: nowSeconds,
        cache: policy.cacheResult,
        steps: false,
        isRequest: false,
        status,
        cacheControl: policy.maxAge,
      },
      body,
    ),
    status,
    error: error.str(),
  };
}
