/**
 * The proxy's cache file: saving a {@linkcode ResponseCache} as JSON and
 * reading it back.
 *
 * ## Cache file format, version 1
 *
 * A UTF-8 JSON document (all ASCII in practice), written with one entry per
 * line (the pickles here are short stand-ins; real ones are longer):
 *
 * ```json
 * {"format":"calcnet-cache","version":1,"saved_at":1767225660,"entries":[
 * {"key_steps":true,"request_data":"gASVBQAAAAAAAABLAy4=","response":"aVW5AAAREMgOEAAAgARLAy4="},
 * {"key_steps":false,"request_data":"gARLBy4=","response":"aVW5AQAREMj//wAAgARLBy4="}
 * ]}
 * ```
 *
 * - `format` is always `"calcnet-cache"`; `version` is `1`.
 * - `saved_at`: when the file was written, Unix seconds (informational).
 * - `entries`: the cached exchanges in least-recently-used order, oldest
 *   first, so loading them in order restores recency. Each entry has
 *   - `key_steps` (boolean): the request's S flag, part of the cache key;
 *   - `request_data` (base64): the request's data bytes (the pickle), the
 *     rest of the key; the request's header is not stored;
 *   - `response` (base64): the complete response packet, header and data,
 *     sent back byte for byte on a hit. Its time stamp and max-age (cache
 *     control) are read from its header, so they are not stored separately.
 *
 * calcnet reads the file line by line (so that a large cache loads without
 * holding the whole text in memory): the first line must end with
 * `"entries":[`, each entry must sit on one line followed by a comma except
 * the last, and `]}` must be on a line of its own. Blank lines and blanks
 * around lines are allowed. A hand-edited file must keep that layout.
 *
 * Reading: a missing or empty file holds no entries. A file whose first line
 * is not a version-1 header is not a calcnet cache file (or one of another
 * version): it is refused with a {@linkcode CacheFileError} and never
 * touched. A calcnet cache file that is damaged further on (truncated, an
 * entry that is not JSON of that shape, bad base64) raises a
 * {@linkcode CacheFileDamagedError}; {@linkcode loadCacheFile} then renames
 * it to `<file>.corrupt-<unix seconds>` (kept for inspection) and starts
 * empty, with one warning. Each entry's response must be one the proxy may
 * serve (a response packet, status 200/400/500, length field equal to its
 * size, a pickle as data: see `stored_response.ts`); other entries are
 * dropped and counted in one warning. Entries whose response max-age has
 * elapsed are left out; entries beyond the cache's limits are evicted,
 * oldest first.
 *
 * Saving writes a temporary file next to the target, syncs it and renames it
 * over the target (see `atomic_file.ts`; a symbolic link is written
 * through), with permissions 0600 on POSIX systems; expired entries are
 * left out.
 *
 * @module
 */

import { UsageError } from "../base/mod.ts";
import { removeStaleTempFiles, writeFileAtomic } from "./atomic_file.ts";
import {
  cacheKeyBinary,
  cacheKeySteps,
  type CacheLimits,
  type CacheSnapshot,
  ResponseCache,
  responseExpired,
} from "./cache.ts";
import {
  CACHE_FILE_FORMAT,
  CACHE_FILE_VERSION,
  CacheFileParser,
  CacheFormatError,
  readLines,
} from "./cache_file_parser.ts";
import { ioReason, isIoError } from "./io_error.ts";
import { linkTarget } from "./link_target.ts";

export { CACHE_FILE_FORMAT, CACHE_FILE_VERSION };

/**
 * Bytes of file text serialised and written per event-loop turn when saving
 * (256 KiB: about 150 typical entries, under 1 ms).
 */
export const DEFAULT_CHUNK_BYTES = 1 << 18;

/** What {@linkcode readCacheFile} read. */
export interface ReadCache {
  /** The servable entries, fresh at the given time, within the limits. */
  readonly cache: ResponseCache;
  /** Whether the file exists (a missing file reads as empty). */
  readonly exists: boolean;
  /** How many entries were dropped as not servable. */
  readonly dropped: number;
  /** The first reason an entry was dropped, with its line ("" when none was). */
  readonly firstProblem: string;
  /** How many entries had expired. */
  readonly expired: number;
}

/** What {@linkcode loadCacheFile} returns. */
export interface LoadedCache {
  /** The loaded cache; empty when the file was missing or damaged. */
  readonly cache: ResponseCache;
  /** One-line messages for the log: file moved aside, entries dropped, temp files removed. */
  readonly warnings: string[];
}

/**
 * A cache file that cannot be used: not a regular file, unreadable, or not
 * a calcnet cache file. A configuration error (exit status 2), one line.
 */
