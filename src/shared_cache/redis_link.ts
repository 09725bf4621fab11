/**
 * The connections to one Redis and the rule that Redis trouble never blocks
 * a caller: every operation runs under a timeout and fails to `undefined`;
 * the first connection failure or timeout opens the circuit (down), after
 * which operations skip Redis at once until a background probe succeeds.
 *
 * Two connections: one for commands, one subscribed to the announcement
 * channel (a subscribed connection can run nothing else). They live and die
 * together: losing either takes the link down. The probe reconnects: it
 * opens a fresh pair (when the old one is gone) and PINGs, within the
 * connection timeout plus the operation timeout, and on failure drops the
 * pair and tries again after a backoff. The client's own reconnection is
 * off: its retry pause cannot be cancelled, and a closed store must leave
 * no timer behind.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import type * as RedisClient from "@redis/client";
import { backoffDelay, type BackoffLimits } from "./backoff.ts";
import { Circuit } from "./circuit.ts";
import type { RedisEndpoint } from "./redis_url.ts";
import { settleWithin } from "../base/mod.ts";
import type { StoreCounters, StoreState, StoreStateChange } from "./shared_store.ts";

/** How a {@linkcode RedisLink} connects and how long it waits. */
export interface LinkOptions {
  /** The server. */
  readonly endpoint: RedisEndpoint;
  /** The longest an operation may take before it counts as a timeout. */
  readonly timeoutMs: number;
  /** The longest a connection attempt may take. */
  readonly connectTimeoutMs: number;
  /** The pauses between probes while down. */
  readonly backoff: BackoffLimits;
  /** The channel to subscribe to. */
  readonly channel: string;
  /** Hears each message on the channel. */
  readonly onMessage: (message: string) => void;
  /** Hears each change of state, once. */
  readonly onState: (change: StoreStateChange) => void;
}

/**
 * Commands this many deep in the client's queue make further commands fail
 * at once (and open the circuit) rather than pile up while Redis stalls.
 */
const MAX_QUEUED_COMMANDS = 10_000;

/** The name the connections give themselves (`CLIENT LIST` shows it). */
const CLIENT_NAME = "calcnet";

/** `SET` options the store uses: an expiry in ms, and "only if absent" for a lock. */
export interface SetOptions {
  /** `NX`: set only if the key does not exist. */
  readonly condition?: "NX";
  /** `PX`: the key's life in ms. */
  readonly expiration: { readonly type: "PX"; readonly value: number };
}

/**
 * The commands the store sends, as node-redis offers them (with bulk
 * replies as `Buffer`s); replies are `unknown` until the store checks them.
 */
export interface RedisCommands {
  /** `PING`. */
  ping(): Promise<unknown>;
  /** `GETRANGE key start end`: at most end − start + 1 bytes, "" for a missing key. */
  getRange(key: string, start: number, end: number): Promise<unknown>;
  /** `SET key value [NX] PX ms`: "OK", or null when NX found the key. */
  set(key: string, value: string | Buffer, options: SetOptions): Promise<unknown>;
  /** `EVAL script numkeys keys… args…`. */
  eval(
    script: string,
    options: { keys: string[]; arguments: (string | Buffer)[] },
  ): Promise<unknown>;
}

/** The client library. */
type Library = typeof RedisClient;

let library: Promise<Library> | undefined;

/**
 * The client library, loaded on the first connection: only a proxy given a
 * shared cache pays the time and memory it takes to load (about 0.2 s and
 * 20 MB), not every subcommand.
 */
function loadLibrary(): Promise<Library> {
  library ??= import("@redis/client");
  return library;
}

/** A subscriber connection. */
type SubscriberClient = ReturnType<typeof subscriberClient>;

/** A command connection. */
type CommandClient = ReturnType<typeof commandClient>;

function commandClient(redis: Library, options: LinkOptions) {
  return redis.createClient({
    ...clientOptions(options),
    commandOptions: { timeout: options.timeoutMs, rejectInFlight: true },
  }).withTypeMapping({ [redis.RESP_TYPES.BLOB_STRING]: Buffer });
}

function subscriberClient(redis: Library, options: LinkOptions) {
  return redis.createClient(clientOptions(options));
}

function clientOptions(options: LinkOptions) {
  const { endpoint } = options;
  return {
    socket: {
      host: endpoint.host,
      port: endpoint.port,
      connectTimeout: options.connectTimeoutMs,
      reconnectStrategy: false as const,
      // TLS checks the certificate against the host; SNI carries names only, not addresses.
      ...(endpoint.tls
        ? {
          tls: true as const,
          ...(isIP(endpoint.host) === 0 ? { servername: endpoint.host } : {}),
        }
        : {}),
    },
    username: endpoint.username,
    password: endpoint.password,
    database: endpoint.database,
    name: CLIENT_NAME,
    // RESP2 works with every Redis and Valkey version (RESP3 needs Redis 6).
    RESP: 2 as const,
    // "disabled" also spares the client reading two REDIS_* environment variables.
    maintNotifications: "disabled" as const,
    commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
    // Commands fail at once while disconnected instead of waiting in a queue.
    disableOfflineQueue: true,
  };
}

