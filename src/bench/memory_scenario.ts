/**
 * The memory budget scenario of `deno task bench-suite`: a cache file of 100,000
 * entries the size of course example 1 (request and response with steps),
 * how long it takes to load, how much resident memory a `calcnet proxy`
 * holding it uses, and what its periodic saves do to request latency.
 *
 * The requests are example 1 with three of its small integer constants
 * varied (each stays a one-byte BININT1 in the pickle, so every request has
 * exactly example 1's size); every entry holds example 1's real response.
 *
 * @module
 */

import { MAX_AGE_FOREVER, requestPacket, unixSeconds } from "../protocol/mod.ts";
import { parseExpression } from "../calc/mod.ts";
import { encodeExpr } from "../pickle/mod.ts";
import { cacheKey, loadCacheFile, ResponseCache, saveCacheFile } from "../proxy/mod.ts";
import { CalcConnection } from "../client/mod.ts";
import { type LoadResult, runLoad } from "./load_generator.ts";
import { formatMemory } from "./report.ts";
import { spawnProxy, spawnServer } from "./suite.ts";
import type { ServiceProcess } from "./service_process.ts";

/** Example 1 with three constants as placeholders ($A, $B, $C replace 2, 5 and 13). */
const TEMPLATE = "(sin(max($A, 3 * 4, $B, 6 * ((7 * 8) / 9), 10 / 11)) / 12) * $C";

/** New requests per run of the saves comparison (every hundredth request of the cycle). */
const FRESH_PER_ROUND = 1000;

/** The constants of example 1 itself. */
const EXAMPLE_VALUES = [2, 5, 13] as const;

/** Options of {@linkcode runMemoryScenario}. */
export interface MemoryOptions {
  /** Entries in the cache (the budget: 100,000). */
  readonly entries: number;
  /** Measuring time of each latency run. */
  readonly durationMs: number;
  /** Concurrent connections of the latency runs. */
  readonly connections: number;
  /** Rounds of the runs without and with saves. */
  readonly rounds: number;
  /** A directory for the cache file (removed by the caller). */
  readonly directory: string;
  /** Cores for the proxy and the server (`taskset -c`); undefined: anywhere. */
  readonly cpus: string | undefined;
  /** Receives a line per step. */
  readonly log: (line: string) => void;
}

/** What the memory scenario measured. */
export interface MemoryResult {
  /** Entries in the cache. */
  readonly entries: number;
  /** Bytes of each request packet. */
  readonly requestBytes: number;
  /** Bytes of each response packet. */
  readonly responseBytes: number;
  /** Size of the cache file. */
  readonly fileBytes: number;
  /** Milliseconds `loadCacheFile` took for the file, in this process. */
  readonly loadMs: number;
  /** Milliseconds one save of the whole cache took, in this process. */
  readonly saveMs: number;
  /** Milliseconds from spawning a proxy to it listening: with the file, and with no cache. */
  readonly startMs: { readonly loaded: number; readonly empty: number };
  /** Resident bytes of a proxy with an empty cache, after start (undefined without /proc). */
  readonly rssEmpty: number | undefined;
  /** Resident bytes of the proxy with the file loaded, after start. */
  readonly rssLoaded: number | undefined;
  /** Resident bytes of the proxy after the latency runs. */
  readonly rssAfter: number | undefined;
  /** Peak resident bytes of the proxy since it started (loading the file included). */
  readonly rssPeak: number | undefined;
  /**
   * Hits on the loaded entries with every hundredth request a new one sent
   * with C=0 (asked of the server, not stored, nothing to save): the round
   * with the median maximum latency.
   */
  readonly withoutSaves: LoadResult;
  /**
   * The same requests with C=1, so that the new answers are stored and the
   * proxy saves its cache every second: the round with the median maximum
   * latency.
   */
  readonly withSaves: LoadResult;
  /** Rounds of each. */
  readonly rounds: number;
  /** Saves observed (changes of the file's modification time) over the runs with stores. */
  readonly saves: number;
  /** Saves observed during the runs without stores (a late save of the run before); ideally 0. */
  readonly strays: number;
}

/** The request data of the template with the given three constants. */
function encodeVariant(values: readonly [number, number, number]): Uint8Array {
  const text = TEMPLATE.replace("$A", String(values[0])).replace("$B", String(values[1]))
    .replace("$C", String(values[2]));
  return encodeExpr(parseExpression(text));
}

/**
 * Makes `count` distinct request data of example 1's size, starting at
 * variant `first`: variant v sets the three constants to the bytes of v
 * (lowest first), so example 1 itself is variant 2 + 5·256 + 13·65536. The
 * pickle of the template is encoded twice to find the bytes of the three
 * constants, then patched per variant (100,000 in a few milliseconds).
 */
