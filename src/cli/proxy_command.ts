/**
 * `calcnet proxy`.
 *
 * @module
 */

import { ExitCode, UsageError } from "../base/mod.ts";
import { RedisStore, RedisUrlError } from "../shared_cache/mod.ts";
import {
  CacheWriter,
  DEFAULT_CACHE_LIMITS,
  defaultCacheFile,
  openCacheFile,
  type OpenedCache,
  PROXY_DEFAULTS,
  ResponseCache,
  startProxy,
} from "../proxy/mod.ts";
import { unixSeconds } from "../protocol/mod.ts";
import {
  type Command,
  command,
  type CommandSpec,
  flag,
  type HostPort,
  MAX_PORT,
  type ParsedArgs,
} from "../term/mod.ts";
import { crashGuard, createLogger, onStatsSignal, stopSignal } from "../term/mod.ts";
import { RECORD_FLAGS, startRecording } from "./record_flags.ts";
import {
  CONNECTION_FLAGS,
  connectionLimits,
  listenFlags,
  listenOrExplain,
} from "./listen_flags.ts";
import { requirePermission } from "./permissions.ts";

/** The most connections to one server `--max-upstream` may ask for: one per local port. */
const MAX_UPSTREAM_FLAG = 65_535;

/** Bytes in a megabyte, as the counters line counts them. */
const BYTES_PER_MB = 1024 * 1024;

/** The server a proxy forwards to when `--server` is not given. */
export const DEFAULT_SERVER = "127.0.0.1:9999";

/** Flags of `calcnet proxy`. */
export const PROXY_FLAGS = {
  ...listenFlags(9998, { host: ["-ph", "--proxy_host"], port: ["-pp", "--proxy_port"] }),
  server: flag.hostPorts("a server to forward to (requests go to the least busy healthy one)", {
    default: DEFAULT_SERVER,
  }),
  "server-host": flag.host("the (first) server's host alone (overrides --server's)", {
    value: "HOST",
    aliases: ["-sh", "--server_host"],
  }),
  "server-port": flag.integer("the (first) server's port alone (overrides --server's)", {
    value: "PORT",
    min: 1,
    max: MAX_PORT,
    aliases: ["-sp", "--server_port"],
  }),
  cache: flag.string(
    "share the cache with other proxies on Redis or Valkey: redis://[user:pass@]host:port[/db] " +
      "(or rediss:// for TLS); this proxy then keeps a small in-memory cache in front, no file",
    { value: "URL" },
  ),
  "cache-file": flag.string(
    "where the cache persists as JSON " +
      "(default: cache-HOST-PORT.json of --server in the per-user cache folder)",
    { value: "PATH" },
  ),
  fresh: flag.boolean("start with an empty cache; the previous file is kept as PATH.old"),
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
    { min: 1, max: MAX_UPSTREAM_FLAG, default: PROXY_DEFAULTS.maxUpstreamConnections },
  ),
  "upstream-reuse": flag.boolean(
    "keep connections to the server open for further requests (default: one per request, " +
      "as the course proxy does; see docs/DEPLOYMENT.md)",
  ),
  ...CONNECTION_FLAGS,
  ...RECORD_FLAGS,
  quiet: flag.boolean(
    "no per-request log lines (errors and the counters at exit are still printed)",
    { short: "q" },
  ),
} as const;

