/**
 * `calcnet proxy`: the course proxy's cache rules (docs/PROTOCOL.md §7),
 * wired from parts: the cache ({@linkcode ResponseCache}), the freshness
 * rules (`policy.ts`), identical misses coalesced ({@linkcode Coalescer}),
 * a bounded pool of watched connections to the server
 * ({@linkcode UpstreamPool}), the outcome of each request
 * (`proxy_event.ts`) and the proxy's own 500s (`proxy_errors.ts`).
 *
 * @module
 */

import {
  decodeHeader,
  type Header,
  HEADER_SIZE,
  headerProblem,
  unixSeconds,
} from "../protocol/mod.ts";
import { ProtocolError } from "../base/mod.ts";
import {
  type ConnectionEvent,
  type ConnectionLimits,
  type ConnectionTap,
  logConnectionEvent,
  type PacketHandler,
  type Reply,
  serveTcp,
  type TappedConnection,
  type TcpService,
} from "../net/mod.ts";
import { judge } from "./policy.ts";
import { ProxyStats } from "./stats.ts";
import { formatProxyEvent, missOutcome, type ProxyEvent, type TripSummary } from "./proxy_event.ts";
import { type ServerAddress, ServerSet } from "./server_set.ts";
import { type TripResult, Trips } from "./trips.ts";
import type { SharedStore } from "../shared_cache/mod.ts";
import { Coalescer, type CoalescingLimits } from "./coalescer.ts";
import { cacheKey, MAX_KEY_DATA_BYTES, type ResponseCache } from "./cache.ts";
import {
  internalProxyError,
  notARequestError,
  unparseableError,
  waitedTooLongError,
} from "./proxy_errors.ts";

export { SERVER_DOWN_TEXT } from "./proxy_errors.ts";
export type { ProxyEvent } from "./proxy_event.ts";

/** Options of {@linkcode startProxy}. */
export interface ProxyOptions {
  /** Interface to bind. */
  readonly hostname: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** The servers (at least one): requests go to the least busy healthy one. */
  readonly servers: readonly ServerAddress[];
  /** A cache shared with other proxies (Redis), in front of the servers. */
  readonly shared?: SharedStore;
  /** The cache (loaded from disk by the caller when it persists). */
  readonly cache: ResponseCache;
  /** Aborting it shuts the proxy down after in-flight requests. */
  readonly signal?: AbortSignal;
  /** Give up connecting to the server after this long (default 2 s). */
  readonly connectTimeoutMs?: number;
  /**
   * The longest a request may take at the server, queueing for a
   * connection and connecting included (default 10 s); then the client
   * gets a 500.
   */
  readonly answerTimeoutMs?: number;
  /** Connections to each server open at once (default 64); more requests queue. */
  readonly maxUpstreamConnections?: number;
  /**
   * Keep connections to the servers open for further requests (default
   * false: one connection per request, as the course proxy does).
   */
  readonly upstreamReuse?: boolean;
  /** Coalescing bounds (defaults: 1000 waiters, the answer timeout). */
  readonly coalescing?: Partial<CoalescingLimits>;
  /** Client connection limits and timeouts. */
  readonly limits?: Partial<ConnectionLimits>;
  /** Receives one line per request (none when undefined). */
  readonly log?: (line: string) => void;
  /** Receives lines about failures (default: `log`), also when `log` is undefined. */
  readonly warn?: (line: string) => void;
  /** Millisecond clock (injected in tests). */
  readonly clock?: () => number;
  /** Told about every answered request (for the demo's timeline and tests). */
  readonly observe?: (event: ProxyEvent) => void;
  /**
   * Records every byte the proxy reads and writes, on its clients'
   * connections and on its own to the server.
   */
  readonly record?: ProxyRecorder;
}

/** What records a proxy's traffic (a `capture/` `RecordingTap` fits). */
export interface ProxyRecorder extends ConnectionTap {
  /** A connection the proxy made from `local` to the server at `remote` (not recorded without). */
  connected?(local: Deno.NetAddr, remote: Deno.NetAddr): TappedConnection;
}

/** A running proxy. */
export interface RunningProxy extends TcpService {
  /** Its counters. */
  readonly stats: ProxyStats;
}

