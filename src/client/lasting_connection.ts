/**
 * A client's connection that outlives its TCP connections: a server closes
 * connections that stay idle (calcnet's after a minute), and a restarted
 * proxy or server closes them all, while a person at the prompt is still
 * thinking.
 *
 * @module
 */

import { ConnectionError } from "../base/mod.ts";
import type { RequestFlags } from "../protocol/mod.ts";
import {
  CalcConnection,
  type ConnectOptions,
  type Exchange,
  PeerClosedError,
} from "./connection.ts";

/**
 * Requests over one connection at a time, reopened when needed: when the
 * peer closed it while it was idle, the next request reconnects first,
 * quietly; when it closes just as a request goes out on a connection that
 * answered before, the request is sent once more on a new one. Only when
 * reconnecting fails does the caller hear of it.
 *
 * @example
 * ```ts
 * using conn = await LastingConnection.open("127.0.0.1", 9999);
 * const exchange = await conn.request(requestData("1 + 2"), DEFAULT_REQUEST_FLAGS);
 * ```
 */
export class LastingConnection implements Disposable {
  readonly #open: () => Promise<CalcConnection>;
  #conn: CalcConnection | null;
  /** Whether the current connection has answered a request. */
  #answered = false;
  /** "host:port" of the peer, as the course client prints it. */
  readonly peer: string;

  private constructor(conn: CalcConnection, open: () => Promise<CalcConnection>) {
    this.#conn = conn;
    this.#open = open;
    this.peer = conn.peer;
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
  ): Promise<LastingConnection> {
    const open = (): Promise<CalcConnection> => CalcConnection.open(hostname, port, options);
    return new LastingConnection(await open(), open);
  }

  /**
   * Sends a request and waits for its answer, reconnecting once if the peer
   * had closed the connection.
   *
   * @throws {ConnectionError} when reconnecting fails, or the connection fails otherwise.
   * @throws {ProtocolError} when the answer cannot be framed.
   */
  async request(data: Uint8Array, flags: RequestFlags): Promise<Exchange> {
    const current = this.#conn;
    if (current !== null && !current.endedWhileIdle) {
      try {
        return this.#done(await current.request(data, flags));
      } catch (error: unknown) {
        const retry = error instanceof PeerClosedError && this.#answered;
        this.#drop();
        // Closed as the request went out: it was not answered, so it may go again.
        if (!retry) throw error;
      }
    }
    this.#drop();
    const conn = await this.#reconnect();
    try {
      return this.#done(await conn.request(data, flags));
    } catch (error: unknown) {
      this.#drop();
      throw error;
    }
  }

  #done(exchange: Exchange): Exchange {
    this.#answered = true;
    return exchange;
  }

  async #reconnect(): Promise<CalcConnection> {
    try {
      this.#conn = await this.#open();
      return this.#conn;
    } catch (error: unknown) {
      if (!(error instanceof ConnectionError)) throw error;
      throw new ConnectionError(
        `the connection to ${this.peer} was closed, and reconnecting failed: ${error.message}`,
        { cause: error },
      );
    }
  }

  #drop(): void {
    this.#conn?.close();
    this.#conn = null;
    this.#answered = false;
  }

  /** Closes the connection (idempotent). */
  close(): void {
    this.#drop();
  }

  /** Closes the connection (`using`). */
  [Symbol.dispose](): void {
    this.close();
  }
}
