/**
 * A load generator for the protocol. Closed loop: each of N connections sends
 * one request, waits for the whole answer (framed by its total length), and
 * sends the next. Pipelined (`window` > 1): each connection keeps `window`
 * requests in flight, sending as many new ones, in one write, as answers came
 * back. Latencies go into a fixed-size {@linkcode Histogram} and answers are
 * read into one preallocated buffer per connection, so the generator itself
 * allocates nothing per request beyond what a socket read and write cost.
 *
 * @module
 */

import {
  FLAG_IS_REQUEST,
  FLAGS_OFFSET,
  HEADER_SIZE,
  MAX_PACKET_SIZE,
  Status,
  STATUS_MASK,
  totalLengthAt,
  writeAll,
} from "../protocol/mod.ts";
import { type ErrorKind, socketErrorKind } from "./error_kind.ts";
import { Histogram } from "./histogram.ts";
import { closeQuietly, connectWithin } from "../net/mod.ts";
import { setTimeout as sleep } from "node:timers/promises";

/** The default time an exchange (connecting included) may take before it counts as a timeout. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** How long a connection waits before retrying after a refused or impossible connect. */
const RECONNECT_BACKOFF_MS = 10;

/** A server or proxy under load. */
export interface LoadTarget {
  /** Its host. */
  readonly hostname: string;
  /** Its port. */
  readonly port: number;
}

/** Options of {@linkcode runLoad}. */
export interface LoadOptions extends LoadTarget {
  /**
   * Further targets beside `hostname`:`port` (e.g. proxies behind one shared
   * cache): connection i goes to target i modulo their number (round robin).
   */
  readonly moreTargets?: readonly LoadTarget[];
  /** Concurrent connections (each one request at a time). */
  readonly connections: number;
  /** Measure for this long; give this or `requests`. */
  readonly durationMs?: number;
  /** Measure this many requests in all; give this or `durationMs`. */
  readonly requests?: number;
  /** The request packets, sent in turn (one is the usual case). */
  readonly packets: readonly Uint8Array[];
  /**
   * Requests each connection keeps in flight (default 1: a closed loop).
   * With more, each connection sends `packets` in turn from the first, so
   * answers can be counted by packet ({@linkcode LoadResult.okByPacket}).
   */
  readonly window?: number;
  /** Open a new connection for every request (the course client's way). */
  readonly newConnection?: boolean;
  /** The target echoes requests: any framed answer as long as the request is right. */
  readonly echo?: boolean;
  /** Run this long first without counting anything (JIT warm-up, connection setup). */
  readonly warmupMs?: number;
  /** An exchange not done after this long counts as a timeout (default {@linkcode DEFAULT_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
  /** Aborting it stops sending; requests in flight finish. */
  readonly signal?: AbortSignal;
  /** Called every `progressIntervalMs` while the load runs. */
  readonly onProgress?: (progress: LoadProgress) => void;
  /** How often `onProgress` is called (default 250 ms). */
  readonly progressIntervalMs?: number;
}

/** A progress report while the load runs. */
export interface LoadProgress {
  /** Whether the counters are live yet. */
  readonly phase: "warmup" | "measuring";
  /** Milliseconds since measuring began (0 during the warm-up). */
  readonly elapsedMs: number;
  /** Successful exchanges so far. */
  readonly ok: number;
  /** Failed exchanges so far. */
  readonly errors: number;
}

/** Latency figures in milliseconds. */
export interface LatencySummary {
  /** Median. */
  readonly p50: number;
  /** 90th percentile. */
  readonly p90: number;
  /** 99th percentile. */
  readonly p99: number;
  /** Largest. */
  readonly max: number;
  /** Mean. */
  readonly mean: number;
}

/** What one target of a load run answered. */
export interface TargetTally {
  /** Its "host:port". */
  readonly target: string;
  /** Exchanges it answered with status 200 (or echoed). */
  readonly ok: number;
  /** Exchanges with it that failed. */
  readonly errorCount: number;
}

