/**
 * The client side: a connection that sends requests and reads answers in
 * order ({@linkcode CalcConnection}), the request data of an expression
 * ({@linkcode requestData}), and the reading and printing of answers as the
 * course's client prints them ({@linkcode readAnswer},
 * {@linkcode answerLines}), whether an answer came from a cache
 * ({@linkcode freshnessOf}), and a connection that survives the peer closing
 * it between requests ({@linkcode LastingConnection}).
 *
 * @module
 */

export {
  answeredOk,
  answerLines,
  answerRecord,
  type DecodedAnswer,
  MAX_PRINTED_STEPS,
  readAnswer,
} from "./answer.ts";
export {
  CalcConnection,
  type ConnectOptions,
  type Exchange,
  PeerClosedError,
} from "./connection.ts";
export { requestData } from "./expression.ts";
export { type Freshness, freshnessOf } from "./freshness.ts";
export { LastingConnection } from "./lasting_connection.ts";
