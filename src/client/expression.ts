/**
 * From what a person types to the request data the course client would send.
 *
 * @module
 */

import { parseExpression } from "../calc/parser.ts";
import { freshRandomState, withRandomState } from "../calc/random_state.ts";
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
