/**
 * `calcnet proxy`.
 *
 * @module
 */

import { ExitCode } from "../errors.ts";
import { startProxy } from "../proxy/proxy.ts";
import { type CacheLimits, DEFAULT_CACHE_LIMITS, ResponseCache } from "../proxy/cache.ts";
import { openCacheFile, type OpenedCache } from "../proxy/cache_open.ts";
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
import {
  CONNECTION_FLAGS,
  connectionLimits,
  listenAddress,
  listenFlags,
  listenOrExplain,
} from "./listen_flags.ts";
import { stopSignal } from "./signals.ts";

/** The server a proxy forwards to when `--server` is not given. */
export const DEFAULT_SERVER = "127.0.0.1:9999";

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
      default: DEFAULT_SERVER,
    },
    "cache-file": {
      type: "string",
      value: "PATH",
      description: "where the cache persists as JSON " +
        "(default: cache-HOST-PORT.json of --server in the per-user cache folder)",
    },
    fresh: {
      type: "boolean",
      description: "start with an empty cache; the previous file is kept as PATH.old",
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
    ...CONNECTION_FLAGS,
    quiet: {
      type: "boolean",
      short: "q",
      description: "no per-request log lines (errors and the counters at exit are still printed)",
    },
  },
  examples: [
    "calcnet proxy",
    "calcnet proxy --fresh --port 9998 --server 127.0.0.1:9999",
    "calcnet proxy --server 127.0.0.1:9999 --cache-file /tmp/calcnet-lab.json",
    "deno task proxy --max-entries 100000",
  ],
  notes: [
    "Logs one line per request: HIT, MISS (stored), MISS (not stored), STALE, BYPASS,",
    "COALESCED or ERROR, with the remaining times. Counters are printed at exit and on",
    "SIGUSR1 (not on Windows). The cache is saved within about a second of a change and at exit.",
    "",
    "Cache file: one per server by default, so answers of one server are never served for",
    "another. One proxy at a time uses a file: it holds PATH.lock (pid and host name) and a",
    "second proxy on the same file stops with an error naming that pid; the lock of a proxy",
    "that was killed is taken over. A symbolic link is written through to its target. A path",
    "that is a directory, in a folder calcnet cannot write, or a file that is not a calcnet",
    "cache file stops the proxy at start with an error (the file is left as it is); a",
    "calcnet cache file that is damaged is moved to PATH.corrupt-TIME with one warning and",
    "the proxy starts empty. Invalid entries are dropped when loading, never served.",
    "See and empty a cache file with 'calcnet cache show' and 'calcnet cache clear'.",
  ],
};

/** "1 entry", "2 entries". */
export function entryCount(count: number): string {
  return `${count} entr${count === 1 ? "y" : "ies"}`;
}

/** What the startup line says about the cache. */
function describeCache(cacheFile: string, opened: OpenedCache | undefined, fresh: boolean): string {
  if (opened === undefined) return "cache in memory only";
  const link = opened.target === cacheFile ? "" : ` -> ${opened.target}`;
  const { keptAside } = opened;
  const state = !fresh
    ? `${entryCount(opened.cache.size)} loaded`
    : keptAside === undefined
    ? "fresh start; there was no previous file"
    : `fresh start; the previous ${entryCount(keptAside.entries)} kept in ${keptAside.path}`;
  return `cache ${cacheFile}${link} (${state})`;
}

/** The cache settings the flags give; `cacheFile` is "" with `--no-persist`. */
function cacheSettings(
  args: ParsedArgs,
  server: { hostname: string; port: number },
): { cacheLimits: Partial<CacheLimits>; cacheFile: string; fresh: boolean } {
  const persist = !args.booleans.has("no-persist");
  return {
    cacheLimits: {
      maxEntries: integerFlag(args, "max-entries", 1, 100_000_000),
      maxBytes: integerFlag(args, "max-bytes", 1, Number.MAX_SAFE_INTEGER),
    },
    cacheFile: persist ? optionalStringFlag(args, "cache-file") ?? defaultCacheFile(server) : "",
    fresh: args.booleans.has("fresh"),
  };
}

/** Runs `calcnet proxy` until SIGINT/SIGTERM. */
export async function proxyCommand(args: ParsedArgs): Promise<ExitCode> {
  const { hostname, port } = listenAddress(args);
  const server = hostPortFlag(args, "server");
  const { cacheLimits, cacheFile, fresh } = cacheSettings(args, server);
  const timeouts = {
    connectTimeoutMs: secondsFlag(args, "connect-timeout"),
    answerTimeoutMs: secondsFlag(args, "answer-timeout"),
  };
  const limits = connectionLimits(args);
  const quiet = args.booleans.has("quiet");
  // Never quiet: --quiet drops the per-request lines (not given this log), not errors.
  const log = createLogger();

  using opened = cacheFile !== ""
    ? await openCacheFile(cacheFile, {
      nowSeconds: unixSeconds(Date.now()),
      limits: cacheLimits,
      fresh,
    })
    : undefined;
  const cache = opened?.cache ?? new ResponseCache(cacheLimits);
  for (const warning of opened?.warnings ?? []) console.error(`calcnet proxy: ${warning}`);

  using stop = stopSignal();
  const proxy = listenOrExplain(
    () =>
      startProxy({
        hostname,
        port,
        server,
        cache,
        signal: stop.signal,
        // No per-request log work at all when quiet (benchmarks run that way).
        log: quiet ? undefined : log,
        ...timeouts,
        limits,
      }),
    hostname,
    port,
  );
  const writer = opened
    ? new CacheWriter(opened.target, cache, {
      onError: (message) => log(`cache file: ${message}`),
      onRecovered: (message) => log(`cache file: ${message}`),
    })
    : undefined;
  const printCounters = (): void => console.error(`calcnet proxy: ${proxy.stats.summary(cache)}`);
  const sigusr1 = Deno.build.os === "windows" ? undefined : printCounters;
  if (sigusr1) Deno.addSignalListener("SIGUSR1", sigusr1);
  console.error(
    `calcnet proxy listening on ${proxy.addr.hostname}:${proxy.addr.port}, ` +
      `server ${server.hostname}:${server.port}, ${describeCache(cacheFile, opened, fresh)}`,
  );
  try {
    await proxy.finished;
  } finally {
    if (sigusr1) Deno.removeSignalListener("SIGUSR1", sigusr1);
    if (writer) {
      await writer.flush();
      writer.close();
    }
    printCounters();
    await log.flush();
  }
  return ExitCode.Ok;
}
