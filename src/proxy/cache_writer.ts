/**
 * The proxy's batched background saver: the request path only marks the
 * cache dirty (O(1)); a timer saves it at most once per interval, off the
 * request path, one save at a time.
 *
 * @module
 */

import type { ResponseCache } from "./cache.ts";
import { AtomicWriteError } from "./atomic_file.ts";
import { saveCacheFile, type SavedCache } from "./cache_file.ts";
import { isIoError, oneLine } from "./io_error.ts";

/** The default time between two saves of a changed cache. */
export const DEFAULT_SAVE_INTERVAL_MS = 1000;

/**
 * After a save that took D ms, the next one waits until this many times D
 * has passed since it ended, so that saving takes at most a fifth of the
 * time (a 100,000-entry cache takes about 0.5 s to save).
 */
const SAVE_PAUSE_FACTOR = 4;

/**
 * Starts calling `callback` every `ms` milliseconds and returns the function
 * that stops it: how a {@linkcode CacheWriter} gets its ticks (injected in
 * tests).
 */
export type StartInterval = (callback: () => void, ms: number) => () => void;

/** Options of {@linkcode CacheWriter}. */
export interface CacheWriterOptions {
  /**
   * Time between checks for changes, hence the most often a save starts
   * (default 1000 ms). A save that took D ms also holds the next one back
   * until 4·D after it ended.
   */
  readonly intervalMs?: number;
  /**
   * Millisecond clock for timing saves, `saved_at` and leaving out expired
   * entries (default `Date.now`).
   */
  readonly now?: () => number;
  /** The interval timer (default: the global `setInterval` and `clearInterval`). */
  readonly startInterval?: StartInterval;
  /** Bytes of file text serialised per event-loop turn while saving (default 256 KiB). */
  readonly chunkBytes?: number;
  /**
   * Receives a one-line message when a save fails (the save is retried at
   * the next tick). A failure like the previous one (the same step and
   * error code) is not reported again until a save succeeds.
   */
  readonly onError?: (message: string) => void;
  /** Receives a one-line message when a save succeeds after failures were reported. */
  readonly onRecovered?: (message: string) => void;
  /** Called after each successful save. */
  readonly onSaved?: (saved: SavedCache) => void;
}

/** The global interval timer. */
const startGlobalInterval: StartInterval = (callback, ms) => {
  const id = setInterval(callback, ms);
  return () => clearInterval(id);
};

/**
 * Saves a {@linkcode ResponseCache} to a file in the background. Starts its
 * timer when constructed; call {@linkcode CacheWriter.flush} then
 * {@linkcode CacheWriter.close} at shutdown.
 *
 * A tick starts a save when the cache's change counter moved since the last
 * successful save or {@linkcode CacheWriter.markDirty} was called (e.g. to
 * persist the recency that hits changed), no save is in flight, and the
 * previous save's pause is over (4 times its duration). Save errors go to
 * `onError`, never to the caller, and the save is retried at the next tick.
 *
 * @example
 * ```ts
 * const { cache } = await loadCacheFile(path, unixSeconds(Date.now()));
 * const writer = new CacheWriter(path, cache, { onError: console.error });
 * // ... serve requests, calling writer.markDirty() after each change ...
 * await writer.flush();
 * writer.close();
 * ```
 */
export class CacheWriter {
  readonly #path: string;
  readonly #cache: ResponseCache;
  readonly #now: () => number;
  readonly #chunkBytes: number | undefined;
  readonly #onError: (message: string) => void;
  readonly #onRecovered: (message: string) => void;
  readonly #onSaved: (saved: SavedCache) => void;
  #stopTimer: (() => void) | undefined;
  #dirty = false;
  /** The cache's change counter when the last successful save began. */
  #savedChanges: number;
  #inFlight: Promise<boolean> | undefined;
  /** No tick starts a save before this time (ms), to bound the time spent saving. */
  #notBefore = -Infinity;
  /** What the failures since the last successful save had in common, if any. */
  #failing: string | undefined;

  /** Starts a writer that saves `cache` to `path`; the cache as it is now counts as saved. */
  constructor(path: string, cache: ResponseCache, options: CacheWriterOptions = {}) {
    const intervalMs = options.intervalMs ?? DEFAULT_SAVE_INTERVAL_MS;
    if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${intervalMs}`);
    this.#path = path;
    this.#cache = cache;
    this.#now = options.now ?? Date.now;
    this.#chunkBytes = options.chunkBytes;
    this.#onError = options.onError ?? (() => {});
    this.#onRecovered = options.onRecovered ?? (() => {});
    this.#onSaved = options.onSaved ?? (() => {});
    this.#savedChanges = cache.changes;
    this.#stopTimer = (options.startInterval ?? startGlobalInterval)(
      () => this.#tick(),
      intervalMs,
    );
  }

  /** Asks for a save at the next tick even if the cache's content did not change. O(1). */
  markDirty(): void {
    this.#dirty = true;
  }

  /**
   * Waits for a save in flight, then saves once more if the cache changed
   * meanwhile. Resolves to whether the file is now up to date (a failure was
   * reported through `onError`). Use it at shutdown.
   */
  async flush(): Promise<boolean> {
    while (this.#inFlight !== undefined) await this.#inFlight;
    return this.#needsSave() ? await this.#start() : true;
  }

  /** Stops the timer. A save in flight still finishes; await {@linkcode flush} first. */
  close(): void {
    this.#stopTimer?.();
    this.#stopTimer = undefined;
  }

  #needsSave(): boolean {
    return this.#dirty || this.#cache.changes !== this.#savedChanges;
  }

  #tick(): void {
    if (this.#inFlight === undefined && this.#needsSave() && this.#now() >= this.#notBefore) {
      void this.#start();
    }
  }

  #start(): Promise<boolean> {
    const saving = this.#save().finally(() => {
      this.#inFlight = undefined;
    });
    this.#inFlight = saving;
    return saving;
  }

  async #save(): Promise<boolean> {
    const changes = this.#cache.changes;
    this.#dirty = false;
    const started = this.#now();
    try {
      const saved = await saveCacheFile(
        this.#path,
        this.#cache,
        Math.floor(started / 1000),
        { chunkBytes: this.#chunkBytes },
      );
      const ended = this.#now();
      this.#notBefore = ended + SAVE_PAUSE_FACTOR * (ended - started);
      this.#savedChanges = changes;
      if (this.#failing !== undefined) {
        this.#failing = undefined;
        this.#onRecovered(`cache saves to ${this.#path} work again`);
      }
      this.#onSaved(saved);
      return true;
    } catch (error) {
      if (!isIoError(error)) throw error;
      this.#dirty = true;
      this.#reportFailure(error);
      return false;
    }
  }

  /**
   * Reports a failed save unless it fails like the previous one. Failures
   * are compared by step and error code, never by message text, which may
   * hold names that change with every attempt.
   */
  #reportFailure(error: Error): void {
    const atomic = error instanceof AtomicWriteError;
    const kind = atomic
      ? `${error.step}/${error.code}`
      : `${error.name}/${"code" in error ? String(error.code) : ""}`;
    if (kind === this.#failing) return;
    this.#failing = kind;
    const why = atomic ? `cannot ${error.step}: ${error.reason}` : oneLine(error.message);
    this.#onError(`cannot save the cache to ${this.#path}: ${why}`);
  }
}
