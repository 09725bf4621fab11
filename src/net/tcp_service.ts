/**
 * The TCP shell shared by the server and the proxy: accept connections up to
 * a limit (making room by closing the connections that hold a slot least
 * usefully), serve each as a {@linkcode Session}, sweep their deadlines, and
 * shut down gracefully. Nothing a peer does, and no failure of the socket
 * layer or the descriptor table, ends the service.
 *
 * @module
 */

import {
  type ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
  sweepIntervalMs,
} from "./connection_limits.ts";
import type { ConnectionEvent, PacketHandler } from "./packet_handler.ts";
import { type CoarseClock, Session } from "./session.ts";
import type { ConnectionTap } from "./connection_tap.ts";
import { closeQuietly } from "./close_quietly.ts";
import { isConnectionDrop, outOfDescriptors } from "./network_errors.ts";

/** How long to wait before accepting again after accept itself failed (e.g. out of descriptors). */
const ACCEPT_RETRY_MS = 50;
/** Accept failures are told at most this often (a storm of them is one line). */
const ACCEPT_WARNING_MS = 10_000;

/** Options of {@linkcode serveTcp}. */
export interface ServeOptions {
  /** Interface to bind, e.g. "127.0.0.1". */
  readonly hostname: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** Aborting it shuts the service down gracefully, as {@linkcode TcpService.shutdown} does. */
  readonly signal?: AbortSignal;
  /** Limits; missing fields take {@linkcode DEFAULT_CONNECTION_LIMITS}. */
  readonly limits?: Partial<ConnectionLimits>;
  /** Told of every accepted connection's bytes (a recorder). */
  readonly tap?: ConnectionTap;
}

/** A running service, in the manner of `Deno.serve`'s `HttpServer`. */
export interface TcpService extends AsyncDisposable {
  /** The bound address (the real port when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /** Connections open now. */
  activeConnections(): number;
  /** Resolves when the service has shut down and every connection is closed. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting, closes idle connections, lets in-flight requests finish
   * (for at most the shutdown grace period), then closes the rest. Resolves
   * as {@linkcode finished} does; calling it again changes nothing.
   */
  shutdown(): Promise<void>;
}

/**
 * Serves `handler` on a TCP port until shut down.
 *
 * @example
 * ```ts
 * await using service = serveTcp({ hostname: "127.0.0.1", port: 0 }, handler);
 * console.log(service.addr.port);
 * ```
 */
export function serveTcp(options: ServeOptions, handler: PacketHandler): TcpService {
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
    transport: "tcp",
  });
  const service = new Service(listener, handler, limits, options.tap);
  if (options.signal?.aborted) service.shutdown();
  else options.signal?.addEventListener("abort", () => service.shutdown(), { once: true });
  return service;
}

class Service implements TcpService {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  readonly #listener: Deno.TcpListener;
  readonly #handler: PacketHandler;
  readonly #limits: ConnectionLimits;
  readonly #tap: ConnectionTap | undefined;
  readonly #sessions = new Set<Session>();
  /** Closed connections whose handlers are still working: shutdown waits for them. */
  readonly #lingering = new Set<Session>();
  // Timeouts run on the monotonic clock: a wall-clock jump must not close every connection.
  readonly #clock: { now: number } & CoarseClock = { now: performance.now() };
  readonly #sweeper: ReturnType<typeof setInterval>;
  #stopping = false;
  /** When an accept failure was last told (they are told at most every ACCEPT_WARNING_MS). */
  #acceptWarnedAt = -Infinity;
  #stopped: () => void = () => {};