export class CacheFileError extends UsageError {
  /** The class name, as error messages show it. */
  /** The class name, as messages and logs show it. */
  override name: string = "CacheFileError";
}

/** A calcnet cache file that is damaged after its first line (see the module doc). */
export class CacheFileDamagedError extends CacheFileError {
  /** The class name, as error messages show it. */
  /** The class name, as messages and logs show it. */
  override name: string = "CacheFileDamagedError";
  /** What is wrong, e.g. "line 3: the file is truncated". */
  readonly reason: string;

  /** The error for `path`, damaged as `reason` says. */
  constructor(path: string, reason: string) {
    super(`cache file ${path} is damaged (${reason})`);
    this.reason = reason;
  }
}

/** What {@linkcode saveCacheFile} wrote. */
export interface SavedCache {
  /** The number of entries written (expired ones are left out). */
  readonly entries: number;
  /** The size of the file in bytes. */
  readonly bytes: number;
}

/** Options of {@linkcode saveCacheFile}. */
export interface SaveOptions {
  /** Bytes of text serialised per chunk, between which the event loop runs (default 256 KiB). */
  readonly chunkBytes?: number;
}

/** The length of the base64 text of `byteCount` bytes. */
const base64Length = (byteCount: number): number => 4 * Math.ceil(byteCount / 3);

/** ASCII text as bytes. */
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The fixed pieces of an entry line. */
const ENTRY_START = [
  ascii('{"key_steps":false,"request_data":"'),
  ascii('{"key_steps":true,"request_data":"'),
];
const ENTRY_MIDDLE = ascii('","response":"');
const ENTRY_END = ascii('"}');
const ENTRY_SEPARATOR = ascii(",\n");

/**
 * The cache file for a snapshot (least recently used first) as a sequence of
 * chunks of about `chunkBytes` bytes, each serialised only when asked for.
 * Every chunk is a view of one reused buffer, valid until the next one is
 * asked for. Each entry is encoded straight into that buffer, so nothing
 * outlives it to be promoted to the old generation (whose full GCs pause
 * requests). Entries expired at `nowSeconds` are left out;
 * `counts` grows as chunks are made.
 */
function* encodeCacheFile(
  { keys, packets }: CacheSnapshot,
  nowSeconds: number,
  chunkBytes: number,
  counts: { entries: number; bytes: number },
): Generator<Uint8Array> {
  const encoder = new TextEncoder();
  let buffer = new Uint8Array(chunkBytes);
  let used = 0;
  /** Room for `bytes` more: hands out the chunk so far first when it would not fit. */
  function* reserve(bytes: number): Generator<Uint8Array> {
    if (used + bytes <= buffer.byteLength) return;
    if (used > 0) {
      counts.bytes += used;
      yield buffer.subarray(0, used);
      used = 0;
    }
    if (bytes > buffer.byteLength) buffer = new Uint8Array(bytes);
  }
  const put = (bytes: Uint8Array): void => {
    buffer.set(bytes, used);
    used += bytes.length;
  };
  const header = ascii(
    `{"format":"${CACHE_FILE_FORMAT}","version":${CACHE_FILE_VERSION},"saved_at":${
      Math.floor(nowSeconds)
    },"entries":[\n`,
  );
  yield* reserve(header.length);
  put(header);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] ?? "";
    const packet = packets[i] ?? "";
    if (responseExpired(packet, nowSeconds)) continue;
    // The key is the request data's binary string followed by one flag character.
    const dataLength = key.length - 1;
    const start = ENTRY_START[cacheKeySteps(key) ? 1 : 0] as Uint8Array;
    const separator = counts.entries > 0 ? ENTRY_SEPARATOR.length : 0;
    yield* reserve(
      separator + start.length + base64Length(dataLength) + ENTRY_MIDDLE.length +
        base64Length(packet.length) + ENTRY_END.length,
    );
    if (separator > 0) put(ENTRY_SEPARATOR);
    put(start);
    // btoa's strings die at once, in the young generation; nothing is kept between entries.
    used += encoder.encodeInto(btoa(cacheKeyBinary(key)), buffer.subarray(used)).written;
    put(ENTRY_MIDDLE);
    used += encoder.encodeInto(btoa(packet), buffer.subarray(used)).written;
    put(ENTRY_END);
    counts.entries++;
  }
  const footer = ascii(counts.entries > 0 ? "\n]}\n" : "]}\n");
  yield* reserve(footer.length);
  put(footer);
  counts.bytes += used;
  yield buffer.subarray(0, used);
}

/**
 * Saves `cache` to `path` atomically in the format above. The entries are
 * taken from the cache synchronously when called (about 3 ms for 100,000);
 * serialising them is spread over event-loop turns (one chunk per write), so
 * a large save does not stall request handling. Creates missing parent
 * directories (0700).
 *
 * @throws the I/O error of a failed step (disk full, permission); `path` is
 *   then left as it was.
 */
