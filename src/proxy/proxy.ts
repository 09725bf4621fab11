/**
 * `calcnet proxy`: the course proxy's cache rules (docs/PROTOCOL.md §7), with
 * identical concurrent misses coalesced into one trip to the server.
 *
 * @module
 */

import {
  decodeHeader,
  encodePacket,
  type Header,
  HEADER_SIZE,
  headerProblem,
  Status,
  unixSeconds,
} from "../protocol/header.ts";
import { ProtocolError } from "../errors.ts";
import { PyException } from "../calc/py_exception.ts";
import { encodeException } from "../pickle/mod.ts";
import { type ConnectionLimits, serveTcp, type TcpService } from "../net/tcp_service.ts";
import { formatRemaining, judge, type Remaining, storable } from "./policy.ts";
import { type Outcome, ProxyStats } from "./stats.ts";
import { Upstream, UpstreamError } from "./upstream.ts";
import { cacheKey, MAX_KEY_DATA_BYTES, type ResponseCache } from "./cache.ts";
import { unpackingException } from "../server/handler.ts";

/** Coalescing bounds. */
export interface CoalescingLimits {
  /** Requests that may wait for one trip to the server; more go themselves. */
  readonly maxWaiters: number;
  /** How long a waiter waits before going to the server itself. */
  readonly waitTimeoutMs: number;
}

/** Options of {@linkcode startProxy}. */
export interface ProxyOptions {
  /** Interface to bind. */
  readonly hostname: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** The server. */
  readonly server: { readonly hostname: string; readonly port: number };
  /** The cache (loaded from disk by the caller when it persists). */
  readonly cache: ResponseCache;
  /** Aborting it shuts the proxy down after in-flight requests. */
  readonly signal?: AbortSignal;
  /** Give up connecting to the server after this long (default 2 s). */
  readonly connectTimeoutMs?: number;
  /** Give up waiting for the server's answer after this long (default 10 s). */
  readonly answerTimeoutMs?: number;
  /** Coalescing bounds (defaults: 1000 waiters, the answer timeout). */
  readonly coalescing?: Partial<CoalescingLimits>;
  /** Client connection limits and timeouts. */
  readonly limits?: Partial<ConnectionLimits>;
  /** Receives one line per request. */
  readonly log?: (line: string) => void;
  /** Millisecond clock (injected in tests). */
  readonly clock?: () => number;
  /** Told about every answered request (for the demo's timeline and tests). */
  readonly observe?: (event: ProxyEvent) => void;
}

/** One answered request, as {@linkcode ProxyOptions.observe} sees it. */
export interface ProxyEvent {
  /** "host:port" of the client. */
  readonly peer: string;
  /** What the request came to. */
  readonly outcome: Outcome;
  /** Bytes of the request packet. */
  readonly requestBytes: number;
  /** Bytes of the response packet. */
  readonly responseBytes: number;
  /** Remaining times, when the cache was consulted. */
  readonly remaining?: Remaining;
}

/** A running proxy. */
export interface RunningProxy extends TcpService {
  /** Its counters. */
  readonly stats: ProxyStats;
}

interface InFlight {
  readonly done: Promise<void>;
  waiters: number;
}

/** The course's text for a request the proxy cannot answer without the server. */
export const SERVER_DOWN_TEXT =
  "Connection refused by server and the request was not in the cache/it was stale";

/**
 * A 500 made by the proxy: C=0, cache control 0, and
 * `CalculatorServerError('Internal proxy error', cause)`.
 */
function proxyError(cause: PyException, nowSeconds: number): Uint8Array {
  return encodePacket(
    {
      timestamp: nowSeconds,
      cache: false,
      steps: false,
      isRequest: false,
      status: Status.ServerError,
      cacheControl: 0,
    },
    encodeException(new PyException("CalculatorServerError", ["Internal proxy error", cause])),
  );
}