/** The defaults of the proxy's timeouts and bounds. */
export const PROXY_DEFAULTS: {
  readonly connectTimeoutMs: number;
  readonly answerTimeoutMs: number;
  readonly maxUpstreamConnections: number;
  readonly maxWaiters: number;
} = Object.freeze({
  connectTimeoutMs: 2_000,
  answerTimeoutMs: 10_000,
  maxUpstreamConnections: 64,
  maxWaiters: 1000,
});

/**
 * Starts a proxy in front of `options.server`; stop it with `shutdown()`
 * (or `await using`, or by aborting `options.signal`).
 *
 * @example
 * ```ts
 * await using proxy = startProxy({ hostname: "127.0.0.1", port: 0, server: { hostname: "127.0.0.1", port: 9999 }, cache: new ResponseCache() });
 * ```
 */
export function startProxy(options: ProxyOptions): RunningProxy {
  const handler = new ProxyHandler(options);
  const service = serveTcp(
    {
      hostname: options.hostname,
      port: options.port,
      signal: options.signal,
      limits: options.limits,
      tap: options.record,
    },
    handler,
  );
  const finished = service.finished.finally(() => handler.close());
  return {
    addr: service.addr,
    finished,
    stats: handler.stats,
    activeConnections: () => service.activeConnections(),
    shutdown: () => service.shutdown().then(() => finished),
    [Symbol.asyncDispose]: () => service.shutdown().then(() => finished),
  };
}

/** The proxy's answers to what clients send. */
class ProxyHandler implements PacketHandler {
  readonly stats = new ProxyStats();
  readonly #cache: ResponseCache;
  readonly #clock: () => number;
  readonly #log: ((line: string) => void) | undefined;
  readonly #warn: (line: string) => void;
  readonly #observe: ((event: ProxyEvent) => void) | undefined;
  /** Whether answered requests are logged or observed (else only counted). */
  readonly #reporting: boolean;
  readonly #servers: ServerSet;
  readonly #trips: Trips;
  readonly #coalescer: Coalescer<TripResult>;

