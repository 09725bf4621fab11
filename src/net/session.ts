/**
 * One client connection of a TCP service: it reads packets as they come,
 * hands each to the handler at once (so a slow answer does not hold up the
 * ones behind it), writes the answers in request order — all that are ready
 * in one write — and enforces the connection's deadlines when the service's
 * sweeper asks.
 *
 * @module
 */

import { FrameAssembler, FrameError, HEADER_SIZE } from "../protocol/mod.ts";
import type { ConnectionLimits } from "./connection_limits.ts";
import type { ConnectionEvent, PacketHandler, Reply } from "./packet_handler.ts";
import type { TappedConnection } from "./connection_tap.ts";
import { closeQuietly } from "./close_quietly.ts";
import { isConnectionDrop } from "./network_errors.ts";

/** A clock read once per sweep instead of once per read or write. */
export interface CoarseClock {
  /** Milliseconds on the monotonic clock, as of the last tick. */
  readonly now: number;
}

/** The read buffer a connection starts with: most packets are far smaller. */
const INITIAL_BUFFER_BYTES = 2048;
/** The least free space offered to each read. */
const READ_CHUNK_BYTES = 2048;
/** Nothing to write: close without a word. */
const NO_BYTES = new Uint8Array(0);
/** No packet in progress. */
const NONE = -1;
/** Work on one connection's packets after which it lets the others have a turn. */
const TIME_SLICE_MS = 2;
/** The longest a connection rests after a slice of costly work. */
const MAX_REST_MS = 50;

/** An answer in request order: undefined until the handler has it. */
interface Slot {
  reply: Reply | undefined;
}

/** A request in hand this long (e.g. waiting on a stalled server) no longer protects its slot. */
export const LONG_WORK_MS = 1000;

/** How a connection holds its slot, for choosing whom to close at the connection limit. */
export interface SlotUse {
  /**
   * 0: an unfinished packet or a blocked write; 1: idle; 2: a request in
   * hand for a long time. Lower is closed first.
   */
  readonly rank: 0 | 1 | 2;
  /** Milliseconds it has been so. */
  readonly age: number;
}

/** A served connection. */
export class Session {
  /** The socket. */
  readonly conn: Deno.TcpConn;
  /** "host:port" of the peer. */
  readonly peer: string;
  /** Resolves once the connection is closed. */
  readonly done: Promise<void>;
  readonly #handler: PacketHandler;
  readonly #limits: ConnectionLimits;
  readonly #clock: CoarseClock;
  readonly #frames = new FrameAssembler(INITIAL_BUFFER_BYTES);
  readonly #queue: Slot[] = [];
  /** Handlers still working, awaited at shutdown even after the connection closed. */
  readonly #working = new Set<Promise<unknown>>();
  #finish: () => void = () => {};
  #reading = true;
  #writing = false;
  #closed = false;
  /** Why the connection closes once its answers are out. */
  #closeReason: string | undefined;
  #lastActivityAt: number;
  #lastReadAt: number;
  #packetStartedAt = NONE;
  #writeStartedAt = 0;
  /** Bytes read plus writes completed: whether anything happened between two sweeps. */
  #progress = 0;
  /** What a sweep that found a deadline passed saw (see {@linkcode Session.sweep}), if one did. */
  #strike: string | undefined;
  #resumeReading: (() => void) | undefined;
  #endRest: (() => void) | undefined;
  /** Not reading (answers wait to be written, or resting after costly work): no peer deadlines. */
  #paused = false;
  /** Complete packets left in the assembler when a time slice ran out. */
  #unserved = false;
  /** Bytes of the answers in the queue (ready ones). */
  #queuedBytes = 0;
  #peerClosed = false;
  readonly #tap: TappedConnection | undefined;

