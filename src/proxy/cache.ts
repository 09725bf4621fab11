/**
 * The proxy's response cache (docs/PROTOCOL.md §7): a pure, in-memory LRU store with
 * no I/O and no clock of its own.
 *
 * An entry is keyed by the request's data bytes plus its S (steps) flag and
 * holds the complete response packet (header + data), which is sent back
 * unchanged on a hit. The response's time stamp and max-age are read from the
 * stored header when needed rather than stored twice.
 *
 * Memory: both the key and the packet are kept as *binary strings* (one
 * character U+0000–U+00FF per byte), which V8 stores as one-byte strings of
 * length + 16 bytes. With the slot bookkeeping an entry costs about 70
 * bytes beyond its data (measured: 100,000 entries of 701 + 560 bytes take
 * 133 MB of V8 heap). A `Uint8Array` per packet would cost about 450 bytes
 * more (its own `ArrayBuffer`, backing store and GC bookkeeping). A hit
 * turns the packet back into bytes, about 1.3 µs for 560 bytes, so an entry
 * hit a second time keeps its bytes ("hot"), up to
 * {@linkcode HOT_BYTES_LIMIT} in all: a few hot entries answer most hits,
 * while hits spread over 100,000 entries cost little more memory than that.
 * The byte bound counts request data and response bytes.
 *
 * Keys are limited to {@linkcode MAX_KEY_DATA_BYTES} bytes of request data:
 * V8 hashes longer strings by their length only, so a `Map` of many long
 * keys of equal length degrades to a list search (0.3 ms per lookup with
 * 3,000 such keys). Longer requests are simply not cached.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { HEADER_SIZE, MAX_AGE_FOREVER } from "../protocol/mod.ts";

/** The last character of a key whose request had S=1. */
const STEPS_FLAG = "S";

/** The last character of a key whose request had S=0. */
const NO_STEPS_FLAG = "-";

/** The bounds of a {@linkcode ResponseCache}. */
export interface CacheLimits {
  /** The most entries kept; the least recently used go first. */
  readonly maxEntries: number;
  /** The most request-data plus response bytes kept, summed over all entries. */
  readonly maxBytes: number;
}

/** The default bounds: 10,000 entries and 64 MiB of request and response bytes. */
export const DEFAULT_CACHE_LIMITS: CacheLimits = {
  maxEntries: 10_000,
  maxBytes: 64 * 1024 * 1024,
};

/** No bounds at all: for reading every entry of a file, as `calcnet cache show` does. */
export const UNBOUNDED_CACHE_LIMITS: CacheLimits = {
  maxEntries: Number.MAX_SAFE_INTEGER,
  maxBytes: Number.MAX_SAFE_INTEGER,
};

/** A cached response and what its freshness is judged by (read from its header). */
export interface CachedResponse {
  /**
   * The whole response packet, sent back unchanged on a hit. Made on first
   * access; it may be a view into a shared pool, so send it, but don't
   * modify or transfer its buffer.
   */
  readonly response: Uint8Array;
  /** The response's time stamp (Unix seconds). */
  readonly timestamp: number;
  /** The response's max-age (cache control) in seconds; 65535 means forever. */
  readonly maxAge: number;
}

/**
 * The entries of a cache at one moment, least recently used first:
 * `packets[i]`, the complete response packet as a binary string (one
 * character per byte), is stored under `keys[i]`, made by
 * {@linkcode cacheKey}.
 */
export interface CacheSnapshot {
  /** The keys. */
  readonly keys: readonly string[];
  /** The packets, as binary strings. */
  readonly packets: readonly string[];
}

/**
 * The longest request data the cache stores (16,382 bytes): its key, one
 * character longer, is the longest string V8 hashes by content.
 */
export const MAX_KEY_DATA_BYTES = 16_382;

/**
 * The cache key of a request: its data bytes as a one-byte ("binary",
 * latin1) string, one character per byte, followed by one flag character
 * for S. Collision-free (the mapping is injective and the flag is always the
 * last character) and cheap: about 0.25 µs for 700 bytes, 6 µs for 64 KiB.
 * (`new TextDecoder("latin1")` is windows-1252: it maps 0x80–0x9F above
 * U+00FF, which doubles the string's memory, and is 25–80 times slower.)
 */
