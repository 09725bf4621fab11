/**
 * A client connection to a server or proxy: one request after another,
 * each answered before the next is sent.
 *
 * @module
 */

import { ConnectionError, ConnectionTimeoutError, ProtocolError } from "../base/mod.ts";
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
import { closeQuietly, connectWithin, isConnectFailure } from "../net/mod.ts";

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
  /** "host:port" of the peer, as the course client prints it. */
  readonly peer: string;

  private constructor(conn: Deno.TcpConn, peer: string, options: ConnectOptions) {
    this.#conn = conn;
    this.peer = peer;
    this.#reader = new PacketReader(conn);
    this.#answerTimeoutMs = options.answerTimeoutMs ?? 30_000;
    this.#clock = options.clock ?? Date.now;
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
   * @throws {ConnectionError} when the connection breaks, closes or times out.
   * @throws {ProtocolError} when the answer cannot be framed.
   */
  async exchange(packet: Uint8Array): Promise<Exchange> {
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await writeAll(this.#conn, packet);
      const reading = this.#reader.read();
      // After a timeout the read fails when the socket closes: expected.
      reading.catch(() => {});
      const response = await Promise.race([
        reading,
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
      if (response === null) {
        throw new ConnectionError(`${this.peer} closed the connection without answering`);
      }
      let header: Header;
      try {
        header = decodeHeader(response).header;
      } catch (error: unknown) {
        if (error instanceof ProtocolError) {
          throw new ProtocolError(`${this.peer} sent ${error.message}`);
        }
        throw error;
      }
      return { request: packet, response, header, roundTripMs: performance.now() - started };
    } catch (error: unknown) {
      if (error instanceof IncompleteFrameError) {
        throw new ConnectionError(`${this.peer} closed the connection in the middle of an answer`);
      }
      if (error instanceof FrameError) {
        throw new ProtocolError(`${this.peer} sent ${error.message}`);
      }
      if (isConnectFailure(error)) {
        throw new ConnectionError(`connection to ${this.peer} lost: ${error.message}`);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
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
