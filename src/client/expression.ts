/**
 * From what a person types to the request data the course client would send.
 *
 * @module
 */

import { freshRandomState, parseExpression, withRandomState } from "../calc/mod.ts";
import { encodeExpr } from "../pickle/mod.ts";

/**
 * Parses `text` and pickles it as the course client does; a `rand` call
 * gets a freshly seeded `random.Random` state, as each Python client run has.
 *
 * @throws {UsageError} with a caret under the column, for a parse error.
 */
export function requestData(text: string): Uint8Array {
  return encodeExpr(withRandomState(parseExpression(text), freshRandomState()));
}
