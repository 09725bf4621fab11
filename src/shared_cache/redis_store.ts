/**
 * {@linkcode SharedStore} on Redis or Valkey (one server, or a managed
 * service's endpoint), through node-redis.
 *
 * Entries: the response bytes under the key's name with a `PX` expiry (the
 * answer's remaining life, capped). Coalescing: a lock taken with
 * `SET lock token NX PX ttl` (the token is random and known only to this
 * store), released by a script that deletes it only while it still holds
 * this store's token; an outcome is written as a short-lived record and
 * announced on the namespace's channel; followers wake on the announcement
 * and, as a fallback for a lost message, look again every poll interval and
 * when the lock's time runs out, so a dead leader holds nobody past its lock.
 * Reads are bounded (`GETRANGE` to one packet), so a huge value someone
 * else wrote cannot make the proxy read it whole.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { MAX_AGE_FOREVER, MAX_PACKET_SIZE } from "../protocol/mod.ts";
import { Announcements } from "./announcements.ts";
import type { BackoffLimits } from "./backoff.ts";
import {
  decodeOutcome,
  encodeOutcome,
  MAX_OUTCOME_RECORD_BYTES,
  packetSized,
} from "./outcome_record.ts";
import { RedisLink } from "./redis_link.ts";
import { parseRedisUrl, type RedisEndpoint } from "./redis_url.ts";
import { settleWithin } from "../base/mod.ts";
import type {
  LeadRole,
  SharedOutcome,
  SharedStore,
  StoreCounters,
  StoreState,
  StoreStateChange,
} from "./shared_store.ts";
import { type KeyNames, StoreKeys } from "./store_keys.ts";

/** The tunable parts of a {@linkcode RedisStore}. */
export interface RedisStoreSettings {
  /** The longest one operation may take; after that it fails and the circuit opens. */
  readonly timeoutMs: number;
  /** The longest a connection attempt may take. */
  readonly connectTimeoutMs: number;
  /** The pauses between reconnection attempts and probes. */
  readonly backoff: BackoffLimits;
  /** The longest an entry lives in Redis, also for answers that never expire (max-age 65535). */
  readonly maxEntryTtlSeconds: number;
  /** How long a published outcome stays readable for followers. */
  readonly resultTtlMs: number;
  /** How often a follower looks for the outcome when no announcement came. */
  readonly pollIntervalMs: number;
}

/** Where the store is and what it is for. */
export interface RedisStoreOptions extends Partial<RedisStoreSettings> {
  /** `redis://[user[:password]@]host[:port][/db]` or `rediss://…`, or the same parsed. */
  readonly url: string | RedisEndpoint;
  /** Separates caches in one Redis: the proxy passes its upstream server's address. */
  readonly namespace: string;
  /** Hears each change of state once: "up" when Redis answers, "down" when it fails. */
  readonly onState?: (change: StoreStateChange) => void;
}

/**
 * The defaults: an operation may take 200 ms (a Redis on the same network
 * answers in well under 1 ms; a request waits at most this long for Redis,
 * once, before the circuit opens); connecting 1 s; reconnecting after
 * 100 ms, doubling up to 5 s; entries live at most a day (the course's
 * rules still judge freshness at read time, so the cap only frees memory);
 * outcomes stay 1 s (enough for followers to read them, short enough that a
 * shared failure does not outlive the requests it was for); followers look
 * every 100 ms when no announcement came.
 */
export const REDIS_STORE_DEFAULTS: RedisStoreSettings = {
  timeoutMs: 200,
  connectTimeoutMs: 1000,
  backoff: { minMs: 100, maxMs: 5000 },
  maxEntryTtlSeconds: 86_400,
  resultTtlMs: 1000,
  pollIntervalMs: 100,
};

/** Deletes the lock (KEYS[1]) only if it still holds this owner's token (ARGV[1]). */
const RELEASE_SCRIPT =
  'if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0';

/**
 * Writes the outcome record (KEYS[1] = ARGV[1], for ARGV[2] ms) and
 * announces it (PUBLISH ARGV[3] ARGV[4]) in one step: no follower can see
 * the announcement before the record.
 */
const PUBLISH_SCRIPT = 'redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2]) ' +
  'return redis.call("PUBLISH", ARGV[3], ARGV[4])';

/**
 * Reads the outcome record (KEYS[1], at most ARGV[1] + 1 bytes) and the
 * lock's remaining time (PTTL KEYS[2]) at one instant: a leader that
 * publishes and releases in between cannot look like one that died.
 */
