/**
 * A client connection to a server or proxy: one request after another,
 * each answered before the next is sent.
 *
 * @module
 */

import { ConnectionError, ProtocolError } from "../errors.ts";
import { decodeHeader, encodePacket, type Header, unixSeconds } from "../protocol/header.ts";
import { FrameError } from "../protocol/frame_assembler.ts";
import { IncompleteFrameError, PacketReader, writeAll } from "../protocol/packet_stream.ts";
import { isConnectionDrop } from "../net/tcp_service.ts";
import { closeQuietly } from "../net/close_quietly.ts";

/** The flags of a request. */
export interface RequestFlags {
  /** S: ask for the steps. */
  readonly steps: boolean;
  /** C: the answer may be cached. */
  readonly cache: boolean;
  /** Cache control: the oldest cached answer accepted, in seconds (65535: any). */
  readonly maxAge: number;
}

/** The course client's defaults: steps, cacheable, any age. */
export const DEFAULT_REQUEST_FLAGS: RequestFlags = { steps: true, cache: true, maxAge: 65535 };

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
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connecting = Deno.connect({ hostname, port, transport: "tcp" });
    try {
      const conn = await Promise.race([
        connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new ConnectionError(`cannot connect to ${peer}: no answer within ${timeoutMs} ms`),
              ),
            timeoutMs,
          );
        }),
      ]);
      conn.setNoDelay(true);
      return new CalcConnection(conn, peer, options);
    } catch (error: unknown) {
      connecting.then((conn) => conn.close(), () => {});
      if (error instanceof ConnectionError) throw error;
      if (
        error instanceof Error &&
        (error instanceof Deno.errors.ConnectionRefused || isNetworkError(error))
      ) {
        throw new ConnectionError(`cannot connect to ${peer}: ${error.message}`);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a request with `data` and `flags`, and waits for its response. */
  request(data: Uint8Array, flags: RequestFlags): Promise<Exchange> {
    const packet = encodePacket(
      {
        timestamp: unixSeconds(this.#clock()),
        cache: flags.cache,
        steps: flags.steps,
        isRequest: true,
        status: 0,
        cacheControl: flags.maxAge,
      },
      data,
    );
    return this.exchange(packet);
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
              new ConnectionError(`${this.peer} did not answer within ${this.#answerTimeoutMs} ms`),
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
      if (isConnectionDrop(error) || isNetworkError(error)) {
        throw new ConnectionError(`connection to ${this.peer} lost: ${(error as Error).message}`);
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

  [Symbol.dispose](): void {
    this.close();
  }
}

function isNetworkError(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionRefused ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.TimedOut ||
    error instanceof Deno.errors.AddrNotAvailable ||
    error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.NetworkUnreachable ||
    error instanceof Deno.errors.PermissionDenied;
}