  /**
   * Serves `conn` with `handler` under `limits`; deadlines are judged by
   * `clock`; `tap`, when given, is told every read, write and the close.
   */
  constructor(
    conn: Deno.TcpConn,
    handler: PacketHandler,
    limits: ConnectionLimits,
    clock: CoarseClock,
    tap?: TappedConnection,
  ) {
    this.#tap = tap;
    this.conn = conn;
    const remote = conn.remoteAddr as Deno.NetAddr;
    this.peer = `${remote.hostname}:${remote.port}`;
    this.#handler = handler;
    this.#limits = limits;
    this.#clock = clock;
    this.#lastActivityAt = clock.now;
    this.#lastReadAt = clock.now;
    this.done = new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  /** Serves the connection until it closes; never rejects. */
  async run(): Promise<void> {
    try {
      this.conn.setNoDelay(true);
      while (this.#reading) {
        if (this.#backlogged()) await this.#pause(this.#drained());
        if (!this.#reading) break;
        if (!this.#unserved) {
          const count = await this.conn.read(this.#frames.writable(READ_CHUNK_BYTES));
          // Closed or given up meanwhile: these bytes are no longer ours to answer.
          if (!this.#reading) break;
          if (count === null) {
            this.#endOfStream();
            continue;
          }
          this.#received(count);
        }
        const spent = this.#serve();
        // Costly packets: rest about half as long, so that one connection
        // cannot keep the others waiting (it keeps two thirds of the CPU).
        if (spent >= TIME_SLICE_MS) await this.#pause(this.#rest(Math.min(spent / 2, MAX_REST_MS)));
      }
    } catch (error: unknown) {
      if (this.#closed) return;
      if (isConnectionDrop(error)) this.close("connection reset");
      else this.#failed(error);
    }
    await this.done;
  }

  /** Stops reading; closes now if idle, else once the answers in hand are written. */
  stop(reason: string): void {
    this.#stopReading(reason);
    this.#flush();
  }

  /** Resolves when every handler this connection started has finished. */
  async settled(): Promise<void> {
    while (this.#working.size > 0) await Promise.all(this.#working);
  }

  /** Closes the connection at once (idempotent). */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reading = false;
    closeQuietly(this.conn);
    this.#resumeReading?.();
    this.#endRest?.();
    this.#tap?.closed(this.#peerClosed ? "peer" : "us");
    this.#event({ kind: "close", peer: this.peer, reason });
    this.#finish();
  }

  /**
   * Acts on deadlines passed at `now`. A first sweep that finds one passed
   * only marks the connection; the next acts if nothing was read or written
   * in between (for a packet's total deadline: if that packet is still
   * unfinished), so bytes that a stalled event loop had not delivered yet
   * are not held against the peer.
   */
  sweep(now: number): void {
    const overdue = this.#overdue(now);
    if (overdue === undefined) {
      this.#strike = undefined;
      return;
    }
    // A gap or an idle spell ends with any progress; a packet's total
    // deadline only with that packet.
    const seen = overdue.total ? `packet ${this.#packetStartedAt}` : `progress ${this.#progress}`;
    if (this.#strike !== seen) {
      this.#strike = seen;
      return;
    }
    if (this.#writing || this.#frames.pending === 0) this.close(overdue.reason);
    else this.#giveUp(overdue.reason, true);
  }

  /**
   * How this connection holds its slot, or undefined while it is working on
   * a request (unless the work has taken longer than {@linkcode LONG_WORK_MS}).
   */
  slotUse(now: number): SlotUse | undefined {
    if (this.#closed) return undefined;
    if (this.#writing) return { rank: 0, age: now - this.#writeStartedAt };
    if (this.#queue.length > 0) {
      const age = now - this.#lastActivityAt;
      return age >= LONG_WORK_MS ? { rank: 2, age } : undefined;
    }
    if (this.#frames.pending > 0) return { rank: 0, age: now - this.#packetStartedAt };
    return { rank: 1, age: now - this.#lastActivityAt };
  }

  #overdue(now: number): { reason: string; total?: boolean } | undefined {
    const limits = this.#limits;
    if (this.#closed) return undefined;
    if (this.#writing) {
      return now - this.#writeStartedAt >= limits.writeTimeoutMs
        ? { reason: `the peer took no bytes for ${limits.writeTimeoutMs} ms` }
        : undefined;
    }
    if (!this.#reading || this.#paused) return undefined;
    if (this.#frames.pending > 0) {
      if (now - this.#lastReadAt >= limits.frameTimeoutMs) {
        return { reason: `no more bytes for ${limits.frameTimeoutMs} ms` };
      }
      if (now - this.#packetStartedAt >= limits.packetTimeoutMs) {
        return { reason: `packet unfinished after ${limits.packetTimeoutMs} ms`, total: true };
      }
      return undefined;
    }
    const idle = this.#queue.length === 0 && now - this.#lastActivityAt >= limits.idleTimeoutMs;
    return idle ? { reason: "idle timeout" } : undefined;
  }

  #received(count: number): void {
    this.#tap?.received(this.#frames.writable(0).subarray(0, count));
    this.#frames.commit(count);
    this.#progress += count;
    this.#lastActivityAt = this.#clock.now;
    this.#lastReadAt = this.#clock.now;
  }

  /**
   * Answers the complete packets received, until they run out or a time
   * slice is used up (then {@linkcode Session.#unserved} is set). Returns
   * the milliseconds spent.
   */
  #serve(): number {
    const started = performance.now();
    const now = this.#clock.now;
    let completed = false;
    this.#unserved = false;
    try {
      const frames = this.#frames;
      for (let packet = frames.nextView(); packet !== null; packet = frames.nextView()) {
        completed = true;
        this.#dispatch(packet);
        if (!this.#reading) break;
        // The clock is read only when another packet may follow.
        if (frames.pending >= HEADER_SIZE && performance.now() - started >= TIME_SLICE_MS) {
          this.#unserved = true;
          break;
        }
      }
    } catch (error: unknown) {
      if (!(error instanceof FrameError)) throw error;
      this.#giveUp(error.message, false);
      return performance.now() - started;
    }
    if (this.#frames.pending === 0) this.#packetStartedAt = NONE;
    else if (completed || this.#packetStartedAt === NONE) this.#packetStartedAt = now;
    this.#flush();
    return performance.now() - started;
  }

  /** Waits for `until` with deadlines suspended: the wait is ours, not the peer's. */
  async #pause(until: Promise<void>): Promise<void> {
    this.#paused = true;
    try {
      await until;
    } finally {
      this.#paused = false;
    }
  }

  /**
   * Hands `packet`, a view into the read buffer, to the handler. A handler
   * that answers later may still be reading it, and an answer may be (a view
   * of) the packet itself: then the buffer is lent (never written again).
   */
  #dispatch(packet: Uint8Array): void {
    let reply: Reply | Promise<Reply>;
    try {
      reply = this.#handler.handle(packet, this.peer);
    } catch (error: unknown) {
      reply = this.#internal(error);
    }
    if (reply instanceof Promise || reply.packet.buffer === packet.buffer) this.#frames.lend();
    if (reply instanceof Promise) {
      const slot: Slot = { reply: undefined };
      this.#queue.push(slot);
      const working = reply.then(
        (answer) => {
          slot.reply = answer;
          this.#queuedBytes += answer.packet.length;
        },
        (error: unknown) => {
          slot.reply = this.#internal(error);
        },
      ).then(() => {
        this.#working.delete(working);
        this.#flush();
      });
      this.#working.add(working);
      return;
    }
    this.#queue.push({ reply });
    this.#queuedBytes += reply.packet.length;
    if (reply.close) this.#stopReading("closed after an error");
  }

  /** The protocol's answer to a failure of our own; the connection closes after it. */
  #internal(error: unknown): Reply {
    this.#event({ kind: "error", peer: this.peer, error });
    let packet: Uint8Array | null = null;
    try {
      packet = this.#handler.internalError(error, this.peer);
    } catch (second: unknown) {
      this.#event({ kind: "error", peer: this.peer, error: second });
    }
    this.#stopReading("closed after an internal error");
    return { packet: packet ?? NO_BYTES, close: true };
  }

  /** Answers the bytes that can no longer be framed, after the answers before them; then closes. */
  #giveUp(reason: string, timedOut: boolean): void {
    this.#stopReading(reason);
    let packet: Uint8Array | null = null;
    try {
      const received = this.#frames.pendingBytes();
      packet = this.#handler.unframeable(received, reason, this.peer, timedOut);
    } catch (error: unknown) {
      this.#queue.push({ reply: this.#internal(error) });
      this.#flush();
      return;
    }
    this.#queue.push({ reply: { packet: packet ?? NO_BYTES, close: true } });
    this.#flush();
  }

  #endOfStream(): void {
    this.#peerClosed = true;
    if (this.#frames.pending > 0) this.#giveUp("peer closed in the middle of a packet", false);
    else this.stop("peer closed");
  }

  #stopReading(reason: string): void {
    this.#reading = false;
    this.#closeReason ??= reason;
    this.#resumeReading?.();
    this.#endRest?.();
  }

  /** Writes every answer ready at the head of the queue, in one write. */
  #flush(): void {
    if (this.#writing || this.#closed) return;
    const queue = this.#queue;
    let count = 0;
    let bytes = 0;
    let close = false;
    for (const slot of queue) {
      if (slot.reply === undefined) break;
      count++;
      bytes += slot.reply.packet.length;
      if (slot.reply.close) {
        close = true;
        break;
      }
    }
    if (count === 0) {
      if (queue.length === 0 && !this.#reading) this.close(this.#closeReason ?? "closed");
      return;
    }
    const packet = count === 1
      ? (queue[0] as Slot).reply?.packet as Uint8Array
      : join(queue, count, bytes);
    // Answers after a closing one are never written.
    if (close) queue.length = 0;
    else queue.splice(0, count);
    this.#queuedBytes = Math.max(0, this.#queuedBytes - bytes);
    if (close) this.#stopReading("closed after an error");
    if (!this.#backlogged()) this.#resumeReading?.();
    this.#write(packet);
  }

  #write(packet: Uint8Array): void {
    this.#writing = true;
    this.#writeStartedAt = this.#clock.now;
    this.#writeFrom(packet, 0);
  }

  /** Writes `bytes` from `offset` on, then the next answers (one promise per write, no more). */
  #writeFrom(bytes: Uint8Array, offset: number): void {
    this.conn.write(offset === 0 ? bytes : bytes.subarray(offset)).then(
      (written) => {
        this.#tap?.sent(bytes.subarray(offset, offset + written));
        this.#progress++;
        if (offset + written < bytes.length) return this.#writeFrom(bytes, offset + written);
        this.#writing = false;
        this.#lastActivityAt = this.#clock.now;
        this.#flush();
      },
      (error: unknown) => {
        this.#writing = false;
        if (this.#closed) return;
        if (isConnectionDrop(error)) this.close("connection reset");
        else this.#failed(error);
      },
    );
  }

  /** Whether so many answers wait (or their bytes) that reading more must wait. */
  #backlogged(): boolean {
    return this.#queue.length >= this.#limits.maxPipelined ||
      this.#queuedBytes >= this.#limits.maxPendingBytes;
  }

  /** Resolves when the queue has room again, or the connection stops reading. */
  /**
   * Resolves after `ms`, or at once when the connection stops reading. A
   * read of bytes already waiting resolves without the runtime looking at
   * other sockets; only an idle moment (a timer, not a zero-delay turn) lets
   * the other connections' bytes and new connections in.
   */
  #rest(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#endRest?.(), ms);
      this.#endRest = () => {
        clearTimeout(timer);
        this.#endRest = undefined;
        resolve();
      };
    });
  }

  #drained(): Promise<void> {
    return new Promise((resolve) => {
      this.#resumeReading = () => {
        this.#resumeReading = undefined;
        resolve();
      };
    });
  }

  /** A failure of our own outside a handler: told to the operator, then the connection closed. */
  #failed(error: unknown): void {
    this.#event({ kind: "error", peer: this.peer, error });
    this.close("closed after an internal error");
  }

  #event(event: ConnectionEvent): void {
    try {
      this.#handler.event?.(event);
    } catch {
      // A failing logger must not take the connection (or the process) with it.
    }
  }
}

/** The packets of the first `count` slots, one after the other. */
function join(queue: readonly Slot[], count: number, bytes: number): Uint8Array {
  const joined = new Uint8Array(bytes);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const packet = (queue[i] as Slot).reply?.packet as Uint8Array;
    joined.set(packet, offset);
    offset += packet.length;
  }
  return joined;
}