const LOOK_SCRIPT =
  'return {redis.call("GETRANGE", KEYS[1], 0, ARGV[1]), redis.call("PTTL", KEYS[2])}';

/** `PTTL`'s answer for a key that does not exist. */
const PTTL_MISSING = -2;

/** Milliseconds per second. */
const MS_PER_SECOND = 1000;

/** Bytes from Redis as a plain `Uint8Array` view (node-redis hands out `Buffer`s). */
function bytesOf(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Bytes for Redis, without a copy. */
function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What a follower finds when it looks. */
interface Look {
  readonly outcome: SharedOutcome | undefined;
  /** The lock's remaining time in ms, {@linkcode PTTL_MISSING} when gone, -1 without expiry. */
  readonly lockMs: number;
}

/**
 * A shared cache on Redis. It connects in the background; until Redis
 * answers (state "up") every call returns at once as if Redis had nothing.
 *
 * @example
 * ```ts
 * await using store = new RedisStore({ url: "redis://127.0.0.1:6379", namespace: "127.0.0.1:7777" });
 * await store.set(key, answer, 60);
 * const hit = await store.get(key);
 * ```
 */
export class RedisStore implements SharedStore {
  /** The settings in force. */
  readonly settings: RedisStoreSettings;
  /** Where Redis is, without the password: for logs. */
  readonly address: string;
  readonly #keys: StoreKeys;
  readonly #link: RedisLink;
  readonly #announcements = new Announcements();
  /** Lock name → this store's token, for the locks it holds. */
  readonly #tokens = new Map<string, string>();
  #closed = false;

  /**
   * Starts connecting; returns at once.
   *
   * @throws {RedisUrlError} for an address that cannot be used.
   * @throws {RangeError} for an empty or over-long namespace, or a setting that is not a positive integer.
   */
  constructor(options: RedisStoreOptions) {
    const endpoint = typeof options.url === "string" ? parseRedisUrl(options.url) : options.url;
    this.settings = checkedSettings(settingsOf(options));
    this.address = endpoint.display;
    this.#keys = new StoreKeys(options.namespace);
    this.#link = new RedisLink({
      endpoint,
      timeoutMs: this.settings.timeoutMs,
      connectTimeoutMs: this.settings.connectTimeoutMs,
      backoff: this.settings.backoff,
      channel: this.#keys.channel,
      onMessage: (hash) => this.#announcements.announce(hash),
      onState: options.onState ?? (() => {}),
    });
  }

  /** The state now. */
  get state(): StoreState {
    return this.#closed ? "down" : this.#link.state;
  }

  /** The totals so far. */
  get counters(): StoreCounters {
    return this.#link.counters;
  }

  /** Followers waiting now. */
  get waiting(): number {
    return this.#announcements.waiting;
  }

  /** The stored response for `key`, or `undefined`. */
  async get(key: string): Promise<Uint8Array | undefined> {
    const { entry } = this.#keys.of(key);
    const value = await this.#link.run((redis) => redis.getRange(entry, 0, MAX_PACKET_SIZE));
    return value instanceof Buffer && packetSized(value) ? bytesOf(value) : undefined;
  }

  /** Stores `response` under `key` for `ttlSeconds`, capped; see {@linkcode SharedStore.set}. */
  async set(key: string, response: Uint8Array, ttlSeconds: number): Promise<void> {
    const ttlMs = this.#entryTtlMs(ttlSeconds);
    if (ttlMs === undefined || !packetSized(response)) return;
    const { entry } = this.#keys.of(key);
    await this.#link.run((redis) =>
      redis.set(entry, bufferOf(response), { expiration: { type: "PX", value: ttlMs } })
    );
  }

  /** Takes the lock on `key` for `ttlMs`, or finds it taken; see {@linkcode SharedStore.lead}. */
  async lead(key: string, ttlMs: number): Promise<LeadRole | undefined> {
    // A lock that never expires would hold every follower of every proxy: refuse it outright.
    if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) {
      throw new RangeError(`a lock's time must be a positive number of ms, got ${ttlMs}`);
    }
    const { lock } = this.#keys.of(key);
    const token = crypto.randomUUID();
    const px = Math.ceil(ttlMs);
    const reply = await this.#link.run((redis) =>
      redis.set(lock, token, { condition: "NX", expiration: { type: "PX", value: px } })
    );
    if (reply === undefined) return undefined;
    if (reply === null) return "follower";
    this.#tokens.set(lock, token);
    return "leader";
  }

  /** Writes the outcome record and announces it. */
  async publish(key: string, outcome: SharedOutcome): Promise<void> {
    if (!packetSized(outcome.response)) return;
    const names = this.#keys.of(key);
    const record = bufferOf(encodeOutcome(outcome));
    const ttl = this.settings.resultTtlMs;
    await this.#link.run((redis) =>
      redis.eval(PUBLISH_SCRIPT, {
        keys: [names.result],
        arguments: [record, String(ttl), this.#keys.channel, names.hash],
      })
    );
  }

  /** Deletes the lock on `key` if it still holds this store's token. */
  async release(key: string): Promise<void> {
    const { lock } = this.#keys.of(key);
    const token = this.#tokens.get(lock);
    if (token === undefined) return;
    this.#tokens.delete(lock);
    await this.#link.run((redis) =>
      redis.eval(RELEASE_SCRIPT, { keys: [lock], arguments: [token] })
    );
  }

  /** Waits for the leader's outcome; see {@linkcode SharedStore.await}. */
  async await(key: string, deadline: number): Promise<SharedOutcome | undefined> {
    const names = this.#keys.of(key);
    using doorbell = this.#announcements.listen(names.hash);
    while (!this.#closed && this.#link.state === "up") {
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      const settled = await settleWithin(this.#look(names), left);
      if (settled.kind !== "value" || settled.value === undefined) return undefined;
      const { outcome, lockMs } = settled.value;
      if (outcome !== undefined) return outcome;
      if (lockMs === PTTL_MISSING) return undefined;
      // Look again on an announcement, after the poll interval, or just after the lock runs out.
      const untilExpiry = lockMs >= 0 ? lockMs + 1 : Infinity;
      const pause = Math.min(
        this.settings.pollIntervalMs,
        untilExpiry,
        deadline - performance.now(),
      );
      await doorbell.ring(pause);
    }
    return undefined;
  }

  /** Closes both connections and wakes every follower. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#announcements.wakeAll();
    this.#tokens.clear();
    await this.#link.close();
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The outcome record (if any) and the lock's remaining time, read together. */
  async #look(names: KeyNames): Promise<Look | undefined> {
    const replies = await this.#link.run((redis) =>
      redis.eval(LOOK_SCRIPT, {
        keys: [names.result, names.lock],
        arguments: [String(MAX_OUTCOME_RECORD_BYTES)],
      })
    );
    if (!Array.isArray(replies)) return undefined;
    const [record, lockMs]: unknown[] = replies;
    if (!(record instanceof Buffer) || typeof lockMs !== "number") return undefined;
    const outcome = record.length === 0 ? undefined : decodeOutcome(bytesOf(record));
    return { outcome, lockMs };
  }

  /** An entry's life in ms: capped, "forever" at the cap; `undefined` for none. */
  #entryTtlMs(ttlSeconds: number): number | undefined {
    const capMs = this.settings.maxEntryTtlSeconds * MS_PER_SECOND;
    if (ttlSeconds === MAX_AGE_FOREVER || ttlSeconds === Infinity) return capMs;
    if (!(ttlSeconds > 0)) return undefined;
    return Math.min(capMs, Math.ceil(ttlSeconds * MS_PER_SECOND));
  }
}

