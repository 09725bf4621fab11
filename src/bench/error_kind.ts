/**
 * The kinds of failure a load generator counts, and how a socket error maps
 * onto them.
 *
 * @module
 */

import { isConnectionDrop } from "../net/mod.ts";

/**
 * Why an exchange failed:
 * - `refused`: the connection was refused;
 * - `no-local-port`: no local address or port left to connect from;
 * - `reset`: the connection was reset or broke while sending or reading;
 * - `closed`: the peer closed the connection before the whole answer came;
 * - `timeout`: no connection or no whole answer in time;
 * - `bad-frame`: the answer could not be framed or was not an answer;
 * - `status N`: a framed answer whose status was N, not 200.
 */
export type ErrorKind =
  | "refused"
  | "no-local-port"
  | "reset"
  | "closed"
  | "timeout"
  | "bad-frame"
  | `status ${number}`;

/**
 * The kind of a socket error, or undefined when `error` is not one a peer
 * can cause (a bug the caller should rethrow).
 */
export function socketErrorKind(error: unknown): ErrorKind | undefined {
  if (error instanceof Deno.errors.ConnectionRefused) return "refused";
  if (error instanceof Deno.errors.AddrNotAvailable || error instanceof Deno.errors.AddrInUse) {
    return "no-local-port";
  }
  if (isConnectionDrop(error)) return "reset";
  if (error instanceof Deno.errors.TimedOut) return "timeout";
  return undefined;
}