export function exampleOneVariants(first: number, count: number): Uint8Array[] {
  const base = encodeVariant([0, 0, 0]);
  const marked = encodeVariant([1, 2, 3]);
  const offsets = [1, 2, 3].map((value) =>
    marked.findIndex((byte, i) => byte === value && base[i] === 0)
  );
  if (base.length !== marked.length || offsets.some((offset) => offset < 0)) {
    throw new Error("example 1's constants are not where the benchmark expects them");
  }
  const data: Uint8Array[] = [];
  for (let variant = first; variant < first + count; variant++) {
    const bytes = base.slice();
    offsets.forEach((offset, index) => {
      bytes[offset] = (variant >> (8 * index)) & 0xff;
    });
    data.push(bytes);
  }
  return data;
}

/** A request packet with S=1, any max-age, and C=1 unless `cache` is false (then never stored). */
function exampleRequest(data: Uint8Array, cache = true): Uint8Array {
  return requestPacket(data, {
    showSteps: true,
    cacheResult: cache,
    cacheControl: cache ? MAX_AGE_FOREVER : 0,
  });
}

/** The run whose maximum latency is the median of `runs` (non-empty). */
function medianMax(runs: readonly LoadResult[]): LoadResult {
  const sorted = [...runs].sort((a, b) => a.latencyMs.max - b.latencyMs.max);
  const middle = sorted[sorted.length >> 1];
  if (middle === undefined) throw new RangeError("no runs");
  return middle;
}

/** Polling interval of {@linkcode watchSaves}. */
const POLL_MS = 20;

/** Whether a save of `path` is being written: its temporary file `<name>.tmp-…` exists. */
async function saving(path: string): Promise<boolean> {
  const slash = path.lastIndexOf("/");
  const name = path.slice(slash + 1);
  for await (const entry of Deno.readDir(path.slice(0, slash))) {
    if (entry.name.startsWith(`${name}.tmp-`)) return true;
  }
  return false;
}

/**
 * Counts changes of a file's modification time. The returned function waits
 * until no save is being written and the file has not changed for
 * `quietMs` (the save in flight and any it triggers are done, so that they
 * cannot overlap the next run), then stops and returns the count.
 */