/** The settings given, the defaults for the others. */
function settingsOf(options: RedisStoreOptions): RedisStoreSettings {
  const defaults = REDIS_STORE_DEFAULTS;
  return {
    timeoutMs: options.timeoutMs ?? defaults.timeoutMs,
    connectTimeoutMs: options.connectTimeoutMs ?? defaults.connectTimeoutMs,
    backoff: options.backoff ?? defaults.backoff,
    maxEntryTtlSeconds: options.maxEntryTtlSeconds ?? defaults.maxEntryTtlSeconds,
    resultTtlMs: options.resultTtlMs ?? defaults.resultTtlMs,
    pollIntervalMs: options.pollIntervalMs ?? defaults.pollIntervalMs,
  };
}

/** The settings, each checked to be a positive integer. */
function checkedSettings(settings: RedisStoreSettings): RedisStoreSettings {
  const numbers: [string, number][] = [
    ["timeoutMs", settings.timeoutMs],
    ["connectTimeoutMs", settings.connectTimeoutMs],
    ["backoff.minMs", settings.backoff.minMs],
    ["backoff.maxMs", settings.backoff.maxMs],
    ["maxEntryTtlSeconds", settings.maxEntryTtlSeconds],
    ["resultTtlMs", settings.resultTtlMs],
    ["pollIntervalMs", settings.pollIntervalMs],
  ];
  for (const [name, value] of numbers) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`the shared cache's ${name} must be a positive integer, got ${value}`);
    }
  }
  return settings;
}
