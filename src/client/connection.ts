/**
 * A client connection to a server or proxy: one request after another,
 * each answered before the next is sent.
 *
 * @module
 */

import {
  ConnectionError,
  ConnectionTimeoutError,
  ProtocolError,
  settle,
  type Settled,
} from "../base/mod.ts";
import {
  decodeHeader,
  FrameError,
  type Header,
  IncompleteFrameError,
  PacketReader,
  type RequestFlags,
  requestPacket,
  writeAll,
} from "../protocol/mod.ts";
import { closeQuietly, connectWithin, isConnectFailure, isConnectionDrop } from "../net/mod.ts";

/** One request and its response. */
export interface Exchange {
  /** The request packet as sent. */
  readonly request: Uint8Array;
  /** The response packet as received. */
  readonly response: Uint8Array;
  /** The response's decoded header. */
  readonly header: Header;
  /** Milliseconds from sending to the full response. */
  readonly roundTripMs: number;
}

/**
 * The peer closed or reset the connection before any byte of an answer:
 * the request was not answered (a reused connection may try it again).
 */
export class PeerClosedError extends ConnectionError {
  /** The class's name, for messages. */
  override name = "PeerClosedError";
}

/** Options of {@linkcode CalcConnection.open}. */
export interface ConnectOptions {
  /** Give up connecting after this long. */
  readonly connectTimeoutMs?: number;
  /** Give up waiting for an answer after this long. */
  readonly answerTimeoutMs?: number;
  /** Millisecond clock for time stamps. */
  readonly clock?: () => number;
}

/**
 * A TCP connection speaking the protocol.
 *
 * @example
 * ```ts
 * using conn = await CalcConnection.open("127.0.0.1", 9999);
 * const exchange = await conn.request(encodeExpr(parseExpression("1 + 2")), DEFAULT_REQUEST_FLAGS);
 * ```
 */
export class CalcConnection implements Disposable {
  readonly #conn: Deno.TcpConn;
  readonly #reader: PacketReader;
  readonly #answerTimeoutMs: number;
  readonly #clock: () => number;
  #closed = false;
  /**
   * The read of the next packet, started as soon as the last answer came:
   * between requests the peer sends nothing, so when this read ends while
   * idle, the peer has closed the connection (an idle timeout, a restart).
   */
  /** How the read of the next packet ended: a packet, null at the end, or an error. */
  #next: Promise<Settled<Uint8Array | null>>;
  #busy = false;
  #endedWhileIdle = false;
  /** "host:port" of the peer, as the course client prints it. */
  readonly peer: string;

  private constructor(conn: Deno.TcpConn, peer: string, options: ConnectOptions) {
    this.#conn = conn;
    this.peer = peer;
    this.#reader = new PacketReader(conn);
    this.#answerTimeoutMs = options.answerTimeoutMs ?? 30_000;
    this.#clock = options.clock ?? Date.now;
    this.#next = this.#readNext();
  }

  /** Whether the peer closed (or reset) the connection while no request was waiting. */
  get endedWhileIdle(): boolean {
    return this.#endedWhileIdle;
  }

  #readNext(): Promise<Settled<Uint8Array | null>> {
    const next = settle(this.#reader.read());
    next.then(() => {
      if (!this.#busy) this.#endedWhileIdle = true;
    });
    return next;
  }

  /**
   * Connects to `hostname:port`.
   *
   * @throws {ConnectionError} when refused, unreachable or too slow.
   */
  static async open(
    hostname: string,
    port: number,
    options: ConnectOptions = {},
  ): Promise<CalcConnection> {
    const peer = `${hostname}:${port}`;
    const timeoutMs = options.connectTimeoutMs ?? 5_000;
    try {
      const conn = await connectWithin(
        hostname,
        port,
        timeoutMs,
        () =>
          new ConnectionTimeoutError(`cannot connect to ${peer}: no answer within ${timeoutMs} ms`),
      );
      return new CalcConnection(conn, peer, options);
    } catch (error: unknown) {
      if (error instanceof ConnectionError) throw error;
      if (isConnectFailure(error)) {
        throw new ConnectionError(`cannot connect to ${peer}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  /** Sends a request with `data` and `flags`, and waits for its response. */
  request(data: Uint8Array, flags: RequestFlags): Promise<Exchange> {
    return this.exchange(requestPacket(data, flags, this.#clock()));
  }

  /**
   * Sends `packet` as it is and waits for one packet back.
   *
   * @throws {PeerClosedError} when the peer closed or reset the connection
   * before any byte of the answer (also while it was idle, before sending).
   * @throws {ConnectionError} when the connection breaks mid-answer or times out.
   * @throws {ProtocolError} when the answer cannot be framed.
   */
  async exchange(packet: Uint8Array): Promise<Exchange> {
    if (this.#endedWhileIdle) {
      throw new PeerClosedError(`${this.peer} closed the connection while it was idle`);
    }
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let answered = false;
    this.#busy = true;
    try {
      await writeAll(this.#conn, packet);
      const settled = await Promise.race([
        this.#next,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(
              new ConnectionTimeoutError(
                `${this.peer} did not answer within ${this.#answerTimeoutMs} ms`,
              ),
            );
            this.close();
          }, this.#answerTimeoutMs);
        }),
      ]);
      answered = true;
      if (settled.kind === "error") throw settled.error;
      if (settled.value === null) {
        throw new PeerClosedError(`${this.peer} closed the connection without answering`);
      }
      return {
        request: packet,
        response: settled.value,
        header: this.#headerOf(settled.value),
        roundTripMs: performance.now() - started,
      };
    } catch (error: unknown) {
      throw this.#failure(error);
    } finally {
      clearTimeout(timer);
      this.#busy = false;
      // Only once the last read has ended may the next begin (one reader at a time).
      if (answered && !this.#closed) this.#next = this.#readNext();
    }
  }

  #headerOf(response: Uint8Array): Header {
    try {
      return decodeHeader(response).header;
    } catch (error: unknown) {
      if (error instanceof ProtocolError) {
        throw new ProtocolError(`${this.peer} sent ${error.message}`);
      }
      throw error;
    }
  }

  /** What a failure of the exchange is to the caller. */
  #failure(error: unknown): unknown {
    if (error instanceof IncompleteFrameError) {
      return new ConnectionError(`${this.peer} closed the connection in the middle of an answer`);
    }
    if (error instanceof FrameError) return new ProtocolError(`${this.peer} sent ${error.message}`);
    if (isConnectionDrop(error) && this.#reader.pending === 0) {
      return new PeerClosedError(`connection to ${this.peer} lost: ${error.message}`);
    }
    if (isConnectFailure(error)) {
      return new ConnectionError(`connection to ${this.peer} lost: ${error.message}`);
    }
    return error;
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }

  /** Closes it (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }
}