/** The interface of `calcnet proxy`. */
export const PROXY_SPEC: CommandSpec<typeof PROXY_FLAGS> = {
  name: "proxy",
  summary: "a caching proxy in front of a server, with the course's cache rules",
  flags: PROXY_FLAGS,
  examples: [
    "calcnet proxy",
    "calcnet proxy --fresh --port 9998 --server 127.0.0.1:9999",
    "calcnet proxy -pp 9998 -sp 9999          # the course proxy's flags",
    "calcnet proxy --server 127.0.0.1:9999 --cache-file /tmp/calcnet-lab.json",
  ],
  notes: [
    "Logs one line per request: HIT, MISS (stored), MISS (not stored), STALE, BYPASS,",
    "COALESCED or ERROR, with the remaining times. Counters (and resident memory) are printed",
    "at exit and on SIGUSR2 (`kill -USR2 <pid>`; not on Windows). Never send SIGUSR1: Deno",
    "answers it by opening its debugger on 127.0.0.1:9229. The cache is saved within about a",
    "second of a change and at exit.",
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
  permissions: [
    { flag: "--allow-net" },
    { flag: "--allow-env", when: "the default cache file's folder" },
    { flag: "--allow-read", when: "the cache file" },
    { flag: "--allow-write", when: "the cache file" },
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

/** The cache the flags ask for: in memory, or opened from its file ("" for none). */
async function openCache(
  flags: ParsedArgs<typeof PROXY_FLAGS>["flags"],
  server: HostPort,
): Promise<{ cache: ResponseCache; cacheFile: string; opened: OpenedCache | undefined }> {
  const limits = { maxEntries: flags.maxEntries, maxBytes: flags.maxBytes };
  const cacheFile = flags.noPersist ? "" : flags.cacheFile ?? defaultCacheFile(server);
  const opened = cacheFile === "" ? undefined : await openCacheFile(cacheFile, {
    nowSeconds: unixSeconds(Date.now()),
    limits,
    fresh: flags.fresh,
  });
  for (const warning of opened?.warnings ?? []) console.error(`calcnet proxy: ${warning}`);
  return { cache: opened?.cache ?? new ResponseCache(limits), cacheFile, opened };
}

/** The servers the flags name: every --server, the first one's host or port replaced by -sh/-sp. */
function serversOf(flags: ParsedArgs<typeof PROXY_FLAGS>["flags"]): HostPort[] {
  const [first, ...rest] = flags.server;
  const head = {
    hostname: flags.serverHost ?? first?.hostname ?? "127.0.0.1",
    port: flags.serverPort ?? first?.port ?? 9999,
  };
  return [head, ...rest];
}

/** The shared cache `--cache` names, its state changes told through `warn`, or none. */
function sharedCache(
  url: string | undefined,
  servers: readonly HostPort[],
  warn: (line: string) => void,
): RedisStore | undefined {
  if (url === undefined) return undefined;
  try {
    return new RedisStore({
      url,
      // Answers of one set of servers are never served for another.
      namespace: servers.map((server) => `${server.hostname}:${server.port}`).join(","),
      onState: ({ state, detail }) =>
        warn(
          state === "up"
            ? `shared cache ${detail} is up`
            : `shared cache is ${state} (${detail}): answering from this proxy's cache and the servers`,
        ),
    });
  } catch (error: unknown) {
    if (error instanceof RedisUrlError) throw new UsageError(`--cache: ${error.message}`);
    throw error;
  }
}

/** Runs `calcnet proxy` until SIGINT/SIGTERM. */
/** Connecting to the servers comes with the first request: know now whether it may. */
function requireForwarding(servers: readonly HostPort[]): void {
  for (const server of servers) {
    const upstream = `${server.hostname}:${server.port}`;
    requirePermission({ name: "net", host: upstream }, "--allow-net", `forwarding to ${upstream}`);
  }
}

async function proxyMain({ flags }: ParsedArgs<typeof PROXY_FLAGS>): Promise<ExitCode> {
  const servers = serversOf(flags);
  requireForwarding(servers);
  // The log is never quiet: --quiet drops the per-request lines (not given this log), not errors.
  const log = createLogger();
  await using shared = sharedCache(flags.cache, servers, log.warn);
  const { cache, cacheFile, opened } = await openCache(
    shared === undefined ? flags : { ...flags, noPersist: true },
    servers[0] as HostPort,
  );
  using _release = opened ?? { [Symbol.dispose]() {} };
  using recording = flags.record === undefined
    ? undefined
    : startRecording(flags.record, flags.recordMaxBytes, log.warn);
  using stop = stopSignal();
  using _guard = crashGuard(log.warn);
  const proxy = listenOrExplain(
    () =>
      startProxy({
        hostname: flags.host,
        port: flags.port,
        servers,
        cache,
        shared,
        signal: stop.signal,
        // No per-request log work at all when quiet (benchmarks run that way).
        log: flags.quiet ? undefined : log,
        warn: log.warn,
        connectTimeoutMs: flags.connectTimeout,
        answerTimeoutMs: flags.answerTimeout,
        maxUpstreamConnections: flags.maxUpstream,
        upstreamReuse: flags.upstreamReuse,
        limits: connectionLimits(flags),
        record: recording?.tap,
      }),
    flags.host,
    flags.port,
  );
  const writer = opened ? cacheWriter(opened, cache, log.warn) : undefined;
  const printCounters = (): void => console.error(countersLine(proxy.stats.summary(cache, shared)));
  using _counters = onStatsSignal(printCounters);
  console.error(
    `calcnet proxy listening on ${proxy.addr.hostname}:${proxy.addr.port}, ` +
      `server${servers.length > 1 ? "s" : ""} ${
        servers.map((s) => `${s.hostname}:${s.port}`).join(", ")
      }, ` +
      (shared ? `shared cache ${shared.address}` : describeCache(cacheFile, opened, flags.fresh)) +
      (recording ? `, recording into ${recording.path}` : ""),
  );
  try {
    await proxy.finished;
  } finally {
    await writer?.flush();
    writer?.close();
    printCounters();
    await log.flush();
  }
  return ExitCode.Ok;
}

/** Saves `cache` into the opened file as it changes; failures and recoveries told through `warn`. */
function cacheWriter(
  opened: OpenedCache,
  cache: ResponseCache,
  warn: (line: string) => void,
): CacheWriter {
  return new CacheWriter(opened.target, cache, {
    onError: (message) => warn(`cache file: ${message}`),
    onRecovered: (message) => warn(`cache file: ${message}`),
  });
}

/** `calcnet proxy`. */
export const proxyCommand: Command = command(PROXY_SPEC, proxyMain);

/** The counters line: the proxy's `summary`, then this process's resident memory (a leak shows there first). */
function countersLine(summary: string): string {
  const resident = (Deno.memoryUsage().rss / BYTES_PER_MB).toFixed(1);
  return `calcnet proxy: ${summary}, resident memory ${resident} MB`;
}