export function cacheKey(data: Uint8Array, steps: boolean): string {
  return cacheKeyFromBinary(binaryOf(data), steps);
}

/**
 * The cache key for request data already held as a binary string (one
 * character per byte, e.g. from `atob`). Equal to `cacheKey(bytes, steps)`
 * for the same bytes.
 */
export function cacheKeyFromBinary(binary: string, steps: boolean): string {
  return binary + (steps ? STEPS_FLAG : NO_STEPS_FLAG);
}

/** Whether a key made by {@linkcode cacheKey} belongs to a request with S=1. */
export function cacheKeySteps(key: string): boolean {
  return key.endsWith(STEPS_FLAG);
}

/** The request data of a key made by {@linkcode cacheKey}, as a binary string. */
export function cacheKeyBinary(key: string): string {
  return key.slice(0, -1);
}

/** Matches a character that no byte maps to. */
const WIDE_CHARACTER = /[\u0100-\uffff]/;

/** Whether `key` has the shape {@linkcode cacheKey} makes: binary characters, then a flag. */
function isCacheKey(key: string): boolean {
  const flag = key.at(-1);
  return (flag === STEPS_FLAG || flag === NO_STEPS_FLAG) && !WIDE_CHARACTER.test(key);
}

/** Bytes as a binary string. */
function binaryOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/**
 * A binary string as bytes: a view into node's shared `Buffer` pool, the
 * fastest way in Deno (about 0.6 µs for 560 bytes; a fresh `ArrayBuffer`
 * per packet costs 1–3 µs in a large heap).
 */
function bytesOf(binary: string): Uint8Array {
  const pooled = Buffer.from(btoa(binary), "base64");
  return new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.byteLength);
}

/** The u16 at `offset` of a binary string. */
function u16At(binary: string, offset: number): number {
  return (binary.charCodeAt(offset) << 8) | binary.charCodeAt(offset + 1);
}

/** The Unix time stamp (u32 seconds) in a binary packet's header. */
function packetStamp(packet: string): number {
  return u16At(packet, 0) * 0x10000 + u16At(packet, 2);
}

/** The cache control (u16 max-age in seconds) in a binary packet's header. */
function packetMaxAge(packet: string): number {
  return u16At(packet, 8);
}

/**
 * Why a binary string is not a cacheable packet, or `undefined` when it is:
 * it must be bytes, hold a whole header, and its total length field must
 * equal its length.
 */
export function responsePacketProblem(packet: string): string | undefined {
  if (packet.length < HEADER_SIZE) {
    return `a response of ${packet.length} bytes is shorter than the ${HEADER_SIZE}-byte header`;
  }
  const declared = u16At(packet, 4);
  if (declared !== packet.length) {
    return `a response of ${packet.length} bytes declares a total length of ${declared}`;
  }
  if (WIDE_CHARACTER.test(packet)) return "a response that is not a binary string";
  return undefined;
}

/**
 * Whether a binary packet's own max-age has elapsed at `nowSeconds`:
 * remaining = max-age − (now − time stamp) ≤ 0. Max-age
 * {@linkcode MAX_AGE_FOREVER} never elapses.
 */
export function responseExpired(packet: string, nowSeconds: number): boolean {
  const maxAge = packetMaxAge(packet);
  return maxAge !== MAX_AGE_FOREVER && maxAge - (nowSeconds - packetStamp(packet)) <= 0;
}

/**
 * The most bytes of responses kept as bytes for hot entries (2 MiB: a few
 * thousand answers of the course's size). A full hot set takes no more
 * entries until {@linkcode HOT_RESET_COLD_BYTES} of cold hits have passed;
 * then every entry goes cold and the set forms anew from the next hits, so
 * it follows what is hot now.
 */
export const HOT_BYTES_LIMIT: number = 2 * 1024 * 1024;

/**
 * The bytes of responses made from strings (cold hits) after which a full
 * hot set forms anew. Hits spread over more entries than the set holds
 * would otherwise turn it over again and again, each round leaving 2 MiB
 * of long-lived garbage that only a full collection frees (measured: 10–20
 * MB more resident memory with 100,000 entries).
 */
export const HOT_RESET_COLD_BYTES: number = 32 * HOT_BYTES_LIMIT;

