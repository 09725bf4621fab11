/**
 * `calcnet proxy`.
 *
 * @module
 */

import { ExitCode } from "../errors.ts";
import { PROXY_DEFAULTS, startProxy } from "../proxy/proxy.ts";
import { DEFAULT_CACHE_LIMITS, ResponseCache } from "../proxy/cache.ts";
import { loadCacheFile } from "../proxy/cache_file.ts";
import { CacheWriter } from "../proxy/cache_writer.ts";
import { defaultCacheFile } from "../proxy/cache_dir.ts";
import { unixSeconds } from "../protocol/header.ts";
import {
  type CommandSpec,
  hostPortFlag,
  integerFlag,
  optionalStringFlag,
  type ParsedArgs,
  secondsFlag,
} from "./flags.ts";
import { createLogger } from "./logger.ts";
import { crashGuard } from "./crash_guard.ts";
import {
  CONNECTION_FLAGS,
  connectionLimits,
  listenAddress,
  listenFlags,
  listenOrExplain,
} from "./listen_flags.ts";
import { onStatsSignal, stopSignal } from "./signals.ts";

/** Flags of `calcnet proxy`. */
export const PROXY_SPEC: CommandSpec = {
  name: "proxy",
  summary: "a caching proxy in front of a server, with the course's cache rules",
  flags: {
    ...listenFlags(9998),
    server: {
      type: "string",
      value: "HOST:PORT",
      description: "the server to forward to",
      default: "127.0.0.1:9999",
    },
    "cache-file": {
      type: "string",
      value: "PATH",
      description: "where the cache persists as JSON (default: the per-user cache folder)",
    },
    "no-persist": { type: "boolean", description: "keep the cache in memory only" },
    "max-entries": {
      type: "string",
      value: "N",
      description: "most cached answers kept (least recently used go first)",
      default: String(DEFAULT_CACHE_LIMITS.maxEntries),
    },
    "max-bytes": {
      type: "string",
      value: "N",
      description: "most bytes of requests and answers kept",
      default: String(DEFAULT_CACHE_LIMITS.maxBytes),
    },
    "connect-timeout": {
      type: "string",
      value: "SECONDS",
      description: "give up connecting to the server after this long",
      default: "2",
    },
    "answer-timeout": {
      type: "string",
      value: "SECONDS",
      description: "give up waiting for the server's answer after this long (clients get a 500)",
      default: "10",
    },
    "max-upstream": {
      type: "string",
      value: "N",
      description: "connections to the server open at once; more requests wait for one",
      default: String(PROXY_DEFAULTS.maxUpstreamConnections),
    },
    ...CONNECTION_FLAGS,
    quiet: {
      type: "boolean",
      short: "q",
      description: "no log lines (counters are still printed at exit)",
    },
  },
  examples: [
    "calcnet proxy",
    "calcnet proxy --port 9998 --server 127.0.0.1:9999 --cache-file ./cache.json",
    "deno task proxy --max-entries 100000",
  ],
  notes: [
    "Logs one line per request: HIT, MISS (stored), MISS (not stored), STALE, BYPASS,",
    "COALESCED or ERROR, with the remaining times. Counters are printed at exit and on",
    "SIGUSR2 (`kill -USR2 <pid>`; not on Windows). Never send SIGUSR1: Deno answers it by",
    "opening its debugger on 127.0.0.1:9229. The cache is saved within about a second of a",
    "change and at exit.",
  ],
};

/** Runs `calcnet proxy` until SIGINT/SIGTERM. */
export async function proxyCommand(args: ParsedArgs): Promise<ExitCode> {
  const { hostname, port } = listenAddress(args);
  const server = hostPortFlag(args, "server");
  const cacheLimits = {
    maxEntries: integerFlag(args, "max-entries", 1, 100_000_000),
    maxBytes: integerFlag(args, "max-bytes", 1, Number.MAX_SAFE_INTEGER),
  };
  const timeouts = {
    connectTimeoutMs: secondsFlag(args, "connect-timeout"),
    answerTimeoutMs: secondsFlag(args, "answer-timeout"),
    maxUpstreamConnections: integerFlag(args, "max-upstream", 1, 65_535),
  };
  const limits = connectionLimits(args);
  const persist = !args.booleans.has("no-persist");
  const cacheFile = optionalStringFlag(args, "cache-file") ?? defaultCacheFile();
  const log = createLogger({ quiet: args.booleans.has("quiet") });

  const { cache, warnings } = persist
    ? await loadCacheFile(cacheFile, unixSeconds(Date.now()), cacheLimits)
    : { cache: new ResponseCache(cacheLimits), warnings: [] };
  for (const warning of warnings) console.error(`calcnet proxy: ${warning}`);
  const writer = persist
    ? new CacheWriter(cacheFile, cache, { onError: (message) => log(`cache file: ${message}`) })
    : undefined;

  using stop = stopSignal();
  using _guard = crashGuard(log.warn);
  const proxy = listenOrExplain(
    () =>
      startProxy({
        hostname,
        port,
        server,
        cache,
        signal: stop.signal,
        // No per-request log work at all when quiet (benchmarks run that way).
        log: args.booleans.has("quiet") ? undefined : log,
        warn: log.warn,
        ...timeouts,
        limits,
      }),
    hostname,
    port,
  );
  const printCounters = (): void => console.error(`calcnet proxy: ${proxy.stats.summary(cache)}`);
  using _counters = onStatsSignal(printCounters);
  console.error(
    `calcnet proxy listening on ${proxy.addr.hostname}:${proxy.addr.port}, server ${server.hostname}:${server.port}, ` +
      (persist ? `cache ${cacheFile} (${cache.size} entries loaded)` : "cache in memory only"),
  );
  try {
    await proxy.finished;
  } finally {
    if (writer) {
      await writer.flush();
      writer.close();
    }
    printCounters();
    await log.flush();
  }
  return ExitCode.Ok;
}
