/**
 * The proxy's connections to the server: a small pool of persistent
 * connections, one request at a time on each.
 *
 * @module
 */

import { ConnectionError, ConnectionTimeoutError, ProtocolError } from "../errors.ts";
import { CalcConnection, type Exchange } from "../client/connection.ts";

/** Why the server gave no usable answer. */
export type UpstreamFailure = "refused" | "timeout" | "broken" | "invalid";

/** The server could not be reached, did not answer in time, or answered nonsense. */
export class UpstreamError extends Error {
  override name = "UpstreamError";
  /** What went wrong. */
  readonly failure: UpstreamFailure;

  constructor(failure: UpstreamFailure, message: string) {
    super(message);
    this.failure = failure;
  }
}

/** Where the server is and how long to wait for it. */
export interface UpstreamOptions {
  /** Server host. */
  readonly hostname: string;
  /** Server port. */
  readonly port: number;
  /** Give up connecting after this long. */
  readonly connectTimeoutMs: number;
  /** Give up waiting for an answer after this long. */
  readonly answerTimeoutMs: number;
  /** Idle connections kept for reuse. */
  readonly maxIdle?: number;
}

/**
 * Forwards request packets to the server over pooled connections.
 *
 * @example
 * ```ts
 * const upstream = new Upstream({ hostname: "127.0.0.1", port: 9999, connectTimeoutMs: 2000, answerTimeoutMs: 10000 });
 * const exchange = await upstream.forward(requestPacket);
 * upstream.close();
 * ```
 */
export class Upstream implements Disposable {
  readonly #options: UpstreamOptions;
  readonly #idle: CalcConnection[] = [];
  readonly #busy = new Set<CalcConnection>();
  #closed = false;

  constructor(options: UpstreamOptions) {
    this.#options = options;
  }

  /** "host:port" of the server. */
  get address(): string {
    return `${this.#options.hostname}:${this.#options.port}`;
  }

  /**
   * Sends `packet` to the server and returns its answer.
   *
   * @throws {UpstreamError} when there is no usable answer.
   */
  async forward(packet: Uint8Array): Promise<Exchange> {
    const reused = this.#idle.pop();
    if (reused !== undefined) {
      try {
        return await this.#exchangeOn(reused, packet);
      } catch (error: unknown) {
        // A pooled connection the server has closed meanwhile: try a new one.
        if (!(error instanceof UpstreamError) || error.failure !== "broken") throw error;
      }
    }
    return this.#exchangeOn(await this.#connect(), packet);
  }

  async #connect(): Promise<CalcConnection> {
    try {
      return await CalcConnection.open(this.#options.hostname, this.#options.port, {
        connectTimeoutMs: this.#options.connectTimeoutMs,
        answerTimeoutMs: this.#options.answerTimeoutMs,
      });
    } catch (error: unknown) {
      if (!(error instanceof ConnectionError)) throw error;
      const failure = error instanceof ConnectionTimeoutError ? "timeout" : "refused";
      throw new UpstreamError(failure, error.message);
    }
  }

  async #exchangeOn(conn: CalcConnection, packet: Uint8Array): Promise<Exchange> {
    this.#busy.add(conn);
    try {
      const exchange = await conn.exchange(packet);
      if (exchange.header.isRequest) {
        throw new ProtocolError(`${this.address} sent a request instead of a response`);
      }
      this.#busy.delete(conn);
      if (!this.#closed && this.#idle.length < (this.#options.maxIdle ?? 64)) this.#idle.push(conn);
      else conn.close();
      return exchange;
    } catch (error: unknown) {
      this.#busy.delete(conn);
      conn.close();
      if (error instanceof ProtocolError) throw new UpstreamError("invalid", error.message);
      if (error instanceof ConnectionError) {
        const failure = error instanceof ConnectionTimeoutError ? "timeout" : "broken";
        throw new UpstreamError(failure, error.message);
      }
      throw error;
    }
  }

  /** Closes every connection, idle and busy. */
  close(): void {
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) conn.close();
    for (const conn of this.#busy) conn.close();
    this.#busy.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
