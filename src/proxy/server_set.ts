/**
 * The servers behind a proxy: one {@linkcode UpstreamPool} each, requests
 * spread by least outstanding requests, a passive health check (a server
 * that refuses, cannot be reached or times out is left alone for a while,
 * longer each time it fails again), and one retry on another server for a
 * request that could not be delivered or got no answer — evaluation is a pure function of
 * the request, so asking again is safe.
 *
 * @module
 */

import type { TappedConnection } from "../net/mod.ts";
import { UpstreamPool } from "./upstream_pool.ts";
import { UpstreamError } from "./upstream_error.ts";

/** How long a server that failed is left alone: doubling from the first to the last. */
export const SERVER_BACKOFF_MS = { first: 250, most: 10_000 } as const;

/** Where a server is. */
export interface ServerAddress {
  /** Host. */
  readonly hostname: string;
  /** Port. */
  readonly port: number;
}

/** Options of {@linkcode ServerSet}. */
export interface ServerSetOptions {
  /** The servers (at least one). */
  readonly servers: readonly ServerAddress[];
  /** Give up connecting after this long. */
  readonly connectTimeoutMs: number;
  /** Connections open at once to each server. */
  readonly maxConnectionsPerServer: number;
  /** Keep connections for further requests (see `UpstreamPoolOptions.reuse`). */
  readonly reuse?: boolean;
  /** Told of every connection made, and then of its bytes (a recorder). */
  readonly tap?: { connected?(local: Deno.NetAddr, remote: Deno.NetAddr): TappedConnection };
  /** Told when a server goes down or comes back ("host:port", and why). */
  readonly onHealth?: (server: string, up: boolean, why: string) => void;
  /** Millisecond clock (`performance.now()` by default). */
  readonly clock?: () => number;
}

/** One server and what the set knows of it. */
interface Member {
  readonly pool: UpstreamPool;
  outstanding: number;
  /** Consecutive failures (0: healthy). */
  failures: number;
  /** Until when it is left alone (clock time). */
  downUntil: number;
}

/** An answer and the server that gave it. */
export interface ServedAnswer {
  /** The answer frame. */
  readonly frame: Uint8Array;
  /** "host:port" of the server. */
  readonly server: string;
}

/** The failures that say a server cannot serve at all now (a bad answer says nothing of the rest). */
const UNDELIVERED: ReadonlySet<UpstreamError["failure"]> = new Set([
  "refused",
  "unreachable",
  "timeout",
]);

/**
 * The failures after which the request is asked of another server: also a
 * connection closed without an answer (a server shutting down) and a full
 * queue, which do not by themselves mark the server down.
 */
const RETRIED: ReadonlySet<UpstreamError["failure"]> = new Set([...UNDELIVERED, "broken", "busy"]);

/**
 * Sends requests to the least busy healthy server.
 *
 * @example
 * ```ts
 * using servers = new ServerSet({ servers: [a, b], connectTimeoutMs: 2000, maxConnectionsPerServer: 64 });
 * const { frame, server } = await servers.exchange(packet, performance.now() + 10_000);
 * ```
 */
export class ServerSet implements Disposable {
  readonly #members: Member[];
  readonly #options: ServerSetOptions;
  readonly #clock: () => number;

  /** A set of the servers in `options`; it connects on demand. */
  constructor(options: ServerSetOptions) {
    if (options.servers.length === 0) throw new RangeError("a proxy needs at least one server");
    this.#options = options;
    this.#clock = options.clock ?? (() => performance.now());
    this.#members = options.servers.map((server) => ({
      pool: new UpstreamPool({
        hostname: server.hostname,
        port: server.port,
        connectTimeoutMs: options.connectTimeoutMs,
        maxConnections: options.maxConnectionsPerServer,
        reuse: options.reuse,
        tap: options.tap,
      }),
      outstanding: 0,
      failures: 0,
      downUntil: 0,
    }));
  }

  /** "host:port" of every server, in the order given. */
  get addresses(): string[] {
    return this.#members.map((member) => member.pool.address);
  }

  /**
   * Sends `packet` to a server and resolves with its answer; a request that
   * could not be delivered is tried once more on another server. `client`
   * (the peer "host:port" of the client connection it came on) gets its
   * fair share of each server's connections (see `UpstreamPool.exchange`).
   *
   * @throws {UpstreamError} when no server gave an answer by `deadline`.
   */
  async exchange(packet: Uint8Array, deadline: number, client?: string): Promise<ServedAnswer> {
    const first = this.#choose(undefined);
    try {
      return await this.#exchangeWith(first, packet, deadline, client);
    } catch (error: unknown) {
      if (!(error instanceof UpstreamError) || !RETRIED.has(error.failure)) throw error;
      const second = this.#choose(first);
      if (second === first || performance.now() >= deadline) throw error;
      return await this.#exchangeWith(second, packet, deadline, client);
    }
  }

  /** Closes every connection to every server. */
  close(): void {
    for (const member of this.#members) member.pool.close();
  }

  /** Closes every connection, as {@linkcode ServerSet.close} does: for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  async #exchangeWith(
    member: Member,
    packet: Uint8Array,
    deadline: number,
    client: string | undefined,
  ): Promise<ServedAnswer> {
    member.outstanding++;
    try {
      const frame = await member.pool.exchange(packet, deadline, client);
      this.#healthy(member);
      return { frame, server: member.pool.address };
    } catch (error: unknown) {
      if (error instanceof UpstreamError && UNDELIVERED.has(error.failure)) {
        this.#failed(member, error.message);
      }
      throw error;
    } finally {
      member.outstanding--;
    }
  }

  /**
   * The healthy member with the fewest requests in flight (ties: the first),
   * other than `not`; when none is healthy, the one left alone the shortest
   * (a probe: it may be back).
   */
  #choose(not: Member | undefined): Member {
    const now = this.#clock();
    let best: Member | undefined;
    for (const member of this.#members) {
      if (member === not || member.downUntil > now) continue;
      if (best === undefined || member.outstanding < best.outstanding) best = member;
    }
    if (best !== undefined) return best;
    const others = this.#members.filter((member) => member !== not);
    const candidates = others.length > 0 ? others : this.#members;
    return candidates.reduce((a, b) => (b.downUntil < a.downUntil ? b : a));
  }

  #failed(member: Member, why: string): void {
    member.failures++;
    const backoff = Math.min(
      SERVER_BACKOFF_MS.first * 2 ** (member.failures - 1),
      SERVER_BACKOFF_MS.most,
    );
    member.downUntil = this.#clock() + backoff;
    if (member.failures === 1) this.#options.onHealth?.(member.pool.address, false, why);
  }

  #healthy(member: Member): void {
    if (member.failures > 0) this.#options.onHealth?.(member.pool.address, true, "answered again");
    member.failures = 0;
    member.downUntil = 0;
  }
}
