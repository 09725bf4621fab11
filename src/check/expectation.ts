/**
 * What an answer should be, what it was, and the comparison of the two:
 * status, flags, max-age, and the result (by Python `repr`) with its steps,
 * or the exception (class and `str()`).
 *
 * @module
 */

import { HEADER_SIZE, Status } from "../protocol/mod.ts";
import { formatNumber, type PyExceptionType } from "../calc/mod.ts";
import { decodeResponse, PickleError } from "../pickle/mod.ts";
import { CaseFailure } from "./case_failure.ts";
import type { Received } from "./probe.ts";

/** A result as the check compares it. */
export interface ResultText {
  /** What the answer is. */
  readonly kind: "result";
  /** Python's `repr()` of the result, e.g. "6", "3.0", "1e+20". */
  readonly repr: string;
  /** The steps; empty when not asked for or for a bare constant. */
  readonly steps: readonly string[];
}

/** An exception as the check compares it. */
export interface ErrorText {
  /** What the answer is. */
  readonly kind: "error";
  /** The exception's class. */
  readonly type: string;
  /** Its `str()`, as the course client prints it after "Got error: ". */
  readonly message: string;
}

/** The answer a request should get: a result, or one of the course's exceptions and its status. */
export type Expected = ResultText | ExpectedError;

/** An exception a request should get. */
export interface ExpectedError extends ErrorText {
  /** One of the course's exception classes. */
  readonly type: PyExceptionType;
  /** 400 or 500. */
  readonly statusCode: number;
}

/**
 * The C flag and max-age an answer must carry: a number N means C=1 and
 * cache control N (0 means C=0 and cache control 0); "any" accepts any
 * consistent pair.
 */
export type CacheControlRule = number | "any";

/** The decoded body of an answer: what {@linkcode Expected} is compared with. */
export type ObservedBody = ResultText | ErrorText | {
  readonly kind: "invalid";
  /** Why the data could not be read. */
  readonly message: string;
};

/** An answer as the checker reads it. */
export interface Observed {
  /** Status code. */
  readonly statusCode: number;
  /** T flag (must be 0 in an answer). */
  readonly isRequest: boolean;
  /** S flag. */
  readonly showSteps: boolean;
  /** C flag as sent (before the reference's normalisation). */
  readonly cacheResult: boolean;
  /** Cache control. */
  readonly cacheControl: number;
  /** Unix time stamp. */
  readonly timestamp: number;
  /** Reserved bits and padding are zero. */
  readonly clean: boolean;
  /** The data. */
  readonly body: ObservedBody;
}

/** Reads an answer's header and data. Undecodable data is an "invalid" body. */
export function observe(received: Received): Observed {
  const { header, warnings } = received;
  const codes = new Set(warnings.map((warning) => warning.code));
  return {
    statusCode: header.statusCode,
    isRequest: header.isRequest,
    showSteps: header.showSteps,
    // Normalisation clears C when the max-age is 0; the check wants the wire value.
    cacheResult: header.cacheResult || codes.has("response-cache-without-max-age"),
    cacheControl: header.cacheControl,
    timestamp: header.timestamp,
    clean: !codes.has("reserved-bits") && !codes.has("padding"),
    body: observeBody(received.packet.subarray(HEADER_SIZE)),
  };
}

function observeBody(data: Uint8Array): ObservedBody {
  try {
    const decoded = decodeResponse(data);
    if (decoded.kind === "result") {
      return { kind: "result", repr: formatNumber(decoded.result), steps: decoded.steps };
    }
    return { kind: "error", type: decoded.error.type, message: decoded.error.str() };
  } catch (error: unknown) {
    if (!(error instanceof PickleError)) throw error;
    return { kind: "invalid", message: error.message };
  }
}

/**
 * Compares an answer with what was expected.
 *
 * @throws {CaseFailure} naming every field that differs.
 */
