/**
 * Reading a cache file (format: see `cache_file.ts`) line by line into a
 * {@linkcode ResponseCache}, so that a large cache loads without holding the
 * whole text in memory, checking every entry before it may be served.
 *
 * @module
 */

import { cacheKeyFromBinary, type CacheLimits, ResponseCache, responseExpired } from "./cache.ts";
import { storedResponseProblem } from "./stored_response.ts";

/** The `format` field of every cache file. */
export const CACHE_FILE_FORMAT = "calcnet-cache";

/** The `version` calcnet writes and reads. */
export const CACHE_FILE_VERSION = 1;

/** Bytes read from the file per `read` call. */
const READ_BUFFER_BYTES = 1 << 20;

/**
 * Bytes decoded to text at a time: small enough that the text stays out of
 * V8's large-object space, which only a full GC reclaims.
 */
const DECODE_SLICE_BYTES = 1 << 16;

/**
 * The longest line a cache file may have: an entry with the longest request
 * data and response the cache stores needs about 110,000 characters. Longer
 * lines mean a damaged file (and would otherwise pile up in memory).
 */
const MAX_LINE_CHARS = 1 << 18;

/** The end of the first line: the opening of the entries array. */
const HEADER_END = /"entries"\s*:\s*\[$/;

/**
 * A file the parser cannot read: `ours` tells a damaged calcnet cache file
 * (its first line is a version-1 header) from a file that is something else
 * (no such header, or another version), which calcnet must leave alone.
 */
export class CacheFormatError extends Error {
  /** The class name, as error messages show it. */
  /** The class name, as messages and logs show it. */
  override name: string = "CacheFormatError";
  /** Whether the file is a calcnet cache file of this version, damaged further on. */
  readonly ours: boolean;

  /** A format error; `ours` as above. */
  constructor(message: string, ours: boolean) {
    super(message);
    this.ours = ours;
  }
}

/** Whether `value` is a JSON object (not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Where the parser is in the file's layout. */
type ParseState =
  | "header" // expecting the first line
  | "first" // after the header: an entry or the end
  | "next" // after an entry and its comma: another entry
  | "last" // after an entry without a comma: the end
  | "end"; // after the end: nothing but blank lines

/** Reads a cache file's lines into a cache, entry by entry. */
export class CacheFileParser {
  /** The entries read so far (expired ones left out, limits kept). */
  readonly cache: ResponseCache;
  /** How many entries were dropped as not servable, and the first reason. */
  dropped = 0;
  /** The first reason an entry was dropped, with its line ("" when none was). */
  firstProblem = "";
  /** How many entries had expired at the given time. */
  expired = 0;
  readonly #nowSeconds: number;
  #state: ParseState = "header";
  #lineNumber = 0;

  /** A parser that keeps entries fresh at `nowSeconds` within `limits`. */
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

  /** Refuses a line longer than any entry can be. */
  lineTooLong(): never {
    throw new CacheFormatError(
      `a line is longer than ${MAX_LINE_CHARS} characters`,
      this.#state !== "header",
    );
  }

  /** Checks that the whole file was seen; an empty (or blank) file holds no entries. */
  finish(): void {
    if (this.#state !== "end" && this.#state !== "header") {
      throw new CacheFormatError("the file is truncated (no closing ]})", true);
    }
  }

  #fail(problem: string): never {
    throw new CacheFormatError(`line ${this.#lineNumber}: ${problem}`, this.#state !== "header");
  }

  /** Parses `text` as JSON, turning a syntax error into a {@linkcode CacheFormatError}. */
  #json(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch (error) {
      if (error instanceof SyntaxError) this.#fail(error.message);
      throw error;
    }
  }

  #header(line: string): void {
    if (!HEADER_END.test(line)) {
      this.#fail(`the first line must end with "entries":[`);
    }
    const header = this.#json(`${line}]}`);
    if (!isRecord(header) || header.format !== CACHE_FILE_FORMAT) {
      this.#fail(`the format is not "${CACHE_FILE_FORMAT}"`);
    }
    if (header.version !== CACHE_FILE_VERSION) {
      this.#fail(`unsupported version ${JSON.stringify(header.version)}`);
    }
    // From here on the file is ours: any problem means it is damaged.
    this.#state = "first";
    if (typeof header.saved_at !== "number") this.#fail("saved_at is not a number");
    if (!Array.isArray(header.entries) || header.entries.length !== 0) {
      this.#fail("entries is not an array");
    }
  }

  #entry(text: string): void {
    const entry = this.#json(text);
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
    const problem = storedResponseProblem(packet);
    if (problem !== undefined) {
      this.#drop(problem);
    } else if (responseExpired(packet, this.#nowSeconds)) {
      this.expired++;
    } else {
      this.cache.setBinary(cacheKeyFromBinary(binary, entry.key_steps), packet);
    }
  }

  #drop(problem: string): void {
    if (this.dropped === 0) this.firstProblem = `line ${this.#lineNumber}: ${problem}`;
    this.dropped++;
  }
}

/** Feeds the file's lines to `parser`, reading a chunk at a time. */
export async function readLines(file: Deno.FsFile, parser: CacheFileParser): Promise<void> {
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
      if (pending.length > MAX_LINE_CHARS) parser.lineTooLong();
    }
  }
  parser.line(pending + decoder.decode());
}
