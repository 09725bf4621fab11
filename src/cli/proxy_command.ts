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
import { type Command, command, type CommandSpec, flag, type ParsedArgs } from "./flags.ts";
import { createLogger } from "./logger.ts";
import { crashGuard } from "./crash_guard.ts";
import {
  CONNECTION_FLAGS,
  connectionLimits,
  listenFlags,
  listenOrExplain,
} from "./listen_flags.ts";
import { onStatsSignal, stopSignal } from "./signals.ts";

/** Flags of `calcnet proxy`. */
export const PROXY_FLAGS = {
  ...listenFlags(9998, { host: ["-ph", "--proxy_host"], port: ["-pp", "--proxy_port"] }),
  server: flag.hostPort("the server to forward to", { default: "127.0.0.1:9999" }),
  "server-host": flag.string("the server's host alone (overrides --server's)", {
    value: "HOST",
    aliases: ["-sh", "--server_host"],
  }),
  "server-port": flag.integer("the server's port alone (overrides --server's)", {
    value: "PORT",
    min: 1,
    max: 65535,
    aliases: ["-sp", "--server_port"],
  }),
  "cache-file": flag.string(
    "where the cache persists as JSON (default: the per-user cache folder)",
    { value: "PATH" },
  ),
  "no-persist": flag.boolean("keep the cache in memory only"),
  "max-entries": flag.integer("most cached answers kept (least recently used go first)", {
    min: 1,
    max: 100_000_000,
    default: DEFAULT_CACHE_LIMITS.maxEntries,
  }),
  "max-bytes": flag.integer("most bytes of requests and answers kept", {
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    default: DEFAULT_CACHE_LIMITS.maxBytes,
  }),
  "connect-timeout": flag.seconds("give up connecting to the server after this long", {
    default: PROXY_DEFAULTS.connectTimeoutMs / 1000,
  }),
  "answer-timeout": flag.seconds(
    "give up waiting for the server's answer after this long (clients get a 500)",
    { default: PROXY_DEFAULTS.answerTimeoutMs / 1000 },
  ),
  "max-upstream": flag.integer(
    "connections to the server open at once; more requests wait for one",
    { min: 1, max: 65_535, default: PROXY_DEFAULTS.maxUpstreamConnections },
  ),
  ...CONNECTION_FLAGS,
  quiet: flag.boolean("no log lines (counters are still printed at exit)", { short: "q" }),
} as const;

/** The interface of `calcnet proxy`. */
export const PROXY_SPEC: CommandSpec<typeof PROXY_FLAGS> = {
  name: "proxy",
  summary: "a caching proxy in front of a server, with the course's cache rules",
  flags: PROXY_FLAGS,
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
async function proxyMain({ flags }: ParsedArgs<typeof PROXY_FLAGS>): Promise<ExitCode> {
  const server = {
    hostname: flags.serverHost ?? flags.server.hostname,
    port: flags.serverPort ?? flags.server.port,
  };
  const cacheLimits = { maxEntries: flags.maxEntries, maxBytes: flags.maxBytes };
  const persist = !flags.noPersist;
  const cacheFile = flags.cacheFile ?? defaultCacheFile();
  const log = createLogger({ quiet: flags.quiet });

  const { cache, warnings } = persist
    ? await loadCacheFile(cacheFile, unixSeconds(Date.now()), cacheLimits)
    : { cache: new ResponseCache(cacheLimits), warnings: [] };
  for (const warning of warnings) console.error(`calcnet proxy: ${warning}`);
  const writer = persist
    ? new CacheWriter(cacheFile, cache, { onError: (message) => log(`cache file: ${message}`) })
    : undefined;

  using stop = stopSignal();
  using _guard = crashGuard(log.warn);
  const { host: hostname, port } = flags;
  const proxy = listenOrExplain(
    () =>
      startProxy({
        hostname,
        port,
        server,
        cache,
        signal: stop.signal,
        // No per-request log work at all when quiet (benchmarks run that way).
        log: flags.quiet ? undefined : log,
        warn: log.warn,
        connectTimeoutMs: flags.connectTimeout,
        answerTimeoutMs: flags.answerTimeout,
        maxUpstreamConnections: flags.maxUpstream,
        limits: connectionLimits(flags),
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

/** `calcnet proxy`. */
export const proxyCommand: Command = command(PROXY_SPEC, proxyMain);
