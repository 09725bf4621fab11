/**
 * Decodes one protocol message for a person: every header field as sent
 * (before the reference's normalisation), the anomalies that normalisation
 * would warn about, and the payload through calcnet's own safe decoders —
 * a request's expression as infix text, a response's result, steps or
 * error, or why the pickle is refused.
 *
 * @module
 */

import { EXCEPTION_MODULE, exprText, formatNumber } from "../calc/mod.ts";
import { decodeExpr, decodeResponse, PickleError } from "../pickle/mod.ts";
import {
  decodeHeader,
  FLAGS_OFFSET,
  type Header,
  HEADER_SIZE,
  headerAsSent,
  type HeaderWarning,
  PADDING_OFFSET,
} from "../protocol/mod.ts";

/**
 * The header fields exactly as sent: {@linkcode Header}'s fields before the
 * reference's normalisation, with the whole flag word and the padding.
 */
export interface RawHeader extends Header {
  /** The whole flag word. */
  readonly flags: number;
  /** The two padding bytes as a number (0 normally). */
  readonly padding: number;
}

/** A message's decoded data. */
export type Payload =
  | { readonly kind: "expression"; readonly text: string }
  | {
    readonly kind: "result";
    /** Python's type name: int, float or bool. */
    readonly type: "int" | "float" | "bool";
    /** The value as Python prints it. */
    readonly value: string;
    readonly steps: readonly string[];
  }
  | {
    readonly kind: "error";
    /** The exception class, e.g. `ZeroDivisionError`. */
    readonly errorClass: string;
    /** Its module: `builtins` or `api`. */
    readonly module: string;
    /** `str(exception)`: what the course client prints after "Got error: ". */
    readonly message: string;
    /** `repr(exception)`. */
    readonly repr: string;
  }
  | {
    readonly kind: "refused";
    /** calcnet's error class (PickleError, NotAnExpressionError, ComplexResultError). */
    readonly errorClass: string;
    readonly message: string;
  }
  | {
    readonly kind: "incomplete";
    /** Data bytes present. */
    readonly have: number;
    /** Data bytes the total length announces. */
    readonly expected: number;
  };

/** A decoded message. */
export interface DecodedMessage {
  /** Whether T says request or response. */
  readonly kind: "request" | "response";
  /** The header as sent. */
  readonly header: RawHeader;
  /** What the reference's normalisation would warn about, in its order. */
  readonly anomalies: readonly HeaderWarning[];
  /** The decoded data. */
  readonly payload: Payload;
}

/** The meaning of each status code a course response uses. */
const STATUS_MEANINGS: Readonly<Record<number, string>> = {
  200: "OK",
  400: "client error",
  500: "server error",
  999: "unknown",
};

/**
 * What a status code means: a response's 200 "OK", 400 "client error", 500
 * "server error", 999 "unknown"; a request's 0 "none"; anything else "not
 * a course status".
 */
export function statusText(status: number, isRequest: boolean): string {
  if (isRequest) return status === 0 ? "none" : "not a course status";
  return STATUS_MEANINGS[status] ?? "not a course status";
}

/**
 * Decodes `bytes`, a message whose first 12 bytes are a header; with
 * `complete` false the data is cut short and is not decoded.
 *
 * @throws {ProtocolError} when `bytes` hold no readable header (less than
 * 12 bytes, or a total length below 12).
 */
export function decodeMessage(bytes: Uint8Array, complete = true): DecodedMessage {
  const { warnings } = decodeHeader(bytes);
  const header = rawHeader(bytes);
  const data = bytes.subarray(HEADER_SIZE);
  const kind = header.isRequest ? "request" : "response";
  const payload: Payload = complete
    ? decodePayload(header.isRequest, data)
    : { kind: "incomplete", have: data.length, expected: header.totalLength - HEADER_SIZE };
  return { kind, header, anomalies: warnings, payload };
}

function rawHeader(bytes: Uint8Array): RawHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  return {
    ...headerAsSent(bytes),
    flags: view.getUint16(FLAGS_OFFSET),
    padding: view.getUint16(PADDING_OFFSET),
  };
}

function decodePayload(isRequest: boolean, data: Uint8Array): Payload {
  try {
    if (isRequest) return { kind: "expression", text: exprText(decodeExpr(data)) };
    const response = decodeResponse(data);
    if (response.kind === "result") {
      const { result } = response;
      const type = typeof result === "bigint"
        ? "int"
        : typeof result === "boolean"
        ? "bool"
        : "float";
      return { kind: "result", type, value: formatNumber(result), steps: response.steps };
    }
    const { error } = response;
    return {
      kind: "error",
      errorClass: error.type,
      module: EXCEPTION_MODULE[error.type],
      message: error.str(),
      repr: error.repr(),
    };
  } catch (error: unknown) {
    if (!(error instanceof PickleError)) throw error;
    return { kind: "refused", errorClass: error.name, message: error.message };
  }
}
