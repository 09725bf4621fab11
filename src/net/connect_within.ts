/**
 * A TCP connection made within a deadline.
 *
 * @module
 */

import { closeQuietly } from "./close_quietly.ts";

/**
 * Connects to `hostname:port` with Nagle's algorithm off (requests and
 * answers are small and must not wait), or rejects with `timeoutError()`
 * after `timeoutMs`. The network's own errors pass through unchanged (see
 * `isConnectFailure`).
 *
 * @example
 * ```ts
 * const conn = await connectWithin("127.0.0.1", 9999, 5000, () => new Error("too slow"));
 * ```
 */
export async function connectWithin(
  hostname: string,
  port: number,
  timeoutMs: number,
  timeoutError: () => Error,
): Promise<Deno.TcpConn> {
  const connecting = Deno.connect({ hostname, port, transport: "tcp" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const conn = await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timeoutError()), timeoutMs);
      }),
    ]);
    conn.setNoDelay(true);
    return conn;
  } catch (error: unknown) {
    // A connection that completes after the deadline is closed at once.
    connecting.then(closeQuietly, () => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
