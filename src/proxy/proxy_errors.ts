/**
 * The proxy's own answers: the course's 500 `CalculatorServerError('Internal
 * proxy error', cause)`, never cacheable (C=0, max-age 0), for every way the
 * proxy cannot give the server's answer; and the check that what the server
 * sent is an answer at all.
 *
 * @module
 */

import { decodeHeader, encodePacket, type Header, HEADER_SIZE, Status } from "../protocol/mod.ts";
import { ProtocolError } from "../base/mod.ts";
import { notARequestException, PyException, unpackingException } from "../calc/mod.ts";
import { ComplexResultError, decodeResponse, encodeException, PickleError } from "../pickle/mod.ts";
import { UpstreamError } from "./upstream_error.ts";

/** The course's text for a request the proxy cannot answer without the server. */
export const SERVER_DOWN_TEXT =
  "Connection refused by server and the request was not in the cache/it was stale";

/** What every proxy error ends with, as the course words it. */
const NOT_CACHED = "and the request was not in the cache/it was stale";

/** The statuses a server may answer with. */
const ANSWER_STATUSES: ReadonlySet<number> = new Set([
  Status.Ok,
  Status.ClientError,
  Status.ServerError,
]);

/**
 * A 500 made by the proxy: C=0, cache control 0, and
 * `CalculatorServerError('Internal proxy error', cause)`.
 */
export function proxyError(cause: PyException, nowSeconds: number): Uint8Array {
  return encodePacket(
    {
      timestamp: nowSeconds,
      cacheResult: false,
      showSteps: false,
      isRequest: false,
      statusCode: Status.ServerError,
      cacheControl: 0,
    },
    encodeException(new PyException("CalculatorServerError", ["Internal proxy error", cause])),
  );
}

/** The 500 for a failed trip to the server (the course's text when it refused). */
export function upstreamError(
  error: UpstreamError,
  answerTimeoutMs: number,
  nowSeconds: number,
): Uint8Array {
  return proxyError(
    new PyException("CalculatorServerError", [upstreamText(error, answerTimeoutMs)]),
    nowSeconds,
  );
}

function upstreamText(error: UpstreamError, answerTimeoutMs: number): string {
  switch (error.failure) {
    case "refused":
      return SERVER_DOWN_TEXT;
    case "unreachable":
      return `Server cannot be reached (${error.message}) ${NOT_CACHED}`;
    case "timeout":
      return `Server did not answer within ${answerTimeoutMs / 1000} s ${NOT_CACHED}`;
    case "busy":
      return `Server too busy (${error.message}) ${NOT_CACHED}`;
    case "broken":
      return `Server closed the connection without answering ${NOT_CACHED}`;
    case "invalid":
      return `Invalid answer from server: ${error.message}`;
  }
}

/** The 500 for a request that waited too long for an identical one's answer. */
export function waitedTooLongError(waitedMs: number, nowSeconds: number): Uint8Array {
  return proxyError(
    new PyException("CalculatorServerError", [
      `Server did not answer within ${waitedMs / 1000} s ${NOT_CACHED}`,
    ]),
    nowSeconds,
  );
}

/** The 500 for a response sent to the proxy. */
export function notARequestError(nowSeconds: number): Uint8Array {
  return proxyError(notARequestException(), nowSeconds);
}

/** The 500 for bytes that are not a request packet, and its text for the log. */
export function unparseableError(
  reason: string,
  nowSeconds: number,
): { packet: Uint8Array; text: string } {
  const cause = unpackingException(reason);
  return { packet: proxyError(cause, nowSeconds), text: cause.str() };
}

/** The 500 when the proxy itself failed (a bug or a resource failure; the log has the rest). */
export function internalProxyError(nowSeconds: number): Uint8Array {
  return proxyError(
    new PyException("CalculatorServerError", ["the proxy failed unexpectedly"]),
    nowSeconds,
  );
}

/**
 * The header of a frame the server sent, once it has proved to be an
 * answer: a response (T=0) with a known status whose data is a result or an
 * exception (a complex result, which the course server sends for
 * `(-8) ** (1 / 3)`, included). Only such frames are served or cached.
 *
 * @throws {UpstreamError} ("invalid") for anything else.
 */
export function readServerAnswer(frame: Uint8Array, server: string): Header {
  let header: Header;
  try {
    header = decodeHeader(frame).header;
  } catch (error: unknown) {
    if (!(error instanceof ProtocolError)) throw error;
    throw new UpstreamError("invalid", `${server} sent ${error.message}`);
  }
  if (header.isRequest) {
    throw new UpstreamError("invalid", `${server} sent a request instead of an answer`);
  }
  if (!ANSWER_STATUSES.has(header.statusCode)) {
    throw new UpstreamError("invalid", `${server} answered with status ${header.statusCode}`);
  }
  try {
    decodeResponse(frame.subarray(HEADER_SIZE));
  } catch (error: unknown) {
    if (!(error instanceof PickleError)) throw error;
    if (!(error instanceof ComplexResultError)) {
      throw new UpstreamError(
        "invalid",
        `${server} sent an answer that is not one: ${error.message}`,
      );
    }
  }
  return header;
}
