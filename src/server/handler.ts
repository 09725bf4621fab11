/**
 * The server's answer to one packet (docs/PROTOCOL.md §6), as a pure function of the
 * packet bytes, the policy and the time.
 *
 * @module
 */

import { decodeHeader, encodePacket, HEADER_SIZE, Status } from "../protocol/header.ts";
import { ProtocolError } from "../errors.ts";
import { PyException } from "../calc/py_exception.ts";
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
        new PyException("TypeError", ["Received a response instead of a request"]),
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
    if (body.length + HEADER_SIZE > 65535) {
      // The reference fails the same way when an answer cannot be framed.
      const size = body.length + HEADER_SIZE;
      return errorAnswer(
        new PyException("ValueError", [
          `Invalid total length: ${size} (must be between 12 and 65536 bytes inclusive)`,
        ]),
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

/**
 * The course's exception for bytes that are not a packet (shorter than a
 * header, or a bad total length), answered with status 500 by its server and
 * its proxy alike.
 */
export function unpackingException(reason: string): PyException {
  return new PyException("CalculatorClientError", [`Error while unpacking request: ${reason}`]);
}

/** Encodes an exception answer; one too large for a packet is replaced by a short one. */
function errorAnswer(
  error: PyException,
  status: number,
  policy: ServerPolicy,
  nowSeconds: number,
): Answer {
  let body = encodeException(error);
  if (body.length + HEADER_SIZE > 65535) {
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
