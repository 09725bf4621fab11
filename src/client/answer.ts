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

/**
 * The most characters {@linkcode answerLines} prints for the steps of one
 * answer. The course client indents every step after the second by the
 * length of the first: a 64 KiB answer that uses one long first step and
 * then thousands of empty ones (two bytes each) would print hundreds of
 * millions of characters. A real server's steps need far less: each shows
 * what is left of the expression, so one long first step means few steps.
 */
export const MAX_PRINTED_STEPS = 16 * 1024 * 1024;

/**
 * The lines the course client prints for an answer (stdout).
 *
 * @throws {RangeError} when the steps would print more than
 * {@linkcode MAX_PRINTED_STEPS} characters.
 */
export function answerLines(answer: DecodedAnswer): string[] {
  switch (answer.kind) {
    case "result": {
      const lines = [`Result: ${formatNumber(answer.result)}`];
      if (answer.steps.length === 0) return lines;
      const printed = printedLength(answer.steps);
      if (printed > MAX_PRINTED_STEPS) {
        throw new RangeError(
          `its steps would print ${printed} characters, more than ${MAX_PRINTED_STEPS}`,
        );
      }
      lines.push("Steps:", formatSteps(answer.steps));
      return lines;
    }
    case "error":
      return [`Got error: ${answer.error.message}`];
    case "invalid":
      return [`Unexpected error: ${answer.message}`];
  }
}

/** The length of `formatSteps(steps)`, found without making it. */
function printedLength(steps: readonly string[]): number {
  const [first, ...rest] = steps;
  if (first === undefined) return 0;
  // Every further step is ` = step` on a line of its own, indented by the
  // first, except the second, which follows the first on its line.
  let length = first.length;
  for (const step of rest) length += first.length + " = ".length + "\n".length + step.length;
  return rest.length === 0 ? length : length - first.length - "\n".length;
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
