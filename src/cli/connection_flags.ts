/**
 * The connection-limit flags `calcnet server` and `calcnet proxy` share.
 *
 * @module
 */

import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "../net/tcp_service.ts";
import { type FlagSpec, integerFlag, type ParsedArgs, secondsFlag } from "./flags.ts";

/** `--max-connections`, `--idle-timeout` and `--frame-timeout`, with their defaults. */
export const CONNECTION_FLAGS: Readonly<Record<string, FlagSpec>> = {
  "max-connections": {
    type: "string",
    value: "N",
    description: "connections served at once; more are closed at once",
    default: String(DEFAULT_CONNECTION_LIMITS.maxConnections),
  },
  "idle-timeout": {
    type: "string",
    value: "SECONDS",
    description: "close a connection silent for this long between requests",
    default: String(DEFAULT_CONNECTION_LIMITS.idleTimeoutMs / 1000),
  },
  "frame-timeout": {
    type: "string",
    value: "SECONDS",
    description: "answer and close an unfinished packet with no new bytes for this long",
    default: String(DEFAULT_CONNECTION_LIMITS.frameTimeoutMs / 1000),
  },
};

/** The limits those flags set. */
export function connectionLimits(args: ParsedArgs): Partial<ConnectionLimits> {
  return {
    maxConnections: integerFlag(args, "max-connections", 1, 1_000_000),
    idleTimeoutMs: secondsFlag(args, "idle-timeout"),
    frameTimeoutMs: secondsFlag(args, "frame-timeout"),
  };
}
