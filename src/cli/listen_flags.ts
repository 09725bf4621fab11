/**
 * What `calcnet server` and `calcnet proxy` share as listening services: the
 * address flags, the connection-limit flags, and a one-line error when the
 * address cannot be bound.
 *
 * @module
 */

import { ConnectionError } from "../base/mod.ts";
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS, isLookupFailure } from "../net/mod.ts";
import { type Flag, flag, MAX_PORT } from "../term/mod.ts";

/** The address flags of a listening service. */
export interface ListenFlags {
  /** `--host` (the course's `-H`). */
  readonly host: Flag<string>;
  /** `--port` (the course's `-p`). */
  readonly port: Flag<number>;
}

/**
 * `--host` and `--port`, with `defaultPort`; `aliases` adds spellings (the
 * course's proxy says `-ph`/`--proxy_host` and `-pp`/`--proxy_port`).
 */
export function listenFlags(
  defaultPort: number,
  aliases: { readonly host?: readonly string[]; readonly port?: readonly string[] } = {},
): ListenFlags {
  return {
    host: flag.host("interface to listen on", {
      value: "HOST",
      default: "127.0.0.1",
      aliases: ["-H", ...aliases.host ?? []],
    }),
    port: flag.integer("port to listen on (0: any free port)", {
      value: "PORT",
      min: 0,
      max: MAX_PORT,
      default: defaultPort,
      short: "p",
      aliases: aliases.port,
    }),
  } as const;
}

/** Calls `listen`, turning "address in use" and the like into a one-line error. */
export function listenOrExplain<T>(listen: () => T, hostname: string, port: number): T {
  try {
    return listen();
  } catch (error: unknown) {
    if (
      error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.AddrNotAvailable || isLookupFailure(error)
    ) {
      throw new ConnectionError(`cannot listen on ${hostname}:${port}: ${error.message}`);
    }
    throw error;
  }
}

const seconds = (ms: number): number => ms / 1000;

/** The connection-limit flags, with their defaults. */
export const CONNECTION_FLAGS = {
  "max-connections": flag.integer(
    "connections served at once; at the limit a new one replaces the longest unfinished or idle",
    { min: 1, max: 1_000_000, default: DEFAULT_CONNECTION_LIMITS.maxConnections },
  ),
  "idle-timeout": flag.seconds("close a connection silent for this long between requests", {
    default: seconds(DEFAULT_CONNECTION_LIMITS.idleTimeoutMs),
  }),
  "frame-timeout": flag.seconds(
    "answer and close an unfinished packet with no new bytes for this long",
    { default: seconds(DEFAULT_CONNECTION_LIMITS.frameTimeoutMs) },
  ),
  "packet-timeout": flag.seconds(
    "answer and close a packet still unfinished this long after its first byte",
    { default: seconds(DEFAULT_CONNECTION_LIMITS.packetTimeoutMs) },
  ),
  "write-timeout": flag.seconds(
    "close a connection whose peer takes no bytes of an answer for this long",
    { default: seconds(DEFAULT_CONNECTION_LIMITS.writeTimeoutMs) },
  ),
} as const;

/** The limits those flags set. */
export function connectionLimits(
  flags: {
    readonly maxConnections: number;
    readonly idleTimeout: number;
    readonly frameTimeout: number;
    readonly packetTimeout: number;
    readonly writeTimeout: number;
  },
): Partial<ConnectionLimits> {
  return {
    maxConnections: flags.maxConnections,
    idleTimeoutMs: flags.idleTimeout,
    frameTimeoutMs: flags.frameTimeout,
    packetTimeoutMs: flags.packetTimeout,
    writeTimeoutMs: flags.writeTimeout,
  };
}
