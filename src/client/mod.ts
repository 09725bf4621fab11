/**
 * The client side: a connection that sends requests and reads answers in
 * order ({@linkcode CalcConnection}), the request data of an expression
 * ({@linkcode requestData}), and the reading and printing of answers as the
 * course's client prints them ({@linkcode readAnswer},
 * {@linkcode answerLines}).
 *
 * @module
 */

export { answeredOk, answerLines, answerRecord, readAnswer } from "./answer.ts";
export { CalcConnection } from "./connection.ts";
export { requestData } from "./expression.ts";
