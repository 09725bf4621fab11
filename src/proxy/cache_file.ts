/**
 * The proxy's cache file: saving a {@linkcode ResponseCache} as JSON and
 * loading it back.
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
 * - `format` is always `"calcnet-cache"`; `version` is `1`. Any other value
 *   makes the file unusable (it is moved aside, see below).
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
 * around lines are allowed. A hand-edited file must keep that layout; an
 * object spread over several lines counts as corrupt.
 *
 * Loading: a missing file gives an empty cache. A file that cannot be read,
 * is not valid JSON in that layout, is truncated, or has an unknown format,
 * version or wrongly typed field is renamed to `<file>.corrupt-<unix
 * seconds>` (kept for inspection) and the proxy starts empty, with one
 * warning. An entry whose response is shorter than the 12-byte header or
 * whose header length disagrees with its size is skipped (counted in one
 * warning). Entries whose response max-age has elapsed are dropped; entries
 * beyond the cache's limits are evicted, oldest first.
 *
 * Saving writes a temporary file next to the target, syncs it and renames it
 * over the target (see `atomic_file.ts`), with permissions 0600 on POSIX
 * systems; expired entries are left out.
 *
 * @module
 */

import { removeStaleTempFiles, writeFileAtomic } from "./atomic_file.ts";
import {
  cacheKeyBinary,
  cacheKeyFromBinary,
  cacheKeySteps,
  type CacheLimits,
  type CacheSnapshot,
  ResponseCache,
  responseExpired,
  responsePacketProblem,
} from "./cache.ts";
import { isIoError, oneLine } from "./io_error.ts";

/** The `format` field of every cache file. */
export const CACHE_FILE_FORMAT = "calcnet-cache";

/** The `version` this module writes and reads. */
export const CACHE_FILE_VERSION = 1;

/**
 * Bytes of file text serialised and written per event-loop turn when saving
 * (256 KiB: about 150 typical entries, under 1 ms).
 */
export const DEFAULT_CHUNK_BYTES = 1 << 18;

/** Bytes read from the file per `read` call when loading. */
const READ_BUFFER_BYTES = 1 << 20;

/**
 * Bytes decoded to text at a time when loading: small enough that the text
 * stays out of V8's large-object space, which only a full GC reclaims.
 */
const DECODE_SLICE_BYTES = 1 << 16;

/**
 * The longest line a cache file may have: an entry with the longest request
 * data and response the cache stores needs about 110,000 characters. Longer
 * lines mean a corrupt file (and would otherwise pile up in memory).
 */
const MAX_LINE_CHARS = 1 << 18;

/** The end of the first line: the opening of the entries array. */
const HEADER_END = /"entries"\s*:\s*\[$/;

/** What {@linkcode loadCacheFile} returns. */
export interface LoadedCache {
  /** The loaded cache; empty when the file was missing or unusable. */
  readonly cache: ResponseCache;
  /** One-line messages for the log: file moved aside, entries skipped, temp files removed. */
  readonly warnings: string[];
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

/** A file that is not a cache file this module can read. */
class CacheFormatError extends Error {
  override name = "CacheFormatError";
}

/** Whether `value` is a JSON object (not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One entry as a line of JSON. */
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

/** Parses `text` as JSON, turning a syntax error into a {@linkcode CacheFormatError}. */
function parseJson(text: string, lineNumber: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new CacheFormatError(`line ${lineNumber}: ${error.message}`);
    }
    throw error;
  }
}

/** Where the parser is in the file's layout. */
type ParseState =
  | "header" // expecting the first line
  | "first" // after the header: an entry or the end
  | "next" // after an entry and its comma: another entry
  | "last" // after an entry without a comma: the end
  | "end"; // after the end: nothing but blank lines

/** Reads a cache file's lines into a cache, entry by entry. */
class CacheFileParser {
  readonly cache: ResponseCache;
  /** How many entries were skipped for invalid packets, and the first reason. */
  skipped = 0;
  firstProblem = "";
  readonly #nowSeconds: number;
  #state: ParseState = "header";
  #lineNumber = 0;

  constructor(nowSeconds: number, limits: Partial<CacheLimits>) {
    this.cache = new ResponseCache(limits);
    this.#nowSeconds = nowSeconds;
  }

