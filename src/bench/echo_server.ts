/**
 * The benchmark's ceiling: a framed echo server with as little code as
 * Deno.listen allows. It reads 12-byte-header packets, framed by their total
 * length, and writes each complete packet straight back — what a
 * request/response hop on this machine costs before any protocol work.
 *
 * @module
 */

import { HEADER_SIZE, MAX_PACKET_SIZE, totalLengthAt, writeAll } from "../protocol/mod.ts";
import { closeQuietly, isConnectionDrop } from "../net/mod.ts";

/** Options of {@linkcode startEchoServer}. */
export interface EchoServerOptions {
  /** Interface to bind. */
  readonly hostname: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** Aborting it shuts the server down, as {@linkcode EchoServer.shutdown} does. */
  readonly signal?: AbortSignal;
}

/** A running echo server, with the lifecycle of calcnet's services (`await using`). */
export interface EchoServer extends AsyncDisposable {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** Resolves when the listener and every connection are closed. */
  readonly finished: Promise<void>;
  /**
   * Closes the listener and every connection; resolves as {@linkcode finished}
   * does. An echo holds no work worth finishing: a packet half written back
   * is the benchmark's own, and it has stopped measuring.
   */
  shutdown(): Promise<void>;
}

/** Echoes every complete packet on `conn` until the peer closes or sends a bad length. */
async function echo(conn: Deno.TcpConn): Promise<void> {
  // Room for one largest packet plus a read's worth: a frame always fits.
  const buffer = new Uint8Array(2 * (MAX_PACKET_SIZE + 1));
  let end = 0;
  try {
    conn.setNoDelay(true);
    for (;;) {
      const count = await conn.read(buffer.subarray(end));
      if (count === null) return;
      end += count;
      // Everything up to the end of the last complete packet goes back in one write.
      let framed = 0;
      while (end - framed >= HEADER_SIZE) {
        const length = totalLengthAt(buffer, framed);
        if (length < HEADER_SIZE) return;
        if (end - framed < length) break;
        framed += length;
      }
      if (framed === 0) continue;
      await writeAll(conn, buffer.subarray(0, framed));
      buffer.copyWithin(0, framed, end);
      end -= framed;
    }
  } catch (error: unknown) {
    if (!isConnectionDrop(error)) throw error;
  } finally {
    closeQuietly(conn);
  }
}

/**
 * Starts the echo server; stop it with `shutdown()`, by disposing of it or by
 * aborting `options.signal`.
 *
 * @example
 * ```ts
 * await using echo = startEchoServer({ hostname: "127.0.0.1", port: 0 });
 * ```
 */
export function startEchoServer(options: EchoServerOptions): EchoServer {
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
    transport: "tcp",
  });
  const open = new Set<Deno.TcpConn>();
  const running = new Set<Promise<void>>();
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    closeQuietly(listener);
    for (const conn of open) closeQuietly(conn);
  };
  if (options.signal?.aborted) stop();
  else options.signal?.addEventListener("abort", stop, { once: true });
  const accepting = (async (): Promise<void> => {
    try {
      for await (const conn of listener) {
        // Accepted as the server stopped: no one would close it.
        if (stopped) {
          closeQuietly(conn);
          break;
        }
        open.add(conn);
        const task = echo(conn).finally(() => {
          open.delete(conn);
          running.delete(task);
        });
        running.add(task);
      }
    } catch (error: unknown) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  })();
  const finished = accepting.then(async () => {
    await Promise.allSettled([...running]);
  });
  const shutdown = (): Promise<void> => {
    stop();
    return finished;
  };
  return {
    addr: listener.addr as Deno.NetAddr,
    finished,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
