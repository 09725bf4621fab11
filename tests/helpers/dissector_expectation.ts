/**
 * What the Wireshark dissector must show for a packet, worked out with
 * calcnet's own decoders (header, pickle, number printing, infix text), in
 * the shape {@linkcode DissectedMessage} has, for the tests to compare.
 *
 * @module
 */

import { exprText } from "../../src/calc/expr_text.ts";
import type { Expr } from "../../src/calc/expr.ts";
import { formatNumber } from "../../src/calc/number_format.ts";
import type { PyException, PyExceptionArg } from "../../src/calc/py_exception.ts";
import {
  ComplexResultError,
  decodeExpr,
  decodeResponse,
  NotAnExpressionError,
  PickleError,
} from "../../src/pickle/mod.ts";
import { decodeHeader, HEADER_SIZE } from "../../src/protocol/mod.ts";
import { ProtocolError } from "../../src/base/errors.ts";
import assert from "node:assert/strict";
import type { DissectedFrame, DissectedMessage } from "./tshark.ts";

/** The fields and expert infos a message must show (its request/response links aside). */
export interface ExpectedMessage {
  readonly fields: Record<string, string[]>;
  readonly experts: string[];
}

/** The fields that link a message to its partner: they depend on the capture, not the packet. */
export const LINK_FIELDS: readonly string[] = [
  "calcnet.request_in",
  "calcnet.response_in",
  "calcnet.time",
];

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** An absolute time as Wireshark shows a UTC time field, e.g. "Nov 14, 2023 22:13:20.000000000 UTC". */
export function wiresharkUtc(seconds: number): string {
  const date = new Date(seconds * 1000);
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, " ")}, ` +
    `${date.getUTCFullYear()} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:` +
    `${two(date.getUTCSeconds())}.000000000 UTC`;
}

function hex4(value: number): string {
  return `0x${value.toString(16).padStart(4, "0")}`;
}

/** The header's raw fields, as on the wire (the dissector shows them unnormalised). */
function headerFields(packet: Uint8Array): Record<string, string[]> {
  const view = new DataView(packet.buffer, packet.byteOffset, HEADER_SIZE);
  const flags = view.getUint16(6);
  return {
    "calcnet.timestamp": [wiresharkUtc(view.getUint32(0))],
    "calcnet.length": [String(view.getUint16(4))],
    "calcnet.flags": [hex4(flags)],
    "calcnet.reserved": [String(flags >>> 13)],
    "calcnet.flags.cache": [flags & 0x1000 ? "1" : "0"],
    "calcnet.flags.steps": [flags & 0x0800 ? "1" : "0"],
    "calcnet.flags.request": [flags & 0x0400 ? "1" : "0"],
    "calcnet.status": [String(flags & 0x03ff)],
    "calcnet.max_age": [String(view.getUint16(8))],
    "calcnet.padding": [hex4(view.getUint16(10))],
  };
}

/** Expression nodes counted as calcnet's decoder counts them: a shared sub-tree per use. */
export function nodeCount(expr: Expr): number {
  switch (expr.kind) {
    case "binary":
      return 1 + nodeCount(expr.left) + nodeCount(expr.right);
    case "unary":
      return 1 + nodeCount(expr.operand);
    case "call":
      return expr.args.reduce((sum, arg) => sum + nodeCount(arg), 1);
    default:
      return 1;
  }
}

function argText(arg: PyExceptionArg): string {
  if (typeof arg === "string") return arg;
  if (typeof arg === "bigint") return arg.toString();
  return arg.repr();
}

function errorFields(error: PyException): Record<string, string[]> {
  return {
    "calcnet.error.type": [error.type],
    "calcnet.error.message": [error.str()],
    "calcnet.error.repr": [error.repr()],
    ...(error.args.length > 0 ? { "calcnet.error.arg": error.args.map(argText) } : {}),
  };
}

/** The payload's fields and expert infos, as calcnet decodes the data. */
function payloadFields(data: Uint8Array, isRequest: boolean): ExpectedMessage {
  const protocol: Record<string, string[]> = data[0] === 0x80 && data.length > 1
    ? { "calcnet.pickle.protocol": [String(data[1])] }
    : {};
  try {
    if (isRequest) {
      const expr = decodeExpr(data);
      return {
        fields: {
          ...protocol,
          "calcnet.expression": [exprText(expr)],
          "calcnet.expression.nodes": [String(nodeCount(expr))],
        },
        experts: exprText(expr).endsWith("…") ? ["text_cut"] : [],
      };
    }
    const response = decodeResponse(data);
    if (response.kind === "error") {
      return { fields: { ...protocol, ...errorFields(response.error) }, experts: [] };
    }
    const type = typeof response.result === "bigint"
      ? "int"
      : typeof response.result === "number"
      ? "float"
      : "bool";
    return {
      fields: {
        ...protocol,
        "calcnet.result.type": [type],
        "calcnet.result": [formatNumber(response.result)],
        "calcnet.steps": [String(response.steps.length)],
        ...(response.steps.length > 0 ? { "calcnet.step": response.steps } : {}),
      },
      experts: [],
    };
  } catch (error: unknown) {
    if (error instanceof ComplexResultError) return { fields: {}, experts: ["complex_result"] };
    if (error instanceof NotAnExpressionError) return { fields: {}, experts: ["not_expression"] };
    if (error instanceof PickleError) return { fields: {}, experts: ["malformed_pickle"] };
    throw error;
  }
}

/**
 * What the dissector must show for one complete packet: the raw header
 * fields, an expert info per normalisation warning calcnet's `decodeHeader`
 * gives, and the payload as calcnet decodes it (or the expert info for why
 * it does not). A total length below 12 shows the header only.
 */
export function expectedMessage(packet: Uint8Array): ExpectedMessage {
  const fields = headerFields(packet);
  let decoded;
  try {
    decoded = decodeHeader(packet);
  } catch (error: unknown) {
    if (!(error instanceof ProtocolError)) throw error;
    return { fields, experts: ["length_mismatch"] };
  }
  const experts = decoded.warnings.map((warning) => warning.code.replaceAll("-", "_"));
  const data = packet.subarray(HEADER_SIZE);
  const payload = payloadFields(data, decoded.header.isRequest);
  return {
    fields: {
      ...fields,
      "calcnet.data": [[...data].map((b) => b.toString(16).padStart(2, "0")).join(":")],
      ...payload.fields,
    },
    experts: [...experts, ...payload.experts],
  };
}

/** Every calcnet message of the capture, in order. */
export function messagesOf(frames: readonly DissectedFrame[]): DissectedMessage[] {
  return frames.flatMap((frame) => frame.messages);
}

/** A message's fields without the links to its partner, as a plain object. */
export function ownFields(message: DissectedMessage): Record<string, string[]> {
  return Object.fromEntries(
    [...message.fields].filter(([name]) => !LINK_FIELDS.includes(name)).map((
      [name, values],
    ) => [name, [...values]]),
  );
}

/** Asserts that each packet shows exactly what calcnet's decoders say, in order. */
export function assertDecodedAsCalcnet(
  frames: readonly DissectedFrame[],
  packets: readonly Uint8Array[],
): void {
  const messages = messagesOf(frames);
  assert.equal(messages.length, packets.length, "one calcnet message per packet");
  packets.forEach((packet, i) => {
    const expected = expectedMessage(packet);
    const message = messages[i] as DissectedMessage;
    assert.deepEqual(ownFields(message), expected.fields, `message ${i}`);
    assert.deepEqual(
      [...message.experts].sort(),
      [...expected.experts].sort(),
      `message ${i} experts`,
    );
  });
}

/** Asserts that no frame with a TCP payload is left to "data", TLS or SSL. */
export function assertNothingUndecoded(frames: readonly DissectedFrame[]): void {
  for (const frame of frames) {
    assert.doesNotMatch(
      frame.protocols,
      /:(data|tls|ssl)\b/,
      `frame ${frame.number}: ${frame.protocols}`,
    );
  }
}