/** What a load run measured. */
export interface LoadResult {
  /** "host:port" of the target (of each target, joined by ", ", when several). */
  readonly target: string;
  /** `ok` and `errorCount` by target, in the order given (one entry with one target). */
  readonly byTarget: readonly TargetTally[];
  /** Concurrent connections. */
  readonly connections: number;
  /** Requests in flight per connection. */
  readonly window: number;
  /** Whether every request had its own connection. */
  readonly newConnection: boolean;
  /** Milliseconds from the start of measuring until the last answer. */
  readonly elapsedMs: number;
  /** Exchanges answered with status 200 (or echoed). */
  readonly ok: number;
  /** `ok` by the index of the request's packet in `packets`. */
  readonly okByPacket: readonly number[];
  /** `ok` per second. */
  readonly requestsPerSecond: number;
  /** Latency of every whole answer (connecting included with `newConnection`). */
  readonly latencyMs: LatencySummary;
  /** Failed exchanges by kind. */
  readonly errors: Readonly<Partial<Record<ErrorKind, number>>>;
  /** Failed exchanges in all. */
  readonly errorCount: number;
  /** Request bytes written. */
  readonly bytesSent: number;
  /** Answer bytes received (whole packets). */
  readonly bytesReceived: number;
}

/** One connection's state, visible to the watchdog. */
interface Slot {
  /** The index of its target in the run's targets. */
  readonly target: number;
  /** The open connection, if any. */
  conn: Deno.TcpConn | null;
  /** When the exchange in flight started (performance.now()), or 0. */
  since: number;
  /** The watchdog closed the connection because the exchange took too long. */
  timedOut: boolean;
  /** Received bytes: [start, end) not yet consumed; room for the largest packet. */
  readonly buffer: Uint8Array;
  start: number;
  end: number;
}

/** A failure found in the answer itself (not thrown by the socket). */
class AnswerError extends Error {
  /** The class name, as messages and logs show it. */
  override name: string = "AnswerError";
  /** How it counts. */
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind) {
    super(kind);
    this.kind = kind;
  }
}

/** One run of the closed loop: shared counters, the connections and the clock. */
class LoadRun {
  readonly #options: LoadOptions;
  readonly #targets: readonly LoadTarget[];
  readonly #latency = new Histogram();
  readonly #errors = new Map<ErrorKind, number>();
  readonly #slots: Slot[] = [];
  readonly #timeoutMs: number;
  #measuring: boolean;
  #warmupEnds: number;
  #measureStart = 0;
  #stopping = false;
  #issued = 0;
  #nextPacket = 0;
  #ok = 0;
  #okByPacket: number[];
  #okByTarget: number[];
  #errorsByTarget: number[];
  #errorCount = 0;
  #bytesSent = 0;
  #bytesReceived = 0;

  /** Pipelined runs: the packets in turn, repeated, so that any `window` of them is one slice. */
  readonly #sequence: PacketSequence | undefined;

