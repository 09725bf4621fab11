/**
 * The proxy's connections to the server: at most a set number at once,
 * requests beyond them queued, idle ones kept for reuse and watched (a byte
 * arriving on an idle connection closes it).
 *
 * @module
 */

import { closeQuietly, connectWithin, type TappedConnection } from "../net/mod.ts";
import { UpstreamConnection } from "./upstream_connection.ts";
import { UpstreamError } from "./upstream_error.ts";

/** Where the server is and how the pool treats it. */
export interface UpstreamPoolOptions {
  /** Server host. */
  readonly hostname: string;
  /** Server port. */
  readonly port: number;
  /** Give up connecting after this long (within the request's own deadline). */
  readonly connectTimeoutMs: number;
  /** Connections open at once, busy or idle; more requests wait for one. */
  readonly maxConnections: number;
  /** Told of every connection made, and then of its bytes (a recorder). */
  readonly tap?: { connected?(local: Deno.NetAddr, remote: Deno.NetAddr): TappedConnection };
}

/** The default of {@linkcode UpstreamPoolOptions.maxConnections}. */
export const DEFAULT_MAX_UPSTREAM_CONNECTIONS = 64;

interface Queued {
  readonly deadline: number;
  resolve(conn: UpstreamConnection | undefined): void;
}

/**
 * Sends requests to the server over a bounded set of connections.
 *
 * @example
 * ```ts
 * using pool = new UpstreamPool({ hostname: "127.0.0.1", port: 9999, connectTimeoutMs: 2000, maxConnections: 64 });
 * const answer = await pool.exchange(requestPacket, performance.now() + 10_000);
 * ```
 */
export class UpstreamPool implements Disposable {
  readonly #options: UpstreamPoolOptions;
  /** "host:port" of the server. */
  readonly address: string;
  readonly #open = new Set<UpstreamConnection>();
  readonly #idle: UpstreamConnection[] = [];
  readonly #queue: Queued[] = [];
  #connecting = 0;
  #closed = false;

  /** A pool for the server in `options`; it connects on demand. */
  constructor(options: UpstreamPoolOptions) {
    this.#options = options;
    this.address = `${options.hostname}:${options.port}`;
  }

  /** Connections open or being opened now. */
  get size(): number {
    return this.#open.size + this.#connecting;
  }

  /**
   * Sends `packet` and resolves with the server's answer (one whole frame).
   * A reused connection that turns out closed is replaced once (the
   * request is a pure computation, so asking again is safe).
   *
   * @throws {UpstreamError} when there is no answer by `deadline` (a
   * `performance.now()` time) or the server breaks the protocol.
   */
  async exchange(packet: Uint8Array, deadline: number): Promise<Uint8Array> {
    const { conn, reused } = await this.#acquire(deadline);
    try {
      return await conn.exchange(packet, deadline);
    } catch (error: unknown) {
      if (!reused || !(error instanceof UpstreamError) || error.failure !== "broken") throw error;
    } finally {
      this.#release(conn);
    }
    const fresh = (await this.#acquire(deadline, false)).conn;
    try {
      return await fresh.exchange(packet, deadline);
    } finally {
      this.#release(fresh);
    }
  }

  /** Closes every connection; waiting requests fail. */
  close(): void {
    this.#closed = true;
    for (const conn of [...this.#open]) conn.close();
    for (const queued of this.#queue.splice(0)) queued.resolve(undefined);
  }

  /** Closes it (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  async #acquire(
    deadline: number,
    reuse = true,
  ): Promise<{ conn: UpstreamConnection; reused: boolean }> {
    for (;;) {
      if (this.#closed) throw new UpstreamError("broken", "the proxy is shutting down");
      const idle = reuse ? this.#idle.pop() : undefined;
      if (idle !== undefined) {
        if (idle.usable) return { conn: idle, reused: true };
        continue;
      }
      if (this.size < this.#options.maxConnections) {
        return { conn: await this.#connect(deadline), reused: false };
      }
      const handed = await this.#wait(deadline);
      if (handed !== undefined) return { conn: handed, reused: true };
    }
  }

  /** Waits for a connection handed over or a free slot (undefined), or fails at `deadline`. */
  #wait(deadline: number): Promise<UpstreamConnection | undefined> {
    return new Promise((resolve, reject) => {
      const queued: Queued = { deadline, resolve };
      const timer = setTimeout(() => {
        const index = this.#queue.indexOf(queued);
        if (index >= 0) this.#queue.splice(index, 1);
        reject(
          new UpstreamError(
            "timeout",
            `all ${this.#options.maxConnections} connections to ${this.address} stayed busy`,
          ),
        );
      }, Math.max(0, deadline - performance.now()));
      queued.resolve = (conn) => {
        clearTimeout(timer);
        resolve(conn);
      };
      this.#queue.push(queued);
    });
  }

  async #connect(deadline: number): Promise<UpstreamConnection> {
    this.#connecting++;
    const timeoutMs = Math.max(
      0,
      Math.min(this.#options.connectTimeoutMs, deadline - performance.now()),
    );
    let conn: Deno.TcpConn;
    try {
      conn = await connectWithin(
        this.#options.hostname,
        this.#options.port,
        timeoutMs,
        () =>
          new UpstreamError(
            "timeout",
            `cannot connect to ${this.address}: no answer within ${timeoutMs} ms`,
          ),
      );
    } catch (error: unknown) {
      throw connectFailure(error, this.address);
    } finally {
      this.#connecting--;
      // The slot this attempt held may serve a queued request now.
      if (!this.#closed) this.#queue.shift()?.resolve(undefined);
    }
    if (this.#closed) {
      closeQuietly(conn);
      throw new UpstreamError("broken", "the proxy is shutting down");
    }
    const tapped = this.#options.tap?.connected?.(
      conn.localAddr as Deno.NetAddr,
      conn.remoteAddr as Deno.NetAddr,
    );
    const upstream = new UpstreamConnection(
      conn,
      this.address,
      (broken) => this.#forget(broken),
      tapped,
    );
    this.#open.add(upstream);
    return upstream;
  }

  /** After an exchange: to a queued request, to the idle set, or closed. */
  #release(conn: UpstreamConnection): void {
    if (!conn.usable || this.#closed) return;
    const queued = this.#queue.shift();
    if (queued !== undefined) queued.resolve(conn);
    else this.#idle.push(conn);
  }

  #forget(conn: UpstreamConnection): void {
    this.#open.delete(conn);
    const index = this.#idle.indexOf(conn);
    if (index >= 0) this.#idle.splice(index, 1);
    if (!this.#closed) this.#queue.shift()?.resolve(undefined);
  }
}

/** Any failure to connect, as the kind of upstream failure it is. */
function connectFailure(error: unknown, address: string): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof Deno.errors.ConnectionRefused) {
    return new UpstreamError("refused", `cannot connect to ${address}: ${error.message}`);
  }
  // Name resolution, routes, descriptors, permissions: the server cannot be reached.
  const text = error instanceof Error ? error.message : String(error);
  return new UpstreamError("unreachable", `cannot connect to ${address}: ${text}`);
}