export function expectAnswer(
  received: Received,
  expected: Expected,
  cacheControl: CacheControlRule,
): Observed {
  const observed = observe(received);
  const wrong = differences(observed, expected, cacheControl);
  if (wrong.length > 0) {
    throw new CaseFailure(
      describeExpected(expected, cacheControl),
      `${describeObserved(observed)} (wrong: ${wrong.join(", ")})`,
    );
  }
  return observed;
}

/** The fields of `observed` that do not match `expected`. */
export function differences(
  observed: Observed,
  expected: Expected,
  cacheControl: CacheControlRule,
): string[] {
  const wrong: string[] = [];
  const status = expected.kind === "result" ? Status.Ok : expected.statusCode;
  if (observed.isRequest) wrong.push("T flag");
  if (observed.statusCode !== status) wrong.push("status");
  const body = observed.body;
  if (expected.kind === "result") {
    if (body.kind !== "result") wrong.push("body");
    else {
      if (body.repr !== expected.repr) wrong.push("result");
      if (!sameSteps(body.steps, expected.steps)) wrong.push("steps");
    }
  } else if (body.kind !== "error") wrong.push("body");
  else {
    if (body.type !== expected.type) wrong.push("exception class");
    if (body.message !== expected.message) wrong.push("error text");
  }
  const stepsShown = body.kind === "result" && body.steps.length > 0;
  if (observed.showSteps !== stepsShown) wrong.push("S flag");
  if (!cacheControlMatches(observed, cacheControl)) wrong.push("C flag / max-age");
  if (!observed.clean) wrong.push("reserved bits / padding");
  return wrong;
}

function sameSteps(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((step, i) => step === b[i]);
}

function cacheControlMatches(observed: Observed, rule: CacheControlRule): boolean {
  if (rule === "any") return observed.cacheResult === (observed.cacheControl > 0);
  return rule === 0
    ? !observed.cacheResult && observed.cacheControl === 0
    : observed.cacheResult && observed.cacheControl === rule;
}

function describeFlags(status: number, steps: boolean, cacheControl: CacheControlRule): string {
  const cache = cacheControl === "any"
    ? "C and max-age consistent"
    : cacheControl === 0
    ? "C=0 max-age 0"
    : `C=1 max-age ${cacheControl}`;
  return `${status}, S=${steps ? 1 : 0}, ${cache}`;
}

/** One line for an expected answer. */
export function describeExpected(expected: Expected, cacheControl: CacheControlRule): string {
  if (expected.kind === "result") {
    return `${describeFlags(Status.Ok, expected.steps.length > 0, cacheControl)}: ${
      describeResult(expected.repr, expected.steps)
    }`;
  }
  return `${
    describeFlags(expected.statusCode, false, cacheControl)
  }: ${expected.type}: ${expected.message}`;
}

/** One line for an observed answer. */
export function describeObserved(observed: Observed): string {
  const flags =
    `${observed.statusCode}${observed.isRequest ? " T=1" : ""}, S=${observed.showSteps ? 1 : 0}, ` +
    `C=${
      observed.cacheResult ? 1 : 0
    } max-age ${observed.cacheControl}, time stamp ${observed.timestamp}`;
  const body = observed.body;
  switch (body.kind) {
    case "result":
      return `${flags}: ${describeResult(body.repr, body.steps)}`;
    case "error":
      return `${flags}: ${body.type}: ${body.message}`;
    case "invalid":
      return `${flags}: undecodable data (${body.message})`;
  }
}

/** Longest text shown for a result or a list of steps; longer ones are cut. */
const SHOWN_CHARACTERS = 600;

function describeResult(repr: string, steps: readonly string[]): string {
  const shown = shorten(repr);
  return steps.length === 0 ? shown : `${shown} with steps ${shorten(JSON.stringify(steps))}`;
}

function shorten(text: string): string {
  return text.length > SHOWN_CHARACTERS
    ? `${text.slice(0, SHOWN_CHARACTERS / 2)}…(${text.length} characters)`
    : text;
}

/** The answer to a result with the steps asked for (`steps`) or not. */
export function resultAnswer(repr: string, steps: readonly string[], askSteps: boolean): Expected {
  return { kind: "result", repr, steps: askSteps ? steps : [] };
}