function watchSaves(path: string, quietMs: number): () => Promise<number> {
  let saves = 0;
  let last: number | undefined;
  let changedAt = performance.now();
  let stopping = false;
  const polling = (async (): Promise<void> => {
    for (;;) {
      const mtime = (await Deno.stat(path)).mtime?.getTime();
      if (last !== undefined && mtime !== last) {
        saves++;
        changedAt = performance.now();
      }
      last = mtime;
      if (await saving(path)) changedAt = performance.now();
      if (stopping && performance.now() - changedAt >= quietMs) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  })();
  return async () => {
    stopping = true;
    await polling;
    return saves;
  };
}

/**
 * Builds a cache of `entries` variants of example 1, each holding
 * `response`, saves it to `path` and loads it back, timing both. Done in a
 * function of its own so that both caches are garbage once it returns: the
 * load generator then runs with a small heap.
 *
 * @throws {Error} when the file does not load back whole.
 */
async function writeCacheFile(
  path: string,
  entries: number,
  response: Uint8Array,
): Promise<{ bytes: number; saveMs: number; loadMs: number }> {
  const cache = new ResponseCache({ maxEntries: entries, maxBytes: Number.MAX_SAFE_INTEGER });
  for (const bytes of exampleOneVariants(0, entries)) cache.set(cacheKey(bytes, true), response);
  const nowSeconds = unixSeconds(Date.now());
  let started = performance.now();
  const saved = await saveCacheFile(path, cache, nowSeconds);
  const saveMs = performance.now() - started;
  started = performance.now();
  const loaded = await loadCacheFile(path, nowSeconds, cache.limits);
  const loadMs = performance.now() - started;
  if (loaded.cache.size !== entries) {
    throw new Error(
      `loaded ${loaded.cache.size} of ${entries} entries: ${loaded.warnings.join("; ")}`,
    );
  }
  return { bytes: saved.bytes, saveMs, loadMs };
}

/** The answer of the server to course example 1 with steps (what every entry holds). */
async function exampleOneAnswer(server: ServiceProcess): Promise<Uint8Array> {
  using conn = await CalcConnection.open(server.hostname, server.port);
  return (await conn.exchange(exampleRequest(encodeVariant(EXAMPLE_VALUES)))).response;
}

/** Waits a second: the proxy settles after start-up or a load. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1000));
}

/** A proxy with no cache: its resident memory a second after start, and its start-up time. */
async function emptyProxy(
  server: ServiceProcess,
  cpus: string | undefined,
): Promise<{ rss: number | undefined; readyMs: number }> {
  await using empty = await spawnProxy(server, ["--no-persist"], cpus);
  await settle();
  return { rss: (await empty.memory())?.rss, readyMs: empty.readyMs };
}

/** What the rounds of latency runs measured. */
interface LatencyRounds {
  readonly without: LoadResult[];
  readonly withStores: LoadResult[];
  readonly saves: number;
  readonly strays: number;
}

/**
 * Rounds of a run without saves and one with, the same requests but for
 * the C flag of the new ones: a systematic stall shows in every round, a
 * hiccup of the machine in one.
 */
async function latencyRounds(
  options: MemoryOptions,
  path: string,
  hits: readonly Uint8Array[],
  run: (packets: Uint8Array[]) => Promise<LoadResult>,
): Promise<LatencyRounds> {
  const without: LoadResult[] = [];
  const withStores: LoadResult[] = [];
  let saves = 0;
  let strays = 0;
  for (let round = 0; round < options.rounds; round++) {
    // Every hundredth request is new and goes to the server; with C=0 it is not stored.
    const fresh = exampleOneVariants(options.entries + round * FRESH_PER_ROUND, FRESH_PER_ROUND);
    const mixed = (cache: boolean): Uint8Array[] =>
      hits.map((packet, index) => {
        const data = index % 100 === 99 ? fresh[index / 100 | 0] : undefined;
        return data === undefined ? packet : exampleRequest(data, cache);
      });
    const idle = watchSaves(path, 0);
    const plain = await run(mixed(false));
    strays += await idle();
    // A save starts within a second of a change and its promise settles only after the
    // file and the directory are synced (seconds for 170 MB), well after the rename: 5 s
    // without a change or a temporary file means the saving is over.
    const stopWatching = watchSaves(path, 5000);
    const stored = await run(mixed(true));
    const saved = await stopWatching();
    saves += saved;
    without.push(plain);
    withStores.push(stored);
    options.log(
      `round ${round + 1}: ${Math.round(plain.requestsPerSecond)}/s, max ` +
        `${plain.latencyMs.max.toFixed(1)} ms without saves; ` +
        `${Math.round(stored.requestsPerSecond)}/s, max ${
          stored.latencyMs.max.toFixed(1)
        } ms with ${saved}`,
    );
  }
  return { without, withStores, saves, strays };
}

/** Starts a proxy loading the cache file at `path`, with room for what the runs store. */
function loadedProxy(
  server: ServiceProcess,
  path: string,
  options: MemoryOptions,
): Promise<ServiceProcess> {
  return spawnProxy(server, [
    "--cache-file",
    path,
    // Room for the answers the runs with saves store: nothing is evicted, so hits stay hits.
    "--max-entries",
    String(options.entries + options.rounds * FRESH_PER_ROUND),
    "--max-bytes",
    String(Number.MAX_SAFE_INTEGER),
  ], options.cpus);
}

/**
 * Runs the scenario: builds and saves the cache file, loads it here and in
 * a proxy process, and measures the proxy's memory and latency with and
 * without saves.
 *
 * @throws {ServiceStartError} when the server or a proxy does not start.
 */
export async function runMemoryScenario(options: MemoryOptions): Promise<MemoryResult> {
  const { entries, log } = options;
  await using server = await spawnServer(options.cpus);
  const response = await exampleOneAnswer(server);
  const path = `${options.directory}/cache.json`;
  const file = await writeCacheFile(path, entries, response);
  log(
    `cache file: ${entries} entries, ${file.bytes} bytes, saved in ${file.saveMs.toFixed(0)} ms, ` +
      `loaded in ${file.loadMs.toFixed(0)} ms`,
  );
  const empty = await emptyProxy(server, options.cpus);
  await using proxy = await loadedProxy(server, path, options);
  await settle();
  const rssLoaded = (await proxy.memory())?.rss;
  log(
    `proxy: ${formatMemory(empty.rss)} resident empty, ${formatMemory(rssLoaded)} with the ` +
      `cache loaded (ready in ${proxy.readyMs.toFixed(0)} ms)`,
  );
  const hits = exampleOneVariants(0, entries).map((data) => exampleRequest(data));
  const run = (packets: Uint8Array[]): Promise<LoadResult> =>
    runLoad({
      hostname: proxy.hostname,
      port: proxy.port,
      connections: options.connections,
      durationMs: options.durationMs,
      warmupMs: 500,
      packets,
    });
  // A first run lets the proxy settle after loading (JIT, the first full GC of the big heap).
  await run(hits);
  log(`proxy: ${formatMemory((await proxy.memory())?.rss)} resident after a run of hits`);
  const rounds = await latencyRounds(options, path, hits, run);
  const withoutSaves = medianMax(rounds.without);
  const withSaves = medianMax(rounds.withStores);
  const after = await proxy.memory();
  log(
    `latency: max ${withoutSaves.latencyMs.max.toFixed(2)} ms without saves, ` +
      `${withSaves.latencyMs.max.toFixed(2)} ms with ${rounds.saves} saves; ` +
      `${formatMemory(after?.rss)} resident after them, peak ${formatMemory(after?.peak)}`,
  );
  return {
    entries,
    requestBytes: hits[0]?.length ?? 0,
    responseBytes: response.length,
    fileBytes: file.bytes,
    loadMs: file.loadMs,
    saveMs: file.saveMs,
    startMs: { loaded: proxy.readyMs, empty: empty.readyMs },
    rssEmpty: empty.rss,
    rssLoaded,
    rssAfter: after?.rss,
    rssPeak: after?.peak,
    withoutSaves,
    withSaves,
    rounds: options.rounds,
    saves: rounds.saves,
    strays: rounds.strays,
  };
}