  constructor(options: ProxyOptions) {
    this.#cache = options.cache;
    this.#clock = options.clock ?? Date.now;
    this.#log = options.log;
    this.#warn = options.warn ?? options.log ?? (() => {});
    this.#observe = options.observe;
    this.#reporting = options.log !== undefined || options.observe !== undefined;
    const answerTimeoutMs = options.answerTimeoutMs ?? PROXY_DEFAULTS.answerTimeoutMs;
    this.#servers = new ServerSet({
      servers: options.servers,
      connectTimeoutMs: options.connectTimeoutMs ?? PROXY_DEFAULTS.connectTimeoutMs,
      maxConnectionsPerServer: options.maxUpstreamConnections ??
        PROXY_DEFAULTS.maxUpstreamConnections,
      reuse: options.upstreamReuse,
      tap: options.record,
      onHealth: (server, up, why) =>
        this.#warn(up ? `server ${server} answers again` : `server ${server} is down: ${why}`),
    });
    this.#trips = new Trips({
      servers: this.#servers,
      cache: this.#cache,
      shared: options.shared,
      answerTimeoutMs,
      nowSeconds: () => this.#now(),
    });
    const limits = {
      maxWaiters: PROXY_DEFAULTS.maxWaiters,
      waitTimeoutMs: answerTimeoutMs,
      ...options.coalescing,
    };
    this.#coalescer = new Coalescer<TripResult>(limits, () => ({
      response: waitedTooLongError(limits.waitTimeoutMs, this.#now()),
      failed: true,
      stored: false,
      note: `no answer to an identical request within ${limits.waitTimeoutMs} ms`,
    }));
  }

  handle(packet: Uint8Array, peer: string): Reply | Promise<Reply> {
    const started = this.#log === undefined ? 0 : performance.now();
    let header: Header;
    try {
      header = decodeHeader(packet).header;
    } catch (error: unknown) {
      if (!(error instanceof ProtocolError)) throw error;
      return {
        packet: this.#unparseable(error.message, packet.length, peer, started),
        close: true,
      };
    }
    if (!header.isRequest) {
      const reply = notARequestError(this.#now());
      this.#finish(
        { peer, outcome: "ERROR", requestBytes: packet.length, responseBytes: reply.length },
        started,
        "a response instead of a request",
      );
      return { packet: reply };
    }
    const bypass = header.cacheControl === 0;
    // No key where nothing is looked up or stored: a bypass, or request data
    // longer than the cache keeps (waiting for a leader could never pay off).
    const key = bypass || packet.length - HEADER_SIZE > MAX_KEY_DATA_BYTES
      ? undefined
      : cacheKey(packet.subarray(HEADER_SIZE), header.showSteps);
    let stale = false;
    if (key !== undefined) {
      const entry = this.#cache.get(key);
      if (entry !== undefined) {
        const freshness = judge(entry.timestamp, entry.maxAge, header.cacheControl, this.#now());
        if (freshness.fresh) {
          const reply = entry.response;
          if (this.#reporting) {
            this.#report({
              peer,
              outcome: "HIT",
              requestBytes: packet.length,
              responseBytes: reply.length,
              remaining: freshness,
              note: undefined,
              elapsedMs: this.#elapsed(started),
            });
          } else this.stats.hits++;
          return { packet: reply };
        }
        stale = true;
      }
    }
    return this.#miss(packet, header, key, { bypass, stale }, peer, started);
  }

  unframeable(received: Uint8Array, reason: string, peer: string): Uint8Array {
    return this.#unparseable(
      headerProblem(received) ?? reason,
      received.length,
      peer,
      performance.now(),
    );
  }

  internalError(_error: unknown, peer: string): Uint8Array {
    const reply = internalProxyError(this.#now());
    this.#finish(
      { peer, outcome: "ERROR", requestBytes: 0, responseBytes: reply.length },
      0,
      "internal error",
    );
    return reply;
  }

  event(event: ConnectionEvent): void {
    // Per-connection lines are the server's; the proxy logs per request.
    logConnectionEvent(event, undefined, this.#warn);
  }

  /** Closes the connections to the servers. */
  close(): void {
    this.#servers.close();
  }

  async #miss(
    packet: Uint8Array,
    header: Header,
    key: string | undefined,
    seen: Pick<TripSummary, "bypass" | "stale">,
    peer: string,
    started: number,
  ): Promise<Reply> {
    // The trip is this client's (its share pays); coalesced followers ride on it for free.
    const trip = (): Promise<TripResult> => this.#trips.make(packet, header, key, peer);
    const { shared: coalesced, result } = key === undefined
      ? { shared: false, result: await trip() }
      : await this.#coalescer.run(key, trip);
    const outcome = missOutcome({
      ...seen,
      coalesced,
      sharedHit: result.shared === true,
      failed: result.failed,
      stored: result.stored,
    });
    const note = result.failed
      ? result.note
      : seen.stale && !coalesced
      ? (result.stored ? "refreshed" : "not stored")
      : undefined;
    const { response, remaining, server } = result;
    this.#finish(
      {
        peer,
        outcome,
        requestBytes: packet.length,
        responseBytes: response.length,
        remaining,
        server: coalesced ? undefined : server,
      },
      started,
      note,
    );
    return { packet: result.response };
  }

  /** The §7 answer to bytes that are not a request packet, for `reason`. */
  #unparseable(reason: string, length: number, peer: string, started: number): Uint8Array {
    const { packet, text } = unparseableError(reason, this.#now());
    this.#finish(
      { peer, outcome: "ERROR", requestBytes: length, responseBytes: packet.length },
      started,
      text,
    );
    return packet;
  }

  /** Counts an answered request and tells it to the log and the observer. */
  #finish(
    event: Omit<ProxyEvent, "elapsedMs" | "note">,
    started: number,
    note?: string,
  ): void {
    // Without a log or an observer, no event is made: a cache hit's CPU time is mostly this.
    if (!this.#reporting) this.stats.count(event.outcome, event.server);
    else this.#report({ ...event, note, elapsedMs: this.#elapsed(started) });
  }

  /** Counts `event` and tells it to the observer and the log. */
  #report(event: ProxyEvent): void {
    this.stats.count(event.outcome, event.server);
    this.#observe?.(event);
    this.#log?.(formatProxyEvent(event));
  }

  /** Milliseconds since `started` when they are logged (the clock is read for nothing else). */
  #elapsed(started: number): number {
    return this.#log === undefined ? 0 : performance.now() - started;
  }

  #now(): number {
    return unixSeconds(this.#clock());
  }
}