/** Turns an upstream failure into the cause the proxy's 500 carries. */
function upstreamCause(error: UpstreamError, answerTimeoutMs: number): PyException {
  switch (error.failure) {
    case "refused":
      return new PyException("CalculatorServerError", [SERVER_DOWN_TEXT]);
    case "timeout":
      return new PyException("CalculatorServerError", [
        `Server did not answer within ${
          answerTimeoutMs / 1000
        } s and the request was not in the cache/it was stale`,
      ]);
    case "broken":
      return new PyException("CalculatorServerError", [
        "Server closed the connection without answering and the request was not in the cache/it was stale",
      ]);
    case "invalid":
      return new PyException("CalculatorServerError", [
        `Invalid answer from server: ${error.message}`,
      ]);
  }
}

/**
 * Starts a proxy in front of `options.server`.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const proxy = startProxy({ hostname: "127.0.0.1", port: 0, server: { hostname: "127.0.0.1", port: 9999 }, cache, signal: ac.signal });
 * ```
 */
export function startProxy(options: ProxyOptions): RunningProxy {
  const clock = options.clock ?? Date.now;
  const log = options.log ?? (() => {});
  const answerTimeoutMs = options.answerTimeoutMs ?? 10_000;
  const coalescing: CoalescingLimits = {
    maxWaiters: 1000,
    waitTimeoutMs: answerTimeoutMs,
    ...options.coalescing,
  };
  const upstream = new Upstream({
    hostname: options.server.hostname,
    port: options.server.port,
    connectTimeoutMs: options.connectTimeoutMs ?? 2_000,
    answerTimeoutMs,
  });
  const stats = new ProxyStats();
  const cache = options.cache;
  const inFlight = new Map<string, InFlight>();

  const report = (
    peer: string,
    outcome: Outcome,
    request: number,
    response: number,
    started: number,
    remaining?: Remaining,
    note?: string,
  ): void => {
    options.observe?.({ peer, outcome, requestBytes: request, responseBytes: response, remaining });
    // Without a log, skip the line: about 0.5 µs, some 5% of a cache hit's CPU time.
    if (options.log === undefined) return;
    const times = remaining
      ? `, server time remaining: ${formatRemaining(remaining.server)}, client time remaining: ${
        formatRemaining(remaining.client)
      }`
      : "";
    log(
      `${peer} ${outcome} ${request} B -> ${response} B${times}, ${
        (performance.now() - started).toFixed(2)
      } ms` +
        (note ? `: ${note}` : ""),
    );
  };

  /** Asks the server; stores the answer under `key`, if given, when the rules allow. */
  const fetch = async (
    packet: Uint8Array,
    header: Header,
    key: string | undefined,
  ): Promise<{ response: Uint8Array; stored: boolean; remaining: Remaining }> => {
    const exchange = await upstream.forward(packet);
    const verdict = storable(header, exchange.header, unixSeconds(clock()));
    // set() declines what it cannot hold (e.g. an entry over the byte limit).
    const stored = key !== undefined && verdict.store && cache.set(key, exchange.response);
    return { response: exchange.response, stored, remaining: verdict };
  };

  const handle = async (
    packet: Uint8Array,
    peer: string,
  ): Promise<{ packet: Uint8Array; close?: boolean }> => {
    const started = options.log === undefined ? 0 : performance.now();
    let header: Header;
    try {
      header = decodeHeader(packet).header;
    } catch (error: unknown) {
      if (!(error instanceof ProtocolError)) throw error;
      return unparseable(error.message, packet.length, peer, started);
    }
    if (!header.isRequest) {
      const reply = proxyError(
        new PyException("TypeError", ["Received a response instead of a request"]),
        unixSeconds(clock()),
      );
      stats.count("ERROR");
      report(
        peer,
        "ERROR",
        packet.length,
        reply.length,
        started,
        undefined,
        "a response instead of a request",
      );
      return { packet: reply };
    }
    const bypass = header.cacheControl === 0;
    // No key where nothing is looked up or stored: a bypass, or request data
    // longer than the cache keeps (waiting for a leader could never pay off).
    const key = bypass || packet.length - HEADER_SIZE > MAX_KEY_DATA_BYTES
      ? undefined
      : cacheKey(packet.subarray(HEADER_SIZE), header.steps);
    let sawStale = false;
    if (key !== undefined) {
      const lookup = (): { reply: Uint8Array; remaining: Remaining } | undefined => {
        const entry = cache.get(key);
        if (entry === undefined) return undefined;
        const freshness = judge(
          entry.timestamp,
          entry.maxAge,
          header.cacheControl,
          unixSeconds(clock()),
        );
        if (!freshness.fresh) {
          sawStale = true;
          return undefined;
        }
        return { reply: entry.response, remaining: freshness };
      };
      const hit = lookup();
      if (hit !== undefined) {
        stats.count("HIT");
        report(peer, "HIT", packet.length, hit.reply.length, started, hit.remaining);
        return { packet: hit.reply };
      }
      const leader = inFlight.get(key);
      if (leader !== undefined && leader.waiters < coalescing.maxWaiters) {
        leader.waiters++;
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          leader.done,
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, coalescing.waitTimeoutMs);
          }),
        ]);
        clearTimeout(timer);
        leader.waiters--;
        const shared = lookup();
        if (shared !== undefined) {
          stats.count("COALESCED");
          report(peer, "COALESCED", packet.length, shared.reply.length, started, shared.remaining);
          return { packet: shared.reply };
        }
      }
    }
    // The first of identical misses goes to the server; the others wait for it.
    let owned: { readonly entry: InFlight; readonly finish: () => void } | undefined;
    if (key !== undefined && !inFlight.has(key)) {
      let finish = (): void => {};
      const done = new Promise<void>((resolve) => {
        finish = resolve;
      });
      owned = { entry: { done, waiters: 0 }, finish };
      inFlight.set(key, owned.entry);
    }
    try {
      const fetched = await fetch(packet, header, key);
      const outcome: Outcome = bypass
        ? "BYPASS"
        : sawStale
        ? "STALE"
        : fetched.stored
        ? "MISS (stored)"
        : "MISS (not stored)";
      stats.count(outcome);
      const note = sawStale ? (fetched.stored ? "refreshed" : "not stored") : undefined;
      report(
        peer,
        outcome,
        packet.length,
        fetched.response.length,
        started,
        fetched.remaining,
        note,
      );
      return { packet: fetched.response };
    } catch (error: unknown) {
      if (!(error instanceof UpstreamError)) throw error;
      const reply = proxyError(upstreamCause(error, answerTimeoutMs), unixSeconds(clock()));
      stats.count("ERROR");
      report(peer, "ERROR", packet.length, reply.length, started, undefined, error.message);
      return { packet: reply };
    } finally {
      if (owned !== undefined && key !== undefined) {
        if (inFlight.get(key) === owned.entry) inFlight.delete(key);
        owned.finish();
      }
    }
  };

  /** The §7 answer to bytes that are not a request packet, for `reason`; then close. */
  const unparseable = (
    reason: string,
    length: number,
    peer: string,
    started: number,
  ): { packet: Uint8Array; close: boolean } => {
    const cause = unpackingException(reason);
    const reply = proxyError(cause, unixSeconds(clock()));
    stats.count("ERROR");
    report(peer, "ERROR", length, reply.length, started, undefined, cause.str());
    return { packet: reply, close: true };
  };

  const service = serveTcp(
    {
      hostname: options.hostname,
      port: options.port,
      signal: options.signal,
      limits: options.limits,
    },
    {
      handle,
      unframeable(received, reason, peer) {
        return unparseable(
          headerProblem(received) ?? reason,
          received.length,
          peer,
          performance.now(),
        ).packet;
      },
      event(event) {
        if (event.kind === "refused") {
          log(`${event.peer} connection refused: ${event.active} connections open (limit reached)`);
        }
      },
    },
  );
  const finished = service.finished.finally(() => upstream.close());
  return { ...service, finished, stats };
}
