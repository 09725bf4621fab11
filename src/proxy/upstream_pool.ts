/**
 * The proxy's connections to the server: at most a set number at once,
 * requests beyond them queued (a bounded number) in one line per client
 * connection, the lines served in turn and each client holding a few
 * connections at most ({@linkcode FairQueue}), and either one connection
 * per request, as the course proxy does, or idle ones kept for reuse and
 * watched (a byte arriving on an idle connection closes it).
 *
 * @module
 */

import { closeQuietly, connectWithin, type TappedConnection } from "../net/mod.ts";
import { UpstreamConnection } from "./upstream_connection.ts";
import { UpstreamError } from "./upstream_error.ts";
import { FairQueue, type NoTurn, type Turn } from "./fair_queue.ts";

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
  /**
   * Requests that may wait for a connection at once (default 4096); more
   * fail at once, or take the place of the newest waiter of a client with
   * far more waiting.
   */
  readonly maxQueued?: number;
  /**
   * Connections one client (a client connection of the proxy) may use at
   * once (default 4); its further requests wait in its own line. A server
   * busy computing gains nothing from more of one client's requests at
   * once; the other clients' requests would wait behind them there.
   */
  readonly maxPerClient?: number;
  /** Told of every connection made, and then of its bytes (a recorder). */
  readonly tap?: { connected?(local: Deno.NetAddr, remote: Deno.NetAddr): TappedConnection };
}

/** The default of {@linkcode UpstreamPoolOptions.maxConnections}. */
export const DEFAULT_MAX_UPSTREAM_CONNECTIONS = 64;
/** The default of {@linkcode UpstreamPoolOptions.maxQueued}. */
export const DEFAULT_MAX_UPSTREAM_QUEUED = 4096;
/** The default of {@linkcode UpstreamPoolOptions.maxPerClient}. */
export const DEFAULT_MAX_UPSTREAM_PER_CLIENT = 4;

/** A free slot for a new connection, reserved for the request it is given to. */
const SLOT = "slot";

/** What a turn holds: an idle connection, or a reserved slot to connect in. */
type Grant = UpstreamConnection | typeof SLOT;

/**
 * Sends requests to the server over a bounded set of connections, shared
 * fairly among the proxy's clients ({@linkcode FairQueue}).
 *
 * @example
 * ```ts
 * using pool = new UpstreamPool({ hostname: "127.0.0.1", port: 9999, connectTimeoutMs: 2000, maxConnections: 64 });
 * const answer = await pool.exchange(requestPacket, performance.now() + 10_000, "127.0.0.1:50312");
 * ```
 */
export class UpstreamPool implements Disposable {
  readonly #options: UpstreamPoolOptions;
  /** "host:port" of the server. */
  readonly address: string;
  readonly #open = new Set<UpstreamConnection>();
  readonly #idle: UpstreamConnection[] = [];
  readonly #turns: FairQueue<Grant>;
  readonly #maxPerClient: number;
  /** Slots reserved for connections being opened. */
  #connecting = 0;
  #closed = false;

  /** A pool for the server in `options`; it connects on demand. */
  constructor(options: UpstreamPoolOptions) {
    this.#options = options;
    this.address = `${options.hostname}:${options.port}`;
    this.#maxPerClient = options.maxPerClient ?? DEFAULT_MAX_UPSTREAM_PER_CLIENT;
    const limits = {
      maxActivePerClient: this.#maxPerClient,
      maxWaiting: options.maxQueued ?? DEFAULT_MAX_UPSTREAM_QUEUED,
    };
    const capacity = {
      available: () => this.#idle.length > 0 || this.size < options.maxConnections,
      take: () => this.#take(),
    };
    this.#turns = new FairQueue<Grant>(limits, capacity, (noTurn) => this.#refusal(noTurn));
  }

  /** Connections open or being opened now. */
  get size(): number {
    return this.#open.size + this.#connecting;
  }

