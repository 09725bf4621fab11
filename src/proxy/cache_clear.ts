/**
 * Emptying a cache file, as `calcnet cache clear` does: only while no proxy
 * uses it (it takes the file's lock for the time it writes), and only a
 * calcnet cache file.
 *
 * @module
 */

import { ResponseCache, UNBOUNDED_CACHE_LIMITS } from "./cache.ts";
import { CacheFileDamagedError, readCacheFile, saveCacheFile } from "./cache_file.ts";
import { type LockHolder, thisProcess } from "./cache_lock.ts";
import { lockTarget, usableTarget, usingPath } from "./cache_open.ts";

/** What {@linkcode clearCacheFile} did. */
export interface ClearedCache {
  /** The file emptied: the path given, its symbolic links followed. */
  readonly target: string;
  /** Whether there was a file (a missing one is left missing). */
  readonly existed: boolean;
  /** The entries it held, expired and invalid ones included (0 for a damaged file). */
  readonly entries: number;
  /** One-line messages for the log: a stale lock taken over. */
  readonly warnings: readonly string[];
}

/**
 * Replaces the cache file `path` (its link target) with one that holds no
 * entries, atomically, holding its lock meanwhile. A damaged calcnet cache
 * file is emptied too; a missing file is left missing.
 *
 * @throws {CacheLockedError} while a proxy holds the lock.
 * @throws {CacheFileError} when the path cannot be used or is not a calcnet
 *   cache file (which is left as it is).
 */
export async function clearCacheFile(
  path: string,
  nowSeconds: number,
  holder: LockHolder = thisProcess(),
): Promise<ClearedCache> {
  const target = await usableTarget(path);
  const warnings: string[] = [];
  using _lock = await lockTarget(path, target, holder, warnings);
  let existed = true;
  let entries = 0;
  try {
    const read = await readCacheFile(target, nowSeconds, UNBOUNDED_CACHE_LIMITS);
    existed = read.exists;
    entries = read.cache.size + read.expired + read.dropped;
  } catch (error) {
    if (!(error instanceof CacheFileDamagedError)) throw error;
  }
  if (existed) {
    await usingPath(path, () => saveCacheFile(target, new ResponseCache(), nowSeconds));
  }
  return { target, existed, entries, warnings };
}