  constructor(
    listener: Deno.TcpListener,
    handler: PacketHandler,
    limits: ConnectionLimits,
    tap: ConnectionTap | undefined,
  ) {
    this.addr = listener.addr;
    this.#tap = tap;
    this.#listener = listener;
    this.#handler = handler;
    this.#limits = limits;
    this.#sweeper = setInterval(() => this.#sweep(), sweepIntervalMs(limits));
    const stopped = new Promise<void>((resolve) => {
      this.#stopped = resolve;
    });
    this.finished = Promise.all([this.#acceptLoop(), stopped]).then(() => {});
  }

  activeConnections(): number {
    return this.#sessions.size;
  }

  shutdown(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      closeQuietly(this.#listener);
      this.#drain().finally(() => {
        clearInterval(this.#sweeper);
        this.#stopped();
      });
    }
    return this.finished;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  async #drain(): Promise<void> {
    for (const session of this.#sessions) session.stop("shutdown");
    const all = (): Promise<unknown> => Promise.allSettled([...this.#sessions].map((s) => s.done));
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      all(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.#limits.shutdownGraceMs);
      }),
    ]);
    clearTimeout(timer);
    for (const session of this.#sessions) session.close("shutdown grace period over");
    await all();
    // Handlers may still be working for closed connections; they are bounded by their own deadlines.
    await Promise.all([...this.#lingering].map((session) => session.settled()));
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error: unknown) {
        if (this.#stopping) return;
        // A connection reset before it was accepted: nothing is wrong here.
        if (isConnectionDrop(error)) continue;
        // Out of file descriptors and the like: say so once, make room, keep serving.
        this.#acceptFailed(error);
        if (outOfDescriptors(error)) {
          this.#clock.now = performance.now();
          if (this.#makeRoom("out of file descriptors")) continue;
        }
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
      }
      if (this.#stopping) {
        closeQuietly(conn);
        continue;
      }
      this.#admit(conn);
    }
  }

  #admit(conn: Deno.TcpConn): void {
    this.#clock.now = performance.now();
    if (this.#sessions.size >= this.#limits.maxConnections && !this.#makeRoom("connection limit")) {
      const remote = conn.remoteAddr as Deno.NetAddr;
      this.#event({
        kind: "refused",
        peer: `${remote.hostname}:${remote.port}`,
        active: this.#sessions.size,
      });
      closeQuietly(conn);
      return;
    }
    const tapped = this.#tap?.opened(
      conn.remoteAddr as Deno.NetAddr,
      conn.localAddr as Deno.NetAddr,
    );
    const session = new Session(conn, this.#handler, this.#limits, this.#clock, tapped);
    this.#sessions.add(session);
    this.#event({ kind: "open", peer: session.peer });
    session.done.then(() => {
      this.#sessions.delete(session);
      this.#lingering.add(session);
      return session.settled();
    }).then(() => this.#lingering.delete(session));
    session.run();
  }

  /**
   * Closes the connection that holds its slot least usefully: an unfinished
   * packet or a blocked write (the oldest first), else the longest idle,
   * else one whose request has been in hand for long. Returns false when
   * there is none.
   */
  #makeRoom(why: "connection limit" | "out of file descriptors"): boolean {
    const now = this.#clock.now;
    let victim: Session | undefined;
    let best: { rank: number; age: number } | undefined;
    for (const session of this.#sessions) {
      const use = session.slotUse(now);
      if (use === undefined) continue;
      if (
        best === undefined || use.rank < best.rank || (use.rank === best.rank && use.age > best.age)
      ) {
        best = use;
        victim = session;
      }
    }
    if (victim === undefined || best === undefined) return false;
    const held = best.rank === 0
      ? "unfinished"
      : best.rank === 1
      ? "idle"
      : "waiting on its answer";
    const reason = `closed to make room (${why}): ${held} for ${Math.round(best.age)} ms`;
    this.#event({ kind: "evicted", peer: victim.peer, reason });
    victim.close(reason);
    this.#sessions.delete(victim);
    return true;
  }

  #acceptFailed(error: unknown): void {
    const now = performance.now();
    if (now - this.#acceptWarnedAt < ACCEPT_WARNING_MS) return;
    this.#acceptWarnedAt = now;
    this.#event({ kind: "accept-failed", error });
  }

  #sweep(): void {
    const now = performance.now();
    this.#clock.now = now;
    for (const session of this.#sessions) session.sweep(now);
  }

  #event(event: ConnectionEvent): void {
    try {
      this.#handler.event?.(event);
    } catch {
      // A failing logger must not stop the service.
    }
  }
}
