/**
 * How a request that missed the proxy's own cache gets its answer: from the
 * cache shared with other proxies (Redis), from another proxy's trip to a
 * server (cross-proxy coalescing), or from a server; and what is kept of
 * the answer (the local cache, the shared one). Freshness is the course's
 * rule (`policy.ts`) at every step, whatever holds the bytes.
 *
 * @module
 */

import type { Header } from "../protocol/mod.ts";
import type { SharedOutcome, SharedStore } from "../shared_cache/mod.ts";
import { judge, type Remaining, storable } from "./policy.ts";
import type { ResponseCache } from "./cache.ts";
import type { ServerSet } from "./server_set.ts";
import { UpstreamError } from "./upstream_error.ts";
import { readServerAnswer, upstreamError } from "./proxy_errors.ts";

/** What a trip came to: the answer to send, and what the caches made of it. */
export interface TripResult {
  /** The response packet to send. */
  readonly response: Uint8Array;
  /** No server answered: `response` is the proxy's 500. */
  readonly failed: boolean;
  /** The answer was stored in the local cache. */
  readonly stored: boolean;
  /** The course's rules let the answer be cached (both C flags, time left on both sides). */
  readonly storable?: boolean;
  /** The remaining times the answer was judged by. */
  readonly remaining?: Remaining;
  /** Why it failed (for the log). */
  readonly note?: string;
  /** "host:port" of the server that answered, when one did for this trip. */
  readonly server?: string;
  /** The answer came through the shared cache (a hit there, or another proxy's trip) rather than a trip of ours. */
  readonly shared?: boolean;
}

/** Options of {@linkcode Trips}. */
export interface TripsOptions {
  /** The servers. */
  readonly servers: ServerSet;
  /** The proxy's own cache. */
  readonly cache: ResponseCache;
  /** The cache shared with other proxies, if any. */
  readonly shared?: SharedStore;
  /** The longest a trip may take, queueing and connecting included. */
  readonly answerTimeoutMs: number;
  /** Unix seconds now. */
  readonly nowSeconds: () => number;
}

/** Makes the trips of a proxy. */
export class Trips {
  readonly #options: TripsOptions;

  /** Trips over `options.servers`, keeping answers in the caches of `options`. */
  constructor(options: TripsOptions) {
    this.#options = options;
  }

  /**
   * The answer to `packet` (with `header`), whose cache key is `key`
   * (undefined: nothing may be looked up or kept), asked for `client` (the
   * peer "host:port" of the client connection that made the trip: its
   * share of the servers pays for it). Never rejects for a failure of the
   * servers or of the shared cache: those are results.
   */
  async make(
    packet: Uint8Array,
    header: Header,
    key: string | undefined,
    client?: string,
  ): Promise<TripResult> {
    const shared = this.#options.shared;
    if (shared === undefined || key === undefined) {
      return await this.#askServers(packet, header, key, client);
    }
    const deadline = performance.now() + this.#options.answerTimeoutMs;
    const known = await this.#sharedHit(shared, key, header);
    if (known !== undefined) return known;
    const role = await shared.lead(key, this.#options.answerTimeoutMs);
    if (role === "follower") {
      const outcome = await shared.await(key, deadline);
      if (outcome !== undefined) return this.#fromShared(outcome, header, key);
    }
    if (role !== "leader") return await this.#askServers(packet, header, key, client);
    try {
      // Another proxy may have finished between the first look and the lock.
      const result = await this.#sharedHit(shared, key, header) ??
        await this.#askServers(packet, header, key, client);
      await this.#share(shared, key, result);
      return result;
    } finally {
      await shared.release(key);
    }
  }

  /** Asks a server; stores a valid answer under `key`, if given, when the rules allow. */
  async #askServers(
    packet: Uint8Array,
    header: Header,
    key: string | undefined,
    client: string | undefined,
  ): Promise<TripResult> {
    const now = this.#options.nowSeconds;
    try {
      const { frame, server } = await this.#options.servers.exchange(
        packet,
        performance.now() + this.#options.answerTimeoutMs,
        client,
      );
      const answer = readServerAnswer(frame, server);
      const verdict = storable(header, answer, now());
      // set() declines what it cannot hold (e.g. an entry over the byte limit).
      const stored = key !== undefined && verdict.store && this.#options.cache.set(key, frame);
      return {
        response: frame,
        failed: false,
        stored,
        storable: verdict.store,
        remaining: verdict,
        server,
      };
    } catch (error: unknown) {
      if (!(error instanceof UpstreamError)) throw error;
      const response = upstreamError(error, this.#options.answerTimeoutMs, now());
      return { response, failed: true, stored: false, note: error.message };
    }
  }

  /** The shared cache's answer for `key`, if it has a valid one fresh enough for `header`. */
  async #sharedHit(
    shared: SharedStore,
    key: string,
    header: Header,
  ): Promise<TripResult | undefined> {
    const bytes = await shared.get(key);
    const answer = bytes === undefined ? undefined : checkedAnswer(bytes);
    if (bytes === undefined || answer === undefined) return undefined;
    const freshness = judge(
      answer.timestamp,
      answer.cacheControl,
      header.cacheControl,
      this.#options.nowSeconds(),
    );
    if (!freshness.fresh) return undefined;
    // Hot entries are kept close: the next identical request is a local hit.
    const stored = this.#options.cache.set(key, bytes);
    return { response: bytes, failed: false, stored, remaining: freshness, shared: true };
  }

  /** Another proxy's outcome, as this request's result (kept locally when the rules allow). */
  #fromShared(outcome: SharedOutcome, header: Header, key: string): TripResult {
    const answer = outcome.failed ? undefined : checkedAnswer(outcome.response);
    if (answer === undefined) {
      return {
        response: outcome.response,
        failed: true,
        stored: false,
        note: "another proxy's trip failed",
      };
    }
    const verdict = storable(header, answer, this.#options.nowSeconds());
    const stored = verdict.store && this.#options.cache.set(key, outcome.response);
    // No server was asked for it here: it counts and logs as a shared hit, not a miss.
    return { response: outcome.response, failed: false, stored, remaining: verdict, shared: true };
  }

  /** Publishes a leader's result to the waiters of every proxy; a storable answer is kept shared. */
  async #share(shared: SharedStore, key: string, result: TripResult): Promise<void> {
    if (result.storable === true && result.remaining !== undefined) {
      await shared.set(key, result.response, result.remaining.server);
    }
    await shared.publish(key, { response: result.response, failed: result.failed });
  }
}

/** The header of bytes that are a valid answer, or undefined (bytes from a shared store are checked too). */
function checkedAnswer(bytes: Uint8Array): Header | undefined {
  try {
    return readServerAnswer(bytes, "the shared cache");
  } catch (error: unknown) {
    if (error instanceof UpstreamError) return undefined;
    throw error;
  }
}
