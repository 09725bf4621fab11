/**
 * The course's own exceptions for what is wrong with a packet rather than
 * with an expression (docs/PROTOCOL.md §6, §7), shared by the server and the
 * proxy.
 *
 * @module
 */

import { PyException } from "./py_exception.ts";

/**
 * The course's exception for bytes that are not a packet (shorter than a
 * header, or a bad total length), answered with status 500 by its server and
 * its proxy alike.
 *
 * @example
 * ```ts
 * unpackingException("The data is too short (5 bytes) to be a valid header").str();
 * // "Error while unpacking request: The data is too short (5 bytes) to be a valid header"
 * ```
 */
export function unpackingException(reason: string): PyException {
  return new PyException("CalculatorClientError", [`Error while unpacking request: ${reason}`]);
}

/** The course's exception for a response sent where a request belongs. */
export function notARequestException(): PyException {
  return new PyException("TypeError", ["Received a response instead of a request"]);
}
