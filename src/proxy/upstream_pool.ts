/**
 * The proxy's connections to the server: at most a set number at once,
 * requests beyond them queued (a bounded number), and either one connection
 * per request, as the course proxy does, or idle ones kept for reuse and
 * watched (a byte arriving on an idle connection closes it).
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
  /**
   * Keep connections open for further requests (default false: one
   * connection per request, as the course proxy does). Reuse saves a
   * connect per miss but holds connections a server may count against its
   * clients; a Python server that serves one connection at a time would
   * wait on an idle one.
   */
  readonly reuse?: boolean;
  /** Requests that may wait for a connection at once (default 4096); more fail at once. */
  readonly maxQueued?: number;
  /** Told of every connection made, and then of its bytes (a recorder). */
  readonly tap?: { connected?(local: Deno.NetAddr, remote: Deno.NetAddr): TappedConnection };
}

/** The default of {@linkcode UpstreamPoolOptions.maxConnections}. */
export const DEFAULT_MAX_UPSTREAM_CONNECTIONS = 64;
/** The default of {@linkcode UpstreamPoolOptions.maxQueued}. */
export const DEFAULT_MAX_UPSTREAM_QUEUED = 4096;
/** Settled entries at the front of the queue after which it is compacted. */
const QUEUE_COMPACT_AT = 1024;

/** A request waiting for a connection; settled once (handed one, or timed out). */
interface Queued {
  settled: boolean;
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
  /** Waiting requests from #head on; timed-out ones stay, settled, until passed. */
  readonly #queue: Queued[] = [];
  #head = 0;
  #waiting = 0;
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
    while (this.#waiting > 0) this.#handOn(undefined);
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
      // Its client has had its answer (a 500) already: no connect on its behalf.
      if (performance.now() >= deadline) throw this.#busy();
      if (this.size < this.#options.maxConnections) {
        return { conn: await this.#connect(deadline), reused: false };
      }
      const handed = await this.#wait(deadline);
      if (handed !== undefined) return { conn: handed, reused: true };
    }
  }

  /** Waits for a connection handed over or a free slot (undefined), or fails at `deadline`. */
  #wait(deadline: number): Promise<UpstreamConnection | undefined> {
    if (this.#waiting >= (this.#options.maxQueued ?? DEFAULT_MAX_UPSTREAM_QUEUED)) {
      return Promise.reject(
        new UpstreamError("busy", `${this.#waiting} requests already wait for ${this.address}`),
      );
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Left in place, settled: #handOn passes over it (no search of the queue).
        queued.settled = true;
        this.#waiting--;
        reject(this.#busy());
      }, Math.max(0, deadline - performance.now()));
      const queued: Queued = {
        settled: false,
        resolve: (conn) => {
          clearTimeout(timer);
          resolve(conn);
        },
      };
      this.#queue.push(queued);
      this.#waiting++;
    });
  }

  /** Gives `conn` (or a free slot) to the longest-waiting request; false when none waits. */
  #handOn(conn: UpstreamConnection | undefined): boolean {
    while (this.#head < this.#queue.length) {
      const queued = this.#queue[this.#head++] as Queued;
      if (queued.settled) continue;
      queued.settled = true;
      this.#waiting--;
      this.#compact();
      queued.resolve(conn);
      return true;
    }
    this.#compact();
    return false;
  }

  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head >= QUEUE_COMPACT_AT && this.#head * 2 >= this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
  }

  #busy(): UpstreamError {
    return new UpstreamError(
      "timeout",
      `all ${this.#options.maxConnections} connections to ${this.address} stayed busy`,
    );
  }

  async #connect(deadline: number): Promise<UpstreamConnection> {
    this.#connecting++;
    const timeoutMs = Math.ceil(
      Math.max(0, Math.min(this.#options.connectTimeoutMs, deadline - performance.now())),
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
      this.#connecting--;
      // The slot this attempt held may serve a queued request now.
      if (!this.#closed) this.#handOn(undefined);
      throw connectFailure(error, this.address);
    }
    this.#connecting--;
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
    // Closing tells #forget, which hands the freed slot on.
    if (!this.#options.reuse) return conn.close();
    if (!this.#handOn(conn)) this.#idle.push(conn);
  }

  #forget(conn: UpstreamConnection): void {
    this.#open.delete(conn);
    const index = this.#idle.indexOf(conn);
    if (index >= 0) this.#idle.splice(index, 1);
    if (!this.#closed) this.#handOn(undefined);
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
