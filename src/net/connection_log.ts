/**
 * The log lines of a TCP service's connection events, shared by the server
 * and the proxy.
 *
 * @module
 */

import type { ConnectionEvent } from "./packet_handler.ts";

/**
 * Logs a connection event: opening and closing through `log` (routine, may
 * be off), refusals, evictions and failures of our own (with their stack)
 * through `warn`.
 */
export function logConnectionEvent(
  event: ConnectionEvent,
  log: ((line: string) => void) | undefined,
  warn: (line: string) => void,
): void {
  switch (event.kind) {
    case "open":
      return log?.(`${event.peer} connection established`);
    case "close":
      return log?.(`${event.peer} connection closed (${event.reason})`);
    case "refused":
      return warn(
        `${event.peer} connection refused: ${event.active} connections open, all busy (limit reached)`,
      );
    case "evicted":
      return warn(`${event.peer} connection ${event.reason}`);
    case "error":
      return warn(`${event.peer} internal error: ${describeError(event.error)}`);
    case "accept-failed":
      return warn(`cannot accept connections: ${describeError(event.error)} (retrying)`);
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}