/**
 * Hot entries' bytes are copied into blocks of this size (any packet fits),
 * a view each: a buffer per entry would cost a few hundred bytes of
 * bookkeeping more, and as many allocations.
 */
const HOT_BLOCK_BYTES = 64 * 1024;

/** An entry hit once since it was stored or since the hot set last formed anew. */
const HIT_ONCE = 1;

/** What a lookup returns; the packet becomes bytes only if asked for. */
class StoredResponse implements CachedResponse {
  readonly timestamp: number;
  readonly maxAge: number;
  readonly #packet: string;
  readonly #bytesOf: (() => Uint8Array) | undefined;
  #bytes: Uint8Array | undefined;

  /** `hot` gives the bytes of a looked-up entry (it may keep them); a peek has none. */
  constructor(packet: string, hot?: () => Uint8Array) {
    this.#packet = packet;
    this.#bytesOf = hot;
    this.timestamp = packetStamp(packet);
    this.maxAge = packetMaxAge(packet);
  }

  get response(): Uint8Array {
    this.#bytes ??= this.#bytesOf?.() ?? bytesOf(this.#packet);
    return this.#bytes;
  }
}

/** The bytes an entry counts against {@linkcode CacheLimits.maxBytes}. */
function entryBytes(key: string, packet: string): number {
  return key.length - 1 + packet.length;
}

