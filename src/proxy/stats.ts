/**
 * The proxy's counters, printed at shutdown and on SIGUSR2.
 *
 * @module
 */

import type { Outcome } from "./proxy_event.ts";

/** Running totals of the proxy's outcomes. */
export class ProxyStats {
  /** Answered from the cache. */
  hits = 0;
  /** Answered from the cache shared with other proxies (Redis). */
  sharedHits = 0;
  /** Not in the cache: asked the server. */
  misses = 0;
  /** In the cache but too old: asked the server. */
  stale = 0;
  /** Cache control 0: asked the server, cache untouched. */
  bypasses = 0;
  /** Answered by another request's trip to the server. */
  coalesced = 0;
  /** Answered with a 500 by the proxy itself. */
  errors = 0;
  /** Answers each server ("host:port") gave, in the order the servers first answered. */
  readonly servers: Map<string, number> = new Map();

  /** Counts one outcome, and the server that answered for it when one did. */
  count(outcome: Outcome, server?: string): void {
    if (server !== undefined) this.servers.set(server, (this.servers.get(server) ?? 0) + 1);
    switch (outcome) {
      case "HIT":
        this.hits++;
        break;
      case "HIT (shared)":
        this.sharedHits++;
        break;
      case "MISS (stored)":
      case "MISS (not stored)":
        this.misses++;
        break;
      case "STALE":
        this.stale++;
        break;
      case "BYPASS":
        this.bypasses++;
        break;
      case "COALESCED":
        this.coalesced++;
        break;
      case "ERROR":
        this.errors++;
        break;
    }
  }

  /** One line with every counter, plus the cache's own figures and the answers by server. */
  summary(
    cache: { readonly size: number; readonly bytes: number; readonly evictions: number },
    shared?: {
      readonly state: string;
      readonly counters: {
        readonly ops: number;
        readonly failures: number;
        readonly timeouts: number;
      };
    },
  ): string {
    const line =
      `hits ${this.hits}, misses ${this.misses}, stale ${this.stale}, bypasses ${this.bypasses}, ` +
      `coalesced ${this.coalesced}, errors ${this.errors}, evictions ${cache.evictions}, ` +
      `entries ${cache.size}, bytes ${cache.bytes}`;
    const sharedPart = shared === undefined ? "" : `, shared hits ${this.sharedHits}, ` +
      `shared cache ${shared.state} (${shared.counters.ops} operations, ` +
      `${shared.counters.failures} failed, ${shared.counters.timeouts} timed out)`;
    return `${line}${sharedPart}${this.#byServer()}`;
  }

  /** ", answers by server: host:port N, …", or "" before any server answered. */
  #byServer(): string {
    if (this.servers.size === 0) return "";
    const parts = [...this.servers].map(([server, answers]) => `${server} ${answers}`);
    return `, answers by server: ${parts.join(", ")}`;
  }
}
