/**
 * `calcnet demo`: the assignment's experiments replayed in-process with a
 * server, a proxy and a client on free ports ({@linkcode runDemo}).
 *
 * @module
 */

export { runDemo } from "./demo.ts";
