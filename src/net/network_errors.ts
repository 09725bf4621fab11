/**
 * Telling the network's failures (a peer went away, a connection could not be
 * made) from bugs, which callers rethrow.
 *
 * @module
 */

/** Whether `error` is the peer going away, or a connection closed under us (not a bug). */
export function isConnectionDrop(error: unknown): error is Error {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.NotConnected;
}

/**
 * Whether `error` is a host name that could not be resolved. Deno throws a
 * plain `Error` for it (no class of `Deno.errors`), so its text tells.
 */
export function isLookupFailure(error: unknown): error is Error {
  return error instanceof Error && Object.getPrototypeOf(error) === Error.prototype &&
    error.message.startsWith(LOOKUP_FAILURE);
}

/** How Deno's message for an unresolvable host name begins. */
const LOOKUP_FAILURE = "failed to lookup address information";

/** Whether `error` is the network refusing or failing a connection or its use (not a bug). */
export function isConnectFailure(error: unknown): error is Error {
  return error instanceof Deno.errors.ConnectionRefused || isLookupFailure(error) ||
    error instanceof Deno.errors.TimedOut ||
    error instanceof Deno.errors.AddrNotAvailable ||
    error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.NetworkUnreachable ||
    error instanceof Deno.errors.PermissionDenied ||
    isConnectionDrop(error);
}

/** Whether `error` is the process (EMFILE) or the system (ENFILE) out of file descriptors. */
export function outOfDescriptors(error: unknown): boolean {
  return error instanceof Error && /\(os error 2[34]\)|too many open files/i.test(error.message);
}