  /** Takes the next line of the file. */
  line(raw: string): void {
    this.#lineNumber++;
    const line = raw.trim();
    if (line === "") return;
    switch (this.#state) {
      case "header":
        this.#header(line);
        this.#state = "first";
        return;
      case "first":
      case "next":
        if (line === "]}") {
          if (this.#state === "next") this.#fail("a comma after the last entry");
          this.#state = "end";
          return;
        }
        this.#entry(line.endsWith(",") ? line.slice(0, -1) : line);
        this.#state = line.endsWith(",") ? "next" : "last";
        return;
      case "last":
        if (line !== "]}") {
          this.#fail("expected a comma or ]} after the entry on the previous line");
        }
        this.#state = "end";
        return;
      case "end":
        this.#fail("text after the closing ]}");
    }
  }

  /** Checks that the whole file was seen. */
  finish(): void {
    if (this.#state === "header") throw new CacheFormatError("the file is empty");
    if (this.#state !== "end") throw new CacheFormatError("the file is truncated (no closing ]})");
  }

  #fail(problem: string): never {
    throw new CacheFormatError(`line ${this.#lineNumber}: ${problem}`);
  }

  #header(line: string): void {
    if (!HEADER_END.test(line)) {
      this.#fail(`not a ${CACHE_FILE_FORMAT} file (the first line must end with "entries":[)`);
    }
    const header = parseJson(`${line}]}`, this.#lineNumber);
    if (!isRecord(header) || header.format !== CACHE_FILE_FORMAT) {
      this.#fail(`not a ${CACHE_FILE_FORMAT} file`);
    }
    if (header.version !== CACHE_FILE_VERSION) {
      this.#fail(`unsupported version ${JSON.stringify(header.version)}`);
    }
    if (typeof header.saved_at !== "number") this.#fail("saved_at is not a number");
    if (!Array.isArray(header.entries) || header.entries.length !== 0) {
      this.#fail("entries is not an array");
    }
  }

  #entry(text: string): void {
    const entry = parseJson(text, this.#lineNumber);
    if (
      !isRecord(entry) || typeof entry.key_steps !== "boolean" ||
      typeof entry.request_data !== "string" || typeof entry.response !== "string"
    ) {
      this.#fail("an entry needs key_steps (boolean), request_data and response (strings)");
    }
    let binary: string;
    let packet: string;
    try {
      binary = atob(entry.request_data);
      packet = atob(entry.response);
    } catch (error) {
      if (error instanceof DOMException) this.#fail(`invalid base64 (${error.message})`);
      throw error;
    }
    const problem = responsePacketProblem(packet);
    if (problem !== undefined) {
      this.#skip(problem);
    } else if (!responseExpired(packet, this.#nowSeconds)) {
      this.cache.setBinary(cacheKeyFromBinary(binary, entry.key_steps), packet);
    }
  }

  #skip(problem: string): void {
    if (this.skipped === 0) this.firstProblem = `line ${this.#lineNumber}: ${problem}`;
    this.skipped++;
  }
}

/** Feeds the file's lines to `parser`, reading a chunk at a time. */
async function readLines(file: Deno.FsFile, parser: CacheFileParser): Promise<void> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  let pending = "";
  for (;;) {
    const read = await file.read(buffer);
    if (read === null) break;
    for (let start = 0; start < read; start += DECODE_SLICE_BYTES) {
      const bytes = buffer.subarray(start, Math.min(read, start + DECODE_SLICE_BYTES));
      const lines = (pending + decoder.decode(bytes, { stream: true })).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) parser.line(line);
      if (pending.length > MAX_LINE_CHARS) {
        throw new CacheFormatError(`a line is longer than ${MAX_LINE_CHARS} characters`);
      }
    }
  }
  parser.line(pending + decoder.decode());
}

/**
 * Moves an unusable cache file out of the way so that the next save does not
 * destroy it, and returns the warning to log.
 */
async function moveAside(path: string, problem: string, nowSeconds: number): Promise<string> {
  const aside = `${path}.corrupt-${Math.floor(nowSeconds)}`;
  try {
    await Deno.rename(path, aside);
  } catch (error) {
    if (!isIoError(error)) throw error;
    return oneLine(
      `cache file ${path} is unusable (${problem}) and could not be moved aside ` +
        `(${error.message}); starting with an empty cache`,
    );
  }
  return oneLine(
    `cache file ${path} is unusable (${problem}); moved it to ${aside}; ` +
      "starting with an empty cache",
  );
}

/**
 * Loads the cache saved at `path` (see the format above), dropping entries
 * expired at `nowSeconds` and evicting beyond `limits`. First removes
 * temporary files an interrupted save left next to it. Never fails for a
 * missing, unreadable or corrupt file: it returns an empty cache and, unless
 * the file was simply missing, a warning; a corrupt file is renamed to
 * `<path>.corrupt-<nowSeconds>`.
 */
export async function loadCacheFile(
  path: string,
  nowSeconds: number,
  limits: Partial<CacheLimits> = {},
): Promise<LoadedCache> {
  const warnings: string[] = [];
  const empty = (): LoadedCache => ({ cache: new ResponseCache(limits), warnings });
  try {
    const removed = await removeStaleTempFiles(path);
    if (removed > 0) {
      warnings.push(
        `cache file ${path}: removed ${removed} temporary file(s) left by an interrupted save`,
      );
    }
  } catch (error) {
    if (!isIoError(error)) throw error;
    warnings.push(
      oneLine(`cache file ${path}: cannot remove stale temporary files: ${error.message}`),
    );
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return empty();
    if (!isIoError(error)) throw error;
    warnings.push(oneLine(`cache file ${path}: ${error.message}; starting with an empty cache`));
    return empty();
  }
  if (!info.isFile) {
    warnings.push(`cache file ${path} is not a regular file; starting with an empty cache`);
    return empty();
  }
  const parser = new CacheFileParser(nowSeconds, limits);
  try {
    const file = await Deno.open(path, { read: true });
    try {
      await readLines(file, parser);
    } finally {
      file.close();
    }
    parser.finish();
  } catch (error) {
    if (!(error instanceof CacheFormatError) && !isIoError(error)) throw error;
    warnings.push(await moveAside(path, error.message, nowSeconds));
    return empty();
  }
  if (parser.skipped > 0) {
    warnings.push(oneLine(
      `cache file ${path}: skipped ${parser.skipped} entr${
        parser.skipped === 1 ? "y" : "ies"
      } with an invalid response packet (first: ${parser.firstProblem})`,
    ));
  }
  return { cache: parser.cache, warnings };
}