  constructor(options: LoadOptions) {
    this.#options = options;
    this.#targets = [options, ...(options.moreTargets ?? [])];
    this.#okByPacket = options.packets.map(() => 0);
    this.#okByTarget = this.#targets.map(() => 0);
    this.#errorsByTarget = this.#targets.map(() => 0);
    this.#sequence = (options.window ?? 1) > 1
      ? packetSequence(options.packets, options.window ?? 1)
      : undefined;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const now = performance.now();
    this.#measuring = (options.warmupMs ?? 0) <= 0;
    this.#warmupEnds = now + (options.warmupMs ?? 0);
    if (this.#measuring) this.#measureStart = now;
  }

  async run(): Promise<LoadResult> {
    const options = this.#options;
    const onAbort = (): void => {
      this.#stopping = true;
    };
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const watchdog = setInterval(() => this.#watch(), Math.min(100, this.#timeoutMs / 4));
    const progress = options.onProgress === undefined ? undefined : setInterval(
      () => options.onProgress?.(this.#progress()),
      options.progressIntervalMs ?? 250,
    );
    try {
      const workers: Promise<void>[] = [];
      for (let index = 0; index < options.connections; index++) {
        const slot: Slot = {
          target: index % this.#targets.length,
          conn: null,
          since: 0,
          timedOut: false,
          buffer: new Uint8Array(MAX_PACKET_SIZE),
          start: 0,
          end: 0,
        };
        this.#slots.push(slot);
        workers.push(this.#sequence === undefined ? this.#work(slot) : this.#pipeline(slot));
      }
      await Promise.all(workers);
    } finally {
      clearInterval(watchdog);
      if (progress !== undefined) clearInterval(progress);
      options.signal?.removeEventListener("abort", onAbort);
      for (const slot of this.#slots) if (slot.conn !== null) closeQuietly(slot.conn);
    }
    return this.#result(performance.now());
  }

  #progress(): LoadProgress {
    return {
      phase: this.#measuring ? "measuring" : "warmup",
      elapsedMs: this.#measuring ? performance.now() - this.#measureStart : 0,
      ok: this.#ok,
      errors: this.#errorCount,
    };
  }

  #result(end: number): LoadResult {
    const elapsedMs = this.#measuring ? end - this.#measureStart : 0;
    const latency = this.#latency;
    const names = this.#targets.map(({ hostname, port }) => `${hostname}:${port}`);
    return {
      target: names.join(", "),
      byTarget: names.map((target, i) => ({
        target,
        ok: this.#okByTarget[i] ?? 0,
        errorCount: this.#errorsByTarget[i] ?? 0,
      })),
      connections: this.#options.connections,
      window: this.#options.window ?? 1,
      newConnection: this.#options.newConnection ?? false,
      elapsedMs,
      ok: this.#ok,
      okByPacket: [...this.#okByPacket],
      requestsPerSecond: elapsedMs > 0 ? this.#ok / (elapsedMs / 1000) : 0,
      latencyMs: {
        p50: latency.percentile(0.5),
        p90: latency.percentile(0.9),
        p99: latency.percentile(0.99),
        max: latency.max,
        mean: latency.mean,
      },
      errors: Object.fromEntries(this.#errors),
      errorCount: this.#errorCount,
      bytesSent: this.#bytesSent,
      bytesReceived: this.#bytesReceived,
    };
  }

  /**
   * The time to send another request at, or undefined to stop; switches from
   * warm-up to measuring on the way.
   */
  #take(): number | undefined {
    if (this.#stopping) return undefined;
    const now = performance.now();
    if (!this.#measuring) {
      if (now < this.#warmupEnds) return now;
      this.#measuring = true;
      this.#measureStart = now;
      this.#latency.reset();
      this.#errors.clear();
      this.#okByPacket.fill(0);
      this.#okByTarget.fill(0);
      this.#errorsByTarget.fill(0);
      this.#ok =
        this.#errorCount =
        this.#bytesSent =
        this.#bytesReceived =
          0;
    }
    const { durationMs, requests } = this.#options;
    if (durationMs !== undefined && now - this.#measureStart >= durationMs) {
      this.#stopping = true;
      return undefined;
    }
    if (requests !== undefined) {
      if (this.#issued >= requests) {
        this.#stopping = true;
        return undefined;
      }
      this.#issued++;
    }
    return now;
  }

  /** Closes connections whose exchange has taken too long; their worker counts a timeout. */
  #watch(): void {
    const now = performance.now();
    for (const slot of this.#slots) {
      if (slot.since !== 0 && now - slot.since > this.#timeoutMs && slot.conn !== null) {
        slot.timedOut = true;
        closeQuietly(slot.conn);
      }
    }
  }

  async #work(slot: Slot): Promise<void> {
    const { packets, newConnection } = this.#options;
    for (let started = this.#take(); started !== undefined; started = this.#take()) {
      const index = this.#nextPacket++ % packets.length;
      const packet = packets[index] as Uint8Array;
      slot.since = started;
      slot.timedOut = false;
      let failure: ErrorKind | undefined;
      try {
        const conn = slot.conn ?? await this.#connect(slot);
        await writeAll(conn, packet);
        this.#bytesSent += packet.length;
        failure = await this.#answer(slot, conn, packet);
        this.#latency.record(performance.now() - started);
      } catch (error: unknown) {
        failure = error instanceof AnswerError
          ? error.kind
          : slot.timedOut
          ? "timeout"
          : socketErrorKind(error);
        if (failure === undefined) throw error;
      }
      slot.since = 0;
      this.#count(slot, index, failure);
      // A status error is a whole answer on a healthy connection; anything else ends it.
      const healthy = failure === undefined || failure.startsWith("status");
      if (slot.conn !== null && (newConnection || !healthy)) {
        closeQuietly(slot.conn);
        slot.conn = null;
        slot.start = slot.end = 0;
      }
      if (failure === "refused" || failure === "no-local-port") await sleep(RECONNECT_BACKOFF_MS);
    }
  }

  /** Counts one finished exchange of the packet at `index` on the slot's connection. */
  #count(slot: Slot, index: number, failure: ErrorKind | undefined): void {
    if (failure === undefined) {
      this.#ok++;
      this.#okByPacket[index] = (this.#okByPacket[index] ?? 0) + 1;
      this.#okByTarget[slot.target] = (this.#okByTarget[slot.target] ?? 0) + 1;
    } else {
      this.#errorCount++;
      this.#errorsByTarget[slot.target] = (this.#errorsByTarget[slot.target] ?? 0) + 1;
      this.#errors.set(failure, (this.#errors.get(failure) ?? 0) + 1);
    }
  }

  /**
   * A pipelined connection: `window` requests in flight, topped up in one
   * write as answers come back. A failure of the connection counts every
   * request in flight and ends this connection's share of the load.
   */
  async #pipeline(slot: Slot): Promise<void> {
    const sequence = this.#sequence as PacketSequence;
    const window = this.#options.window ?? 1;
    const count = this.#options.packets.length;
    const sentAt = new Float64Array(window);
    let oldest = 0;
    let inFlight = 0;
    let sentTotal = 0;
    let answered = 0;
    try {
      const conn = await this.#connect(slot);
      for (;;) {
        let more = 0;
        while (inFlight + more < window) {
          const at = this.#take();
          if (at === undefined) break;
          sentAt[(oldest + inFlight + more) % window] = at;
          more++;
        }
        if (more > 0) {
          const bytes = sequence.slice(sentTotal % count, more);
          await writeAll(conn, bytes);
          this.#bytesSent += bytes.length;
          inFlight += more;
          sentTotal += more;
        }
        if (inFlight === 0) return;
        slot.since = sentAt[oldest] ?? 0;
        const done = await this.#answers(slot, conn, (failure) => {
          this.#latency.record(performance.now() - (sentAt[oldest] ?? 0));
          this.#count(slot, answered++ % count, failure);
          oldest = (oldest + 1) % window;
        });
        inFlight -= done;
      }
    } catch (error: unknown) {
      const failure = error instanceof AnswerError
        ? error.kind
        : slot.timedOut
        ? "timeout"
        : socketErrorKind(error);
      if (failure === undefined) throw error;
      for (; inFlight > 0; inFlight--) this.#count(slot, answered++ % count, failure);
    } finally {
      slot.since = 0;
    }
  }

