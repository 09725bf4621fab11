/**
 * The caching proxy (docs/PROTOCOL.md §7): {@linkcode startProxy} wires the
 * response cache ({@linkcode ResponseCache}, the course's freshness rules),
 * the coalescing of identical misses, a bounded pool of watched
 * connections to the server and the proxy's own 500s; and the cache's life
 * on disk (one JSON file per server with a lock, crash-safe saves,
 * {@linkcode openCacheFile}, {@linkcode CacheWriter}, `calcnet cache`).
 *
 * @module
 */

export { cacheKey, DEFAULT_CACHE_LIMITS, ResponseCache, UNBOUNDED_CACHE_LIMITS } from "./cache.ts";
export { clearCacheFile } from "./cache_clear.ts";
export { defaultCacheFile } from "./cache_dir.ts";
export { loadCacheFile, type ReadCache, readCacheFile, saveCacheFile } from "./cache_file.ts";
export { type ListedEntry, listEntries } from "./cache_listing.ts";
export { openCacheFile, type OpenedCache } from "./cache_open.ts";
export { CacheWriter } from "./cache_writer.ts";
export { PROXY_DEFAULTS, type ProxyEvent, startProxy } from "./proxy.ts";