  /**
   * Sends `packet` for `client` (the peer "host:port" of the client
   * connection it came on; undefined: a client of its own) and resolves
   * with the server's answer (one whole frame). A reused connection that
   * turns out closed is replaced once (the request is a pure computation,
   * so asking again is safe).
   *
   * @throws {UpstreamError} when there is no answer by `deadline` (a
   * `performance.now()` time) or the server breaks the protocol.
   */
  async exchange(packet: Uint8Array, deadline: number, client?: string): Promise<Uint8Array> {
    const turn = await this.#turns.take(client, deadline);
    try {
      return await this.#exchangeOn(turn, packet, deadline, false);
    } catch (error: unknown) {
      const reused = turn.grant !== SLOT;
      if (!reused || !(error instanceof UpstreamError) || error.failure !== "broken") throw error;
    }
    const again = await this.#turns.take(client, deadline);
    return await this.#exchangeOn(again, packet, deadline, true);
  }

  /** Closes every connection; waiting requests fail. */
  close(): void {
    this.#closed = true;
    this.#turns.close();
    for (const conn of [...this.#open]) conn.close();
  }

  /** Closes it (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Asks on the connection `turn` holds (`fresh`: a new one in its place);
   * the turn ends before the connection goes back, so that the next turn
   * is given with this client's share counted right.
   */
  async #exchangeOn(
    turn: Turn<Grant>,
    packet: Uint8Array,
    deadline: number,
    fresh: boolean,
  ): Promise<Uint8Array> {
    let conn: UpstreamConnection | undefined;
    try {
      conn = await this.#connection(turn.grant, deadline, fresh);
      return await conn.exchange(packet, deadline);
    } finally {
      turn.done();
      if (conn !== undefined) this.#release(conn);
    }
  }

  /** The connection `grant` stands for: itself, or a new one made in its slot. */
  async #connection(grant: Grant, deadline: number, fresh: boolean): Promise<UpstreamConnection> {
    // Its client has had its answer (a 500) already: nothing is done on its behalf.
    if (performance.now() >= deadline) {
      if (grant === SLOT) this.#connecting--;
      else if (grant.usable && !this.#closed) this.#idle.push(grant);
      throw this.#busy();
    }
    if (grant === SLOT) return await this.#connect(deadline);
    // Asking again: a new connection, not another that may be as stale, when there is room
    // (this one stays idle). One that broke meanwhile fails as "broken" when asked.
    if (!fresh || !grant.usable || this.size >= this.#options.maxConnections) return grant;
    this.#connecting++;
    this.#idle.push(grant);
    return await this.#connect(deadline);
  }

  /** What a turn takes when there is room: the newest idle connection, else a slot. */
  #take(): Grant {
    const idle = this.#idle.pop();
    if (idle !== undefined) return idle;
    this.#connecting++;
    return SLOT;
  }

  #refusal(noTurn: NoTurn): UpstreamError {
    switch (noTurn.why) {
      case "timeout":
        // Its own client's share, not the server, kept it waiting: not held against the server.
        return noTurn.capped
          ? new UpstreamError(
            "busy",
            `this client's ${this.#maxPerClient} earlier requests to ${this.address} held its share until the deadline`,
          )
          : this.#busy();
      case "full":
        return new UpstreamError(
          "busy",
          `${noTurn.waiting} requests already wait for ${this.address}`,
        );
      case "displaced":
        return new UpstreamError(
          "busy",
          `another client's request took this one's place in the queue for ${this.address}`,
        );
      case "closed":
        return new UpstreamError("broken", "the proxy is shutting down");
    }
  }

  #busy(): UpstreamError {
    return new UpstreamError(
      "timeout",
      `all ${this.#options.maxConnections} connections to ${this.address} stayed busy`,
    );
  }

  /** Opens a connection in a slot already reserved (counted in #connecting). */
  async #connect(deadline: number): Promise<UpstreamConnection> {
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
      this.#turns.dispatch();
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

  /** After an exchange: to the idle set, for the next turn to take, or closed. */
  #release(conn: UpstreamConnection): void {
    if (!conn.usable || this.#closed) return;
    // Closing tells #forget, which hands the freed slot on.
    if (!this.#options.reuse) return conn.close();
    this.#idle.push(conn);
    this.#turns.dispatch();
  }

  #forget(conn: UpstreamConnection): void {
    this.#open.delete(conn);
    const index = this.#idle.indexOf(conn);
    if (index >= 0) this.#idle.splice(index, 1);
    if (!this.#closed) this.#turns.dispatch();
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