  /**
   * Reads until at least one whole answer is in the slot's buffer, then
   * hands every whole answer there to `each` (with its failure kind, or
   * undefined for a success); returns how many.
   */
  async #answers(
    slot: Slot,
    conn: Deno.TcpConn,
    each: (failure: ErrorKind | undefined) => void,
  ): Promise<number> {
    await this.#fill(slot, conn, HEADER_SIZE);
    await this.#fill(slot, conn, frameLength(slot.buffer, slot.start));
    let done = 0;
    while (slot.end - slot.start >= HEADER_SIZE) {
      const length = frameLength(slot.buffer, slot.start);
      if (slot.end - slot.start < length) break;
      const flags = flagWordAt(slot.buffer, slot.start);
      slot.start += length;
      this.#bytesReceived += length;
      each(this.#options.echo ? undefined : answerFailure(flags));
      done++;
    }
    if (slot.start === slot.end) slot.start = slot.end = 0;
    return done;
  }

  async #connect(slot: Slot): Promise<Deno.TcpConn> {
    const target = this.#targets[slot.target] as LoadTarget;
    slot.conn = await connectWithin(
      target.hostname,
      target.port,
      this.#timeoutMs,
      () => new AnswerError("timeout"),
    );
    return slot.conn;
  }

  /**
   * Reads one whole answer into the slot's buffer and checks it. Returns the
   * failure kind of a framed answer that is not a success, else undefined.
   *
   * @throws {AnswerError} when the answer cannot be framed or never completes.
   */
  async #answer(
    slot: Slot,
    conn: Deno.TcpConn,
    request: Uint8Array,
  ): Promise<ErrorKind | undefined> {
    await this.#fill(slot, conn, HEADER_SIZE);
    const buffer = slot.buffer;
    const at = slot.start;
    const length = frameLength(buffer, at);
    await this.#fill(slot, conn, length);
    const flags = flagWordAt(buffer, at);
    slot.start += length;
    // Closed loop: bytes beyond the answer mean the peer sent something unasked.
    if (slot.start !== slot.end) throw new AnswerError("bad-frame");
    slot.start = slot.end = 0;
    this.#bytesReceived += length;
    if (this.#options.echo) return length === request.length ? undefined : "bad-frame";
    return answerFailure(flags);
  }

  /** Reads until the slot holds at least `count` unconsumed bytes. */
  async #fill(slot: Slot, conn: Deno.TcpConn, count: number): Promise<void> {
    while (slot.end - slot.start < count) {
      if (slot.buffer.length - slot.start < count) {
        slot.buffer.copyWithin(0, slot.start, slot.end);
        slot.end -= slot.start;
        slot.start = 0;
      }
      const read = await conn.read(slot.buffer.subarray(slot.end));
      if (read === null) throw new AnswerError("closed");
      slot.end += read;
    }
  }
}

