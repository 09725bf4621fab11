/**
 * Taking a cache file into use, as a proxy does at start: every way the
 * path can be unusable is found here, before the proxy serves anything, and
 * reported as one {@linkcode CacheFileError} line, instead of as warnings
 * on every save later.
 *
 * @module
 */

import { AtomicWriteError, checkWritable } from "./atomic_file.ts";
import { type CacheLimits, ResponseCache } from "./cache.ts";
import { CacheFileError, loadCacheFile } from "./cache_file.ts";
import {
  acquireCacheLock,
  type CacheLock,
  describeHolder,
  type LockHolder,
  thisProcess,
} from "./cache_lock.ts";
import { ioReason, isIoError } from "./io_error.ts";
import { linkTarget } from "./link_target.ts";

/** Options of {@linkcode openCacheFile}. */
export interface OpenCacheOptions {
  /** The time entries are judged fresh at, Unix seconds. */
  readonly nowSeconds: number;
  /** The cache's bounds (defaults: `DEFAULT_CACHE_LIMITS`). */
  readonly limits?: Partial<CacheLimits>;
  /** Start with an empty cache, keeping the previous file as `<file>.old`. */
  readonly fresh?: boolean;
  /** Who takes the lock (default: this process). */
  readonly holder?: LockHolder;
}

/** A cache file in use: its loaded cache and its lock. Dispose to release the lock. */
export interface OpenedCache extends Disposable {
  /** The file saves go to: the path given, its symbolic links followed. */
  readonly target: string;
  /** The loaded cache (empty when fresh, missing or damaged). */
  readonly cache: ResponseCache;
  /** The held lock. */
  readonly lock: CacheLock;
  /**
   * One-line messages for the log: a stale lock taken over, temporary files
   * removed, a damaged file moved aside, invalid entries dropped.
   */
  readonly warnings: readonly string[];
  /** With `fresh`: where the previous file went and the entries it held (none: no file). */
  readonly keptAside?: { readonly path: string; readonly entries: number };
}

/** Runs `action`; an I/O error becomes a one-line {@linkcode CacheFileError} about `path`. */
export async function usingPath<T>(path: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof AtomicWriteError) {
      throw new CacheFileError(
        `cannot use cache file ${path}: cannot ${error.step}: ${error.reason}`,
      );
    }
    if (isIoError(error)) {
      throw new CacheFileError(`cannot use cache file ${path}: ${ioReason(error)}`);
    }
    throw error;
  }
}

/**
 * The file `path` names, links followed, after checking that it is a
 * regular file or does not exist yet and that a file can be created next to
 * it (creating missing directories).
 *
 * @throws {CacheFileError} when it cannot be used.
 */
export async function usableTarget(path: string): Promise<string> {
  return await usingPath(path, async () => {
    const target = await linkTarget(path);
    try {
      const info = await Deno.stat(target);
      if (info.isDirectory) {
        throw new CacheFileError(
          `cache file ${path} is a directory; name a file, e.g. ${path}/cache.json`,
        );
      }
      if (!info.isFile) throw new CacheFileError(`cache file ${path} is not a regular file`);
    } catch (error) {
      // Not there yet (or a file where a directory should be: checkWritable says so).
      if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) {
        throw error;
      }
    }
    await checkWritable(target);
    return target;
  });
}

/** Takes the lock of `target`, with a warning when it took over a stale one. */
export async function lockTarget(
  path: string,
  target: string,
  holder: LockHolder,
  warnings: string[],
): Promise<CacheLock> {
  const lock = await usingPath(path, () => acquireCacheLock(target, holder));
  if (lock.stale !== undefined) {
    warnings.push(
      `took over the lock of cache file ${path} from ${
        describeHolder(lock.stale)
      }, which ended without releasing it`,
    );
  }
  return lock;
}

/** Moves the loaded file at `target` to `<target>.old`; what was kept, if there was a file. */
async function keepAside(
  path: string,
  target: string,
  entries: number,
): Promise<{ readonly path: string; readonly entries: number } | undefined> {
  const old = `${target}.old`;
  return await usingPath(path, async () => {
    try {
      await Deno.rename(target, old);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    return { path: old, entries };
  });
}

/**
 * Takes the cache file `path` into use for a proxy: follows its symbolic
 * links, checks that the target is a file (or absent) in a directory calcnet
 * can write (creating missing directories), takes its lock, and loads it
 * (see `loadCacheFile`: a damaged calcnet cache file is moved aside with a
 * warning). With `fresh`, the loaded file is renamed to `<target>.old`
 * (replacing an older one) and the cache starts empty.
 *
 * @throws {CacheLockedError} when another proxy holds the lock.
 * @throws {CacheFileError} when the path cannot be used: a directory, a
 *   folder calcnet cannot write, a file that cannot be read or is not a
 *   calcnet cache file.
 */
export async function openCacheFile(path: string, options: OpenCacheOptions): Promise<OpenedCache> {
  const target = await usableTarget(path);
  const warnings: string[] = [];
  const lock = await lockTarget(path, target, options.holder ?? thisProcess(), warnings);
  try {
    const loaded = await loadCacheFile(target, options.nowSeconds, options.limits);
    warnings.push(...loaded.warnings);
    const keptAside = options.fresh ? await keepAside(path, target, loaded.cache.size) : undefined;
    return {
      target,
      cache: options.fresh ? new ResponseCache(options.limits) : loaded.cache,
      lock,
      warnings,
      keptAside,
      [Symbol.dispose]: () => lock.release(),
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}