/** Checks that a limit is a positive safe integer. */
function checkLimit(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`cache ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** "No slot": the end of the recency list. */
const NONE = -1;

/** The slot capacity a cache starts with; it doubles as needed, up to `maxEntries`. */
const INITIAL_SLOTS = 64;

/**
 * An LRU map from {@linkcode cacheKey} keys to complete response packets,
 * bounded by entry count and by bytes. Pure: time comes in as arguments.
 *
 * Layout: one `Map` from key to slot number; the slots' keys and packets in
 * two arrays; recency as a doubly linked list threaded through two
 * `Int32Array`s. A hit relinks two slots and leaves the `Map` alone (moving
 * a key to the end of a 100,000-entry `Map` by delete and set costs about
 * 1 µs, mostly in the rehashing it causes).
 */
export class ResponseCache {
  /** The bounds this cache keeps. */
  readonly limits: CacheLimits;
  /** Key → slot. */
  readonly #slots = new Map<string, number>();
  /** Each slot's key, or "" when free. */
  readonly #keys: string[] = [];
  /** Each slot's packet as a binary string, or "" when free. */
  readonly #packets: string[] = [];
  /** The hot slots' packets as bytes (a copy of their own, in a block). */
  readonly #hot = new Map<number, Uint8Array>();
  /**
   * Bytes allocated for hot entries since the hot set last formed anew
   * (blocks and buffers of their own), counted against
   * {@linkcode HOT_BYTES_LIMIT}: an entry that leaves frees its place only
   * when the set forms anew.
   */
  #hotBytes = 0;
  /** Bytes of cold hits since the hot set last formed anew. */
  #coldBytes = 0;
  /** The block hot entries are being copied into, and how much of it is used. */
  #block: Uint8Array | undefined;
  #blockUsed = 0;
  /** Each slot's hits since it was stored or the hot set formed anew: 0 or {@linkcode HIT_ONCE}. */
  #hits = new Uint8Array(INITIAL_SLOTS);
  /** Each used slot's neighbour towards the least recently used end; free slots chain through #newer. */
  #older = new Int32Array(INITIAL_SLOTS);
  /** Each used slot's neighbour towards the most recently used end. */
  #newer = new Int32Array(INITIAL_SLOTS);
  #oldest = NONE;
  #newest = NONE;
  #free = NONE;
  #bytes = 0;
  #evictions = 0;
  #changes = 0;

  /** Makes an empty cache; omitted limits take {@linkcode DEFAULT_CACHE_LIMITS}. */
  constructor(limits: Partial<CacheLimits> = {}) {
    this.limits = {
      maxEntries: checkLimit("maxEntries", limits.maxEntries ?? DEFAULT_CACHE_LIMITS.maxEntries),
      maxBytes: checkLimit("maxBytes", limits.maxBytes ?? DEFAULT_CACHE_LIMITS.maxBytes),
    };
  }

  /** The number of entries. */
  get size(): number {
    return this.#slots.size;
  }

  /** The request-data plus response bytes of all entries. */
  get bytes(): number {
    return this.#bytes;
  }

  /** How many entries were evicted to stay within the limits, ever. */
  get evictions(): number {
    return this.#evictions;
  }

  /**
   * A counter that grows whenever the content changes (set, delete,
   * eviction, expiry). Lookups that only change recency leave it alone.
   * Compare it with an earlier reading to know whether to save.
   */
  get changes(): number {
    return this.#changes;
  }

  /**
   * The response stored under `key`, which becomes the most recently used
   * entry (fresh or not: judging freshness is the caller's business).
   */
  get(key: string): CachedResponse | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    if (slot !== this.#newest) {
      this.#unlink(slot);
      this.#link(slot);
    }
    const packet = this.#packets[slot] ?? "";
    return new StoredResponse(packet, () => this.#bytesOf(slot, packet));
  }

  /**
   * The bytes of the packet in `slot`: its own when hot; else made from the
   * string (a view into a shared pool), and on the second hit copied to
   * become hot.
   */
  #bytesOf(slot: number, packet: string): Uint8Array {
    const hot = this.#hot.get(slot);
    if (hot !== undefined) return hot;
    const bytes = bytesOf(packet);
    this.#coldBytes += bytes.length;
    // The slot may have been reused since the lookup: its hits are then another entry's.
    if (this.#packets[slot] !== packet) return bytes;
    if (this.#hits[slot] !== HIT_ONCE) {
      this.#hits[slot] = HIT_ONCE;
      return bytes;
    }
    const own = this.#copyHot(bytes);
    if (own === undefined) return bytes;
    this.#hot.set(slot, own);
    return own;
  }

  /**
   * A copy of `bytes` (at most a block) for a hot entry: in the current
   * block, else a new one; undefined while the hot set is full.
   */
  #copyHot(bytes: Uint8Array): Uint8Array | undefined {
    const length = bytes.length;
    if (this.#block === undefined || this.#blockUsed + length > HOT_BLOCK_BYTES) {
      if (this.#hotBytes + HOT_BLOCK_BYTES > HOT_BYTES_LIMIT) {
        if (this.#coldBytes < HOT_RESET_COLD_BYTES) return undefined;
        this.#coolAll();
      }
      this.#hotBytes += HOT_BLOCK_BYTES;
      this.#block = new Uint8Array(HOT_BLOCK_BYTES);
      this.#blockUsed = 0;
    }
    const own = this.#block.subarray(this.#blockUsed, this.#blockUsed + length);
    own.set(bytes);
    this.#blockUsed += length;
    return own;
  }

  /** Lets every entry go cold: the hot set forms anew from the next hits. */
  #coolAll(): void {
    this.#hot.clear();
    this.#hotBytes = 0;
    this.#coldBytes = 0;
    this.#block = undefined;
    this.#hits.fill(0);
  }

  /** Takes `slot`'s bytes out of the hot set, if there. */
  #cool(slot: number): void {
    this.#hits[slot] = 0;
    this.#hot.delete(slot);
  }

  /** The response stored under `key`, leaving recency as it is. */
  peek(key: string): CachedResponse | undefined {
    const slot = this.#slots.get(key);
    return slot === undefined ? undefined : new StoredResponse(this.#packets[slot] ?? "");
  }

  /**
   * Stores a copy of `response` under `key` as the most recently used entry,
   * replacing any entry with that key, then evicts least recently used
   * entries until the limits hold. Returns false, storing nothing (and
   * removing any old entry for `key`), when the request data is longer than
   * {@linkcode MAX_KEY_DATA_BYTES} or the entry alone exceeds `maxBytes`.
   *
   * @throws {RangeError} when `key` was not made by {@linkcode cacheKey} or
   *   `response` is not a whole packet ({@linkcode responsePacketProblem}).
   */
  set(key: string, response: Uint8Array): boolean {
    return this.setBinary(key, binaryOf(response));
  }

  /**
   * {@linkcode ResponseCache.set} for a packet held as a binary string (one
   * character per byte), as the cache file stores it.
   */
  setBinary(key: string, packet: string): boolean {
    if (!isCacheKey(key)) throw new RangeError("cannot cache under a key not made by cacheKey");
    const problem = responsePacketProblem(packet);
    if (problem !== undefined) throw new RangeError(`cannot cache ${problem}`);
    const replaced = this.#remove(key);
    const size = entryBytes(key, packet);
    if (key.length - 1 > MAX_KEY_DATA_BYTES || size > this.limits.maxBytes) {
      if (replaced) this.#changes++;
      return false;
    }
    this.#changes++;
    while (
      this.#oldest !== NONE &&
      (this.#slots.size >= this.limits.maxEntries || this.#bytes + size > this.limits.maxBytes)
    ) {
      this.#remove(this.#keys[this.#oldest] ?? "");
      this.#evictions++;
    }
    const slot = this.#allocate();
    this.#keys[slot] = key;
    this.#packets[slot] = packet;
    this.#link(slot);
    this.#slots.set(key, slot);
    this.#bytes += size;
    return true;
  }

  /** Removes the entry under `key`; returns whether there was one. */
  delete(key: string): boolean {
    const removed = this.#remove(key);
    if (removed) this.#changes++;
    return removed;
  }

  /**
   * Removes every entry whose response max-age has elapsed at `nowSeconds`
   * (remaining ≤ 0; max-age {@linkcode MAX_AGE_FOREVER} never expires).
   * Returns how many were removed.
   */
  dropExpired(nowSeconds: number): number {
    const expired: string[] = [];
    for (let slot = this.#oldest; slot !== NONE; slot = this.#newer[slot] ?? NONE) {
      if (responseExpired(this.#packets[slot] ?? "", nowSeconds)) {
        expired.push(this.#keys[slot] ?? "");
      }
    }
    for (const key of expired) this.#remove(key);
    if (expired.length > 0) this.#changes++;
    return expired.length;
  }

  /**
   * The current entries in least-recently-used order (oldest first), for
   * persistence. Later changes to the cache don't affect the returned array.
   */
  snapshot(): CacheSnapshot {
    // Sized up front: a save takes one, and growing arrays of 100,000 leaves garbage.
    const keys = new Array<string>(this.#slots.size);
    const packets = new Array<string>(this.#slots.size);
    let i = 0;
    for (let slot = this.#oldest; slot !== NONE; slot = this.#newer[slot] ?? NONE, i++) {
      keys[i] = this.#keys[slot] ?? "";
      packets[i] = this.#packets[slot] ?? "";
    }
    return { keys, packets };
  }

  /** Removes an entry, its slot and its bytes without counting a change. */
  #remove(key: string): boolean {
    const slot = this.#slots.get(key);
    if (slot === undefined) return false;
    this.#slots.delete(key);
    this.#bytes -= entryBytes(key, this.#packets[slot] ?? "");
    this.#unlink(slot);
    this.#keys[slot] = "";
    this.#packets[slot] = "";
    this.#cool(slot);
    this.#newer[slot] = this.#free;
    this.#free = slot;
    return true;
  }

  /** A free slot: a released one, else a new one (growing the links if full). */
  #allocate(): number {
    if (this.#free !== NONE) {
      const slot = this.#free;
      this.#free = this.#newer[slot] ?? NONE;
      return slot;
    }
    const slot = this.#keys.length;
    if (slot === this.#older.length) {
      const capacity = Math.min(slot * 2, this.limits.maxEntries);
      const older = new Int32Array(capacity);
      const newer = new Int32Array(capacity);
      const hits = new Uint8Array(capacity);
      older.set(this.#older);
      newer.set(this.#newer);
      hits.set(this.#hits);
      this.#older = older;
      this.#newer = newer;
      this.#hits = hits;
    }
    this.#keys.push("");
    this.#packets.push("");
    return slot;
  }

  /** Makes `slot` the most recently used. */
  #link(slot: number): void {
    this.#older[slot] = this.#newest;
    this.#newer[slot] = NONE;
    if (this.#newest === NONE) this.#oldest = slot;
    else this.#newer[this.#newest] = slot;
    this.#newest = slot;
  }

  /** Takes `slot` out of the recency list. */
  #unlink(slot: number): void {
    const older = this.#older[slot] ?? NONE;
    const newer = this.#newer[slot] ?? NONE;
    if (older === NONE) this.#oldest = newer;
    else this.#newer[older] = newer;
    if (newer === NONE) this.#newest = older;
    else this.#older[newer] = older;
  }
}