export async function saveCacheFile(
  path: string,
  cache: ResponseCache,
  nowSeconds: number,
  options: SaveOptions = {},
): Promise<SavedCache> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) {
    throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  }
  const counts = { entries: 0, bytes: 0 };
  await writeFileAtomic(path, encodeCacheFile(cache.snapshot(), nowSeconds, chunkBytes, counts));
  return counts;
}

/** The error for a path that exists but is not a regular file. */
function notAFile(path: string, info: Deno.FileInfo): CacheFileError {
  return new CacheFileError(
    info.isDirectory
      ? `cache file ${path} is a directory; name a file, e.g. ${path}/cache.json`
      : `cache file ${path} is not a regular file`,
  );
}

/**
 * Reads the cache file at `path` (following symbolic links) without changing
 * anything on disk: the entries fresh at `nowSeconds` that may be served,
 * within `limits`, plus counts of what was left out. A missing or empty file
 * holds no entries.
 *
 * @throws {CacheFileDamagedError} for a calcnet cache file damaged further on.
 * @throws {CacheFileError} when `path` is not a regular file, cannot be read,
 *   or is not a calcnet cache file of this version.
 */
export async function readCacheFile(
  path: string,
  nowSeconds: number,
  limits: Partial<CacheLimits> = {},
): Promise<ReadCache> {
  const parser = new CacheFileParser(nowSeconds, limits);
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw notAFile(path, info);
    using file = await Deno.open(path, { read: true });
    await readLines(file, parser);
    parser.finish();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { cache: parser.cache, exists: false, dropped: 0, firstProblem: "", expired: 0 };
    }
    if (error instanceof CacheFormatError) {
      if (error.ours) throw new CacheFileDamagedError(path, error.message);
      throw new CacheFileError(
        `${path} is not a calcnet cache file (${error.message}); calcnet will not use or replace it`,
      );
    }
    if (isIoError(error)) {
      throw new CacheFileError(`cannot read cache file ${path}: ${ioReason(error)}`);
    }
    throw error;
  }
  const { cache, dropped, firstProblem, expired } = parser;
  return { cache, exists: true, dropped, firstProblem, expired };
}

/**
 * Moves a damaged cache file out of the way so that the next save does not
 * destroy it, and returns the warning to log.
 *
 * @throws {CacheFileError} when it cannot be moved.
 */
async function moveAside(path: string, reason: string, nowSeconds: number): Promise<string> {
  const aside = `${path}.corrupt-${Math.floor(nowSeconds)}`;
  try {
    await Deno.rename(path, aside);
  } catch (error) {
    if (!isIoError(error)) throw error;
    throw new CacheFileError(
      `cache file ${path} is damaged (${reason}) and cannot be moved aside: ${ioReason(error)}`,
    );
  }
  return `cache file ${path} is damaged (${reason}); moved it to ${aside}; ` +
    "starting with an empty cache";
}

/**
 * Loads the cache saved at `path` for a proxy that holds its lock: first
 * removes temporary files an interrupted save left next to it (or next to
 * its link target), then reads it as {@linkcode readCacheFile} does. A
 * damaged calcnet cache file is renamed to `<target>.corrupt-<nowSeconds>`
 * and the cache starts empty, with one warning; dropped entries give one
 * warning with their count and the first reason.
 *
 * @throws {CacheFileError} as {@linkcode readCacheFile} (damage excepted),
 *   and when a damaged file cannot be moved aside.
 */
export async function loadCacheFile(
  path: string,
  nowSeconds: number,
  limits: Partial<CacheLimits> = {},
): Promise<LoadedCache> {
  const warnings: string[] = [];
  let target: string;
  try {
    target = await linkTarget(path);
    const removed = await removeStaleTempFiles(target);
    if (removed > 0) {
      warnings.push(
        `cache file ${path}: removed ${removed} temporary file(s) left by an interrupted save`,
      );
    }
  } catch (error) {
    if (!isIoError(error)) throw error;
    throw new CacheFileError(`cannot use cache file ${path}: ${ioReason(error)}`);
  }
  let read: ReadCache;
  try {
    read = await readCacheFile(target, nowSeconds, limits);
  } catch (error) {
    if (!(error instanceof CacheFileDamagedError)) throw error;
    warnings.push(await moveAside(target, error.reason, nowSeconds));
    return { cache: new ResponseCache(limits), warnings };
  }
  if (read.dropped > 0) {
    warnings.push(
      `cache file ${path}: dropped ${read.dropped} invalid entr${
        read.dropped === 1 ? "y" : "ies"
      }, never to be served (first: ${read.firstProblem})`,
    );
  }
  return { cache: read.cache, warnings };
}