/** The total length of the frame at `at`; a frame shorter than a header cannot be read on. */
function frameLength(buffer: Uint8Array, at: number): number {
  const length = totalLengthAt(buffer, at);
  if (length < HEADER_SIZE) throw new AnswerError("bad-frame");
  return length;
}

/** The flag word of the header at `at` (its bytes are in the buffer). */
function flagWordAt(buffer: Uint8Array, at: number): number {
  return (buffer[at + FLAGS_OFFSET] as number) << 8 | (buffer[at + FLAGS_OFFSET + 1] as number);
}

/** The failure an answer's flag word shows: none for a 200 response. */
function answerFailure(flags: number): ErrorKind | undefined {
  if ((flags & FLAG_IS_REQUEST) !== 0) throw new AnswerError("bad-frame");
  const status = flags & STATUS_MASK;
  return status === Status.Ok ? undefined : `status ${status}`;
}

/** The packets in turn, repeated, so that any run of up to `window` of them is one slice. */
interface PacketSequence {
  /** The `count` packets from the one at `index`, as one byte array. */
  slice(index: number, count: number): Uint8Array;
}

function packetSequence(packets: readonly Uint8Array[], window: number): PacketSequence {
  const rounds = Math.ceil(window / packets.length) + 1;
  const offsets: number[] = [0];
  const order: Uint8Array[] = [];
  for (let r = 0; r < rounds; r++) order.push(...packets);
  for (const packet of order) offsets.push((offsets.at(-1) ?? 0) + packet.length);
  const bytes = new Uint8Array(offsets.at(-1) ?? 0);
  order.forEach((packet, i) => bytes.set(packet, offsets[i] ?? 0));
  return {
    slice: (index, count) =>
      bytes.subarray(offsets[index] ?? 0, offsets[index + count] ?? bytes.length),
  };
}

/**
 * Runs a closed-loop (or pipelined) load against a server and returns what it measured.
 *
 * @example
 * ```ts
 * const result = await runLoad({
 *   hostname: "127.0.0.1", port: 9998, connections: 32, durationMs: 5000, packets: [request],
 * });
 * console.log(result.requestsPerSecond, result.latencyMs.p99);
 * ```
 * @throws {RangeError} when neither or both of `durationMs` and `requests` are given, or no packets.
 */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  if ((options.durationMs === undefined) === (options.requests === undefined)) {
    throw new RangeError("give exactly one of durationMs and requests");
  }
  if (options.packets.length === 0) throw new RangeError("no request packets to send");
  if (!Number.isSafeInteger(options.connections) || options.connections < 1) {
    throw new RangeError(`connections must be a positive integer, got ${options.connections}`);
  }
  return new LoadRun(options).run();
}
