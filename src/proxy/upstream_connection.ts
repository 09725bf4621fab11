/**
 * One connection from the proxy to the server, read all the time: an
 * answer is exactly one frame arriving while a request waits for it, with
 * nothing behind it by the next turn of the event loop. Anything else —
 * bytes while nobody waits, bytes after the answer's frame, the connection
 * ending — breaks the connection for good, so no byte a broken server sends
 * can be taken as the answer to another request. (One case no client can
 * tell: a well-formed frame volunteered at the very moment a request is in
 * flight looks like its answer. Every answer is checked for form before it
 * is served or stored.)
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { FrameAssembler, FrameError } from "../protocol/mod.ts";
import { closeQuietly, isConnectionDrop, type TappedConnection } from "../net/mod.ts";
import { UpstreamError } from "./upstream_error.ts";

/** The read buffer of an upstream connection: answers are mostly small. */
const BUFFER_BYTES = 4096;

interface Waiter {
  resolve(packet: Uint8Array): void;
  reject(error: UpstreamError): void;
}

/** A connection to the server that carries one request at a time. */
export class UpstreamConnection {
  readonly #conn: Deno.TcpConn;
  readonly #frames = new FrameAssembler(BUFFER_BYTES);
  readonly #server: string;
  #waiter: Waiter | undefined;
  /** An answer framed but not handed over yet: it waits one turn for bytes behind it. */
  #answer: Uint8Array | undefined;
  #broken: string | undefined;
  readonly #onBroken: (conn: UpstreamConnection) => void;
  readonly #tap: TappedConnection | undefined;
  #peerClosed = false;

  /**
   * Starts reading `conn`; `onBroken` is told once when the connection can
   * no longer be used; `tap`, when given, every read, write and the close.
   */
  constructor(
    conn: Deno.TcpConn,
    server: string,
    onBroken: (conn: UpstreamConnection) => void,
    tap?: TappedConnection,
  ) {
    this.#conn = conn;
    this.#tap = tap;
    this.#server = server;
    this.#onBroken = onBroken;
    this.#readLoop();
  }

  /** Whether it can carry another request. */
  get usable(): boolean {
    return this.#broken === undefined && this.#waiter === undefined;
  }

  /**
   * Sends `packet` and resolves with the one frame that answers it, or
   * rejects with an {@linkcode UpstreamError} (the connection is then
   * broken) when the server breaks the protocol, closes, or `deadline`
   * (a `performance.now()` time) passes.
   */
  exchange(packet: Uint8Array, deadline: number): Promise<Uint8Array> {
    if (!this.usable) {
      return Promise.reject(
        new UpstreamError("broken", `connection to ${this.#server} not usable`),
      );
    }
    const answer = new Promise<Uint8Array>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
    const timer = setTimeout(
      () => this.#break("timeout", `${this.#server} did not answer in time`),
      Math.max(0, deadline - performance.now()),
    );
    this.#write(packet);
    return answer.finally(() => clearTimeout(timer));
  }

  /** Closes the connection; a waiting request fails. */
  close(): void {
    this.#break("broken", `connection to ${this.#server} closed by the proxy`);
  }

  async #write(packet: Uint8Array): Promise<void> {
    try {
      let offset = 0;
      while (offset < packet.length) {
        const written = await this.#conn.write(packet.subarray(offset));
        this.#tap?.sent(packet.subarray(offset, offset + written));
        offset += written;
      }
    } catch (error: unknown) {
      this.#break("broken", `lost the connection to ${this.#server}: ${message(error)}`);
    }
  }

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        const count = await this.#conn.read(this.#frames.writable(BUFFER_BYTES));
        if (count === null) {
          this.#peerClosed = true;
          return this.#break("broken", `${this.#server} closed the connection without answering`);
        }
        this.#tap?.received(this.#frames.writable(0).subarray(0, count));
        this.#frames.commit(count);
        if (!this.#received()) return;
      }
    } catch (error: unknown) {
      if (this.#broken !== undefined) return;
      if (!(error instanceof FrameError) && !isConnectionDrop(error)) {
        this.#break("invalid", `reading from ${this.#server} failed: ${message(error)}`);
        return;
      }
      const failure = error instanceof FrameError ? "invalid" : "broken";
      this.#break(failure, `${this.#server}: ${message(error)}`);
    }
  }

  /** Takes in what was read; false once the connection is broken. */
  #received(): boolean {
    const waiter = this.#waiter;
    if (waiter === undefined) {
      this.#break("invalid", `${this.#server} sent bytes nobody asked for`);
      return false;
    }
    if (this.#answer !== undefined) {
      this.#break("invalid", `${this.#server} sent more bytes after its answer`);
      return false;
    }
    const frame = this.#frames.next();
    if (frame === null) return true;
    if (this.#frames.pending > 0) {
      this.#break("invalid", `${this.#server} sent more bytes than its answer's length says`);
      return false;
    }
    // Bytes already on their way behind the frame (a second answer, the rest
    // of a lying length) are read before an immediate callback runs.
    this.#answer = frame;
    setImmediate(() => this.#deliver());
    return true;
  }

  #deliver(): void {
    const waiter = this.#waiter;
    const frame = this.#answer;
    if (this.#broken !== undefined || waiter === undefined || frame === undefined) return;
    this.#answer = undefined;
    this.#waiter = undefined;
    waiter.resolve(frame);
  }

  #break(failure: UpstreamError["failure"], text: string): void {
    if (this.#broken !== undefined) return;
    this.#broken = text;
    closeQuietly(this.#conn);
    this.#tap?.closed(this.#peerClosed ? "peer" : "us");
    const waiter = this.#waiter;
    this.#waiter = undefined;
    this.#answer = undefined;
    waiter?.reject(new UpstreamError(failure, text));
    this.#onBroken(this);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
