/**
 * What `calcnet server` and `calcnet proxy` share as listening services: the
 * address flags, the connection-limit flags, and a one-line error when the
 * address cannot be bound.
 *
 * @module
 */

import { ConnectionError } from "../errors.ts";
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "../net/mod.ts";
import { type FlagSpec, integerFlag, type ParsedArgs, secondsFlag, stringFlag } from "./flags.ts";

/** `--host` and `--port`, with `defaultPort`. */
export function listenFlags(defaultPort: number): Record<string, FlagSpec> {
  return {
    host: {
      type: "string",
      value: "HOST",
      description: "interface to listen on",
      default: "127.0.0.1",
    },
    port: {
      type: "string",
      value: "PORT",
      description: "port to listen on (0: any free port)",
      default: String(defaultPort),
    },
  };
}

/** The address `--host` and `--port` give. */
export function listenAddress(args: ParsedArgs): { hostname: string; port: number } {
  return { hostname: stringFlag(args, "host"), port: integerFlag(args, "port", 0, 65535) };
}

/** Calls `listen`, turning "address in use" and the like into a one-line error. */
export function listenOrExplain<T>(listen: () => T, hostname: string, port: number): T {
  try {
    return listen();
  } catch (error: unknown) {
    if (
      error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.AddrNotAvailable
    ) {
      throw new ConnectionError(`cannot listen on ${hostname}:${port}: ${error.message}`);
    }
    throw error;
  }
}

/** The connection-limit flags, with their defaults. */
export const CONNECTION_FLAGS: Readonly<Record<string, FlagSpec>> = {
  "max-connections": {
    type: "string",
    value: "N",
    description:
      "connections served at once; at the limit a new one replaces the longest unfinished or idle",
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
  "packet-timeout": {
    type: "string",
    value: "SECONDS",
    description: "answer and close a packet still unfinished this long after its first byte",
    default: String(DEFAULT_CONNECTION_LIMITS.packetTimeoutMs / 1000),
  },
  "write-timeout": {
    type: "string",
    value: "SECONDS",
    description: "close a connection whose peer takes no bytes of an answer for this long",
    default: String(DEFAULT_CONNECTION_LIMITS.writeTimeoutMs / 1000),
  },
};

/** The limits those flags set. */
export function connectionLimits(args: ParsedArgs): Partial<ConnectionLimits> {
  return {
    maxConnections: integerFlag(args, "max-connections", 1, 1_000_000),
    idleTimeoutMs: secondsFlag(args, "idle-timeout"),
    frameTimeoutMs: secondsFlag(args, "frame-timeout"),
    packetTimeoutMs: secondsFlag(args, "packet-timeout"),
    writeTimeoutMs: secondsFlag(args, "write-timeout"),
  };
}
