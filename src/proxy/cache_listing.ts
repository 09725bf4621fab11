/**
 * A cache's entries as a person reads them: age, max-age, status, S flag,
 * size, and the expression each request asked, decoded from its pickle and
 * written as infix text. What `calcnet cache show` prints.
 *
 * @module
 */

import { exprText } from "../calc/mod.ts";
import { decodeExpr, PickleError } from "../pickle/mod.ts";
import { decodeHeader, MAX_AGE_FOREVER } from "../protocol/mod.ts";
import { cacheKeyBinary, cacheKeySteps, type ResponseCache } from "./cache.ts";

/** One cache entry, described. */
export interface ListedEntry {
  /** Seconds since the response was made (its time stamp), at the given time. */
  readonly ageSeconds: number;
  /** The response's max-age in seconds; 65535 means forever. */
  readonly cacheControl: number;
  /** Seconds of freshness left, or undefined for forever. */
  readonly expiresInSeconds: number | undefined;
  /** The response's status code. */
  readonly statusCode: number;
  /** The request's S flag (steps asked for): part of the key. */
  readonly showSteps: boolean;
  /** Bytes of the request's data (the pickled expression). */
  readonly requestBytes: number;
  /** Bytes of the response packet, header included. */
  readonly responseBytes: number;
  /** The expression asked, as infix text; undefined when the data is not one. */
  readonly expression: string | undefined;
  /** Why the request data is not an expression calcnet reads (else undefined). */
  readonly expressionError: string | undefined;
}

/** A binary string (one character per byte) as bytes. */
function bytesOf(binary: string): Uint8Array {
  return Uint8Array.from(binary, (character) => character.charCodeAt(0));
}

/** The expression in request data, or why there is none. */
function expressionOf(
  data: Uint8Array,
  maxChars: number,
): { expression?: string; expressionError?: string } {
  try {
    return { expression: exprText(decodeExpr(data), maxChars) };
  } catch (error) {
    if (error instanceof PickleError) return { expressionError: error.message };
    throw error;
  }
}

/**
 * The entries of `cache`, least recently used first, judged at
 * `nowSeconds`; expressions longer than `maxExpressionChars` are cut off
 * with `…`.
 */
export function listEntries(
  cache: ResponseCache,
  nowSeconds: number,
  maxExpressionChars: number,
): ListedEntry[] {
  const { keys, packets } = cache.snapshot();
  return keys.map((key, i) => {
    const response = bytesOf(packets[i] ?? "");
    const { header } = decodeHeader(response);
    const data = bytesOf(cacheKeyBinary(key));
    const ageSeconds = nowSeconds - header.timestamp;
    const { expression, expressionError } = expressionOf(data, maxExpressionChars);
    return {
      ageSeconds,
      cacheControl: header.cacheControl,
      expiresInSeconds: header.cacheControl === MAX_AGE_FOREVER
        ? undefined
        : header.cacheControl - ageSeconds,
      statusCode: header.statusCode,
      showSteps: cacheKeySteps(key),
      requestBytes: data.length,
      responseBytes: response.length,
      expression,
      expressionError,
    };
  });
}
