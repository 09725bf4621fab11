/**
 * What a response means to a user: the course client's printout and a JSON
 * record for scripts. Pure.
 *
 * @module
 */

import { HEADER_SIZE, Status } from "../protocol/mod.ts";
import { formatNumber, formatSteps, type PyNumber } from "../calc/mod.ts";
import { type DecodedResponse, decodeResponse, PickleError } from "../pickle/mod.ts";
import type { Exchange } from "./connection.ts";

/**
 * A decoded answer: the response's result and steps or its exception, as
 * {@linkcode decodeResponse} reads them, or why its data could not be read.
 */
export type DecodedAnswer = DecodedResponse | {
  readonly kind: "invalid";
  readonly message: string;
};

/** Decodes a response's data; undecodable data is an "invalid" answer, not a throw. */
export function readAnswer(exchange: Exchange): DecodedAnswer {
  try {
    return decodeResponse(exchange.response.subarray(HEADER_SIZE));
  } catch (error: unknown) {
    if (!(error instanceof PickleError)) throw error;
    return { kind: "invalid", message: `Received data is not a valid result (${error.message})` };
  }
}

/** The lines the course client prints for an answer (stdout). */
export function answerLines(answer: DecodedAnswer): string[] {
  switch (answer.kind) {
    case "result": {
      const lines = [`Result: ${formatNumber(answer.result)}`];
      if (answer.steps.length > 0) lines.push("Steps:", formatSteps(answer.steps));
      return lines;
    }
    case "error":
      return [`Got error: ${answer.error.message}`];
    case "invalid":
      return [`Unexpected error: ${answer.message}`];
  }
}

/** The Python type name of a result. */
function pythonType(value: PyNumber): "int" | "float" | "bool" {
  return typeof value === "bigint" ? "int" : typeof value === "number" ? "float" : "bool";
}

/** One JSON record per answer, for `--json`. */
export function answerRecord(
  expression: string,
  exchange: Exchange,
  answer: DecodedAnswer,
): Record<string, unknown> {
  const header = exchange.header;
  const base = {
    expression,
    status: header.statusCode,
    response_time_stamp: header.timestamp,
    cacheable: header.cacheResult,
    max_age: header.cacheControl,
    request_bytes: exchange.request.length,
    response_bytes: exchange.response.length,
    round_trip_ms: Number(exchange.roundTripMs.toFixed(3)),
  };
  switch (answer.kind) {
    case "result":
      return {
        ...base,
        result: formatNumber(answer.result),
        type: pythonType(answer.result),
        steps: answer.steps,
      };
    case "error":
      return { ...base, error: { type: answer.error.type, message: answer.error.message } };
    case "invalid":
      return { ...base, error: { type: "InvalidResponse", message: answer.message } };
  }
}

/** Whether the answer is a success (200 with a readable result). */
export function answeredOk(exchange: Exchange, answer: DecodedAnswer): boolean {
  return exchange.header.statusCode === Status.Ok && answer.kind === "result";
}