/** The message of an error, or its text. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One pair of connections, and the library that made them. */
interface Pair {
  readonly client: CommandClient;
  readonly subscriber: SubscriberClient;
  readonly redis: Library;
}

/** The connections, the circuit and the counters. */
export class RedisLink {
  readonly #options: LinkOptions;
  readonly #circuit: Circuit;
  readonly #counts = { ops: 0, failures: 0, timeouts: 0, skipped: 0 };
  #pair: Pair | undefined;
  #probeTimer: ReturnType<typeof setTimeout> | undefined;
  #probing: Promise<void> | undefined;
  #probeAttempt = 0;
  #closed = false;

  /** Starts connecting in the background; state changes go to `options.onState`. */
  constructor(options: LinkOptions) {
    this.#options = options;
    this.#circuit = new Circuit(options.onState);
    this.#scheduleProbe(0);
  }

  /** The circuit's state. */
  get state(): StoreState {
    return this.#circuit.state;
  }

  /** The totals so far. */
  get counters(): StoreCounters {
    return { ...this.#counts };
  }

  /**
   * Runs `op` on the command connection within the timeout; `undefined` when
   * the circuit is open, on a timeout or on an error. An error reply (e.g.
   * `WRONGTYPE`) is counted but leaves the circuit closed: Redis is there.
   */
  async run<T>(op: (commands: RedisCommands) => Promise<T>): Promise<T | undefined> {
    const pair = this.#pair;
    if (this.#closed || this.#circuit.state !== "up" || pair === undefined) {
      this.#counts.skipped++;
      return undefined;
    }
    const epoch = this.#circuit.epoch;
    this.#counts.ops++;
    const settled = await settleWithin(attempt(() => op(pair.client)), this.#options.timeoutMs);
    if (settled.kind === "value") return settled.value;
    if (settled.kind === "timeout") {
      this.#counts.timeouts++;
      this.#trip(this.#noReply(), epoch);
    } else {
      this.#counts.failures++;
      if (!(settled.error instanceof pair.redis.ErrorReply)) {
        this.#trip(messageOf(settled.error), epoch);
      }
    }
    return undefined;
  }

  /** Stops probing and drops both connections at once (no waiting for replies). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#probeTimer);
    this.#drop();
    // A probe under way ends at once on the dropped connections; its timer goes with it.
    await this.#probing;
  }

  #noReply(): string {
    return `no reply from Redis within ${this.#options.timeoutMs} ms`;
  }

  /** An operation failed or a connection was lost: down, and probe after a pause. */
  #trip(detail: string, epoch: number): void {
    if (this.#closed || !this.#circuit.down(detail, epoch)) return;
    this.#probeAttempt = 0;
    this.#scheduleProbe(backoffDelay(0, this.#options.backoff));
  }

  #scheduleProbe(ms: number): void {
    if (this.#closed || this.#probeTimer !== undefined || this.#probing !== undefined) return;
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = undefined;
      this.#probing = this.#probe();
    }, ms);
  }

  /** Connects if need be and PINGs: up on a reply, else down and another probe later. */
  async #probe(): Promise<void> {
    const limit = this.#options.connectTimeoutMs + this.#options.timeoutMs;
    const settled = await settleWithin(attempt(() => this.#ping()), limit);
    this.#probing = undefined;
    if (this.#closed) return;
    if (settled.kind === "value") {
      const { host, port } = this.#options.endpoint;
      this.#circuit.up(`Redis at ${host}:${port} answers`);
      this.#probeAttempt = 0;
      return;
    }
    const detail = settled.kind === "timeout"
      ? `no connection to Redis within ${limit} ms`
      : messageOf(settled.error);
    // The first probe that fails reports "down"; later ones find it down already.
    this.#circuit.down(detail, this.#circuit.epoch);
    this.#drop();
    this.#scheduleProbe(backoffDelay(++this.#probeAttempt, this.#options.backoff));
  }

  async #ping(): Promise<void> {
    const current = this.#pair;
    const pair = current?.client.isReady && current.subscriber.isReady
      ? current
      : await this.#open();
    await pair.client.ping();
  }

  /** A fresh pair of connections (the old one dropped), connected and subscribed. */
  async #open(): Promise<Pair> {
    this.#drop();
    const redis = await loadLibrary();
    const pair = {
      client: commandClient(redis, this.#options),
      subscriber: subscriberClient(redis, this.#options),
      redis,
    };
    this.#pair = pair;
    const lost = (error: unknown): void => {
      // Only the current pair's trouble counts; a dropped pair's is old news.
      if (this.#pair === pair) this.#trip(messageOf(error), this.#circuit.epoch);
    };
    pair.client.on("error", lost);
    pair.subscriber.on("error", lost);
    await Promise.all([pair.client.connect(), pair.subscriber.connect()]);
    await pair.subscriber.subscribe(this.#options.channel, this.#options.onMessage);
    return pair;
  }

  /** Destroys the current connections, if any (their pending commands fail at once). */
  #drop(): void {
    const pair = this.#pair;
    this.#pair = undefined;
    pair?.client.destroy();
    pair?.subscriber.destroy();
  }
}

/** Runs `op`, turning a synchronous throw into a rejection. */
async function attempt<T>(op: () => Promise<T>): Promise<T> {
  return await op();
}
