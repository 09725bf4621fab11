/**
 * The checker's socket: a raw TCP connection to the peer under test that can
 * send any bytes (whole, in pieces, several packets at once) and read packets
 * with a deadline, without ever waiting longer than asked.
 *
 * @module
 */

import {
  decodeHeader,
  FrameError,
  type Header,
  type HeaderWarning,
  IncompleteFrameError,
  PacketReader,
  writeAll,
} from "../protocol/mod.ts";
import { closeQuietly, connectWithin, isConnectFailure, isConnectionDrop } from "../net/mod.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { ProtocolError, settle, type Settled } from "../base/mod.ts";
import { CaseFailure, type Sent, type Target, targetName } from "./case_failure.ts";

/** A packet the peer sent back. */
export interface Received {
  /** The whole packet. */
  readonly packet: Uint8Array;
  /** Its header, normalised as the reference does. */
  readonly header: Header;
  /** What the normalisation changed or noticed. */
  readonly warnings: readonly HeaderWarning[];
  /** Milliseconds from the end of sending to the whole packet. */
  readonly ms: number;
}

/** What a read with a deadline came to. */
export type ReadOutcome =
  | { readonly kind: "packet"; readonly received: Received }
  | { readonly kind: "closed"; readonly detail: string }
  | { readonly kind: "timeout"; readonly ms: number }
  | { readonly kind: "unframeable"; readonly detail: string };

/** Options of {@linkcode Probe.open}. */
export interface ProbeOptions {
  /** Give up connecting after this long. */
  readonly connectTimeoutMs: number;
  /** Told about every write, so a failing case can say what it sent. */
  readonly record: (sent: Sent) => void;
}

/**
 * One connection to the peer under test.
 *
 * @example
 * ```ts
 * using probe = await Probe.open(target, { connectTimeoutMs: 2000, record: () => {} });
 * const answer = await probe.exchange(packet, "request: 1 + 2", 5000);
 * ```
 */
export class Probe implements Disposable {
  readonly #conn: Deno.TcpConn;
  readonly #reader: PacketReader;
  readonly #record: (sent: Sent) => void;
  /** A read still running after a deadline passed: the next read continues it. */
  #pending: Promise<Settled<Uint8Array | null>> | null = null;
  #sentAt = performance.now();
  #closed = false;

  private constructor(conn: Deno.TcpConn, record: (sent: Sent) => void) {
    this.#conn = conn;
    this.#reader = new PacketReader(conn);
    this.#record = record;
  }

  /**
   * Connects to `target`.
   *
   * @throws {CaseFailure} when the connection is refused or too slow.
   */
  static async open(target: Target, options: ProbeOptions): Promise<Probe> {
    const peer = targetName(target);
    try {
      const conn = await connectWithin(
        target.hostname,
        target.port,
        options.connectTimeoutMs,
        () =>
          new CaseFailure(
            `a connection to ${peer}`,
            `no connection within ${options.connectTimeoutMs} ms`,
          ),
      );
      return new Probe(conn, options.record);
    } catch (error: unknown) {
      if (isConnectFailure(error)) {
        throw new CaseFailure(`a connection to ${peer}`, `connection failed: ${error.message}`);
      }
      throw error;
    }
  }

  /**
   * Writes `bytes` as they are.
   *
   * @throws {CaseFailure} when the peer has closed or reset the connection.
   */
  async send(bytes: Uint8Array, description: string): Promise<void> {
    this.#record({ description, bytes });
    await this.#write(bytes);
    this.#sentAt = performance.now();
  }

  /**
   * Writes `parts` one after another with `gapMs` between them, so that
   * each arrives in its own TCP segment.
   */
  async sendInParts(
    parts: readonly Uint8Array[],
    gapMs: number,
    description: string,
  ): Promise<void> {
    const total = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      total.set(part, offset);
      offset += part.length;
    }
    this.#record({ description, bytes: total });
    for (const [i, part] of parts.entries()) {
      if (i > 0) await sleep(gapMs);
      await this.#write(part);
    }
    this.#sentAt = performance.now();
  }

  /** The next packet, or why there is none within `timeoutMs`. Never throws for the peer's doing. */
  async read(timeoutMs: number): Promise<ReadOutcome> {
    if (this.#closed) return { kind: "closed", detail: "the checker closed the connection" };
    this.#pending ??= settle(this.#reader.read());
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = await Promise.race([
      this.#pending,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (settled === null) return { kind: "timeout", ms: timeoutMs };
    this.#pending = null;
    if (settled.kind === "error") return failedRead(settled.error);
    if (settled.value === null) {
      return { kind: "closed", detail: "the peer closed the connection" };
    }
    try {
      const { header, warnings } = decodeHeader(settled.value);
      return {
        kind: "packet",
        received: {
          packet: settled.value,
          header,
          warnings,
          ms: performance.now() - this.#sentAt,
        },
      };
    } catch (error: unknown) {
      if (!(error instanceof ProtocolError)) throw error;
      return { kind: "unframeable", detail: error.message };
    }
  }

  /**
   * Reads one packet.
   *
   * @throws {CaseFailure} when none comes within `timeoutMs`.
   */
  async receive(timeoutMs: number): Promise<Received> {
    const outcome = await this.read(timeoutMs);
    if (outcome.kind === "packet") return outcome.received;
    throw new CaseFailure(`an answer within ${timeoutMs} ms`, describeOutcome(outcome));
  }

  /** Sends `packet` and reads the answer (see {@linkcode receive}). */
  async exchange(packet: Uint8Array, description: string, timeoutMs: number): Promise<Received> {
    await this.send(packet, description);
    return await this.receive(timeoutMs);
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

  async #write(bytes: Uint8Array): Promise<void> {
    try {
      await writeAll(this.#conn, bytes);
    } catch (error: unknown) {
      if (!isConnectionDrop(error)) throw error;
      throw new CaseFailure(
        "the peer to take the bytes",
        `connection lost while sending: ${(error as Error).message}`,
      );
    }
  }
}

function failedRead(error: unknown): ReadOutcome {
  if (error instanceof IncompleteFrameError) {
    return {
      kind: "closed",
      detail: `the peer closed the connection after ${error.received.length} bytes of a packet`,
    };
  }
  if (error instanceof FrameError) return { kind: "unframeable", detail: error.message };
  if (isConnectionDrop(error)) {
    return { kind: "closed", detail: `the connection was reset (${(error as Error).message})` };
  }
  throw error;
}

/** One line for a read that brought no packet. */
export function describeOutcome(outcome: ReadOutcome): string {
  switch (outcome.kind) {
    case "packet":
      return `a packet of ${outcome.received.packet.length} bytes`;
    case "closed":
      return outcome.detail;
    case "timeout":
      return `nothing within ${outcome.ms} ms`;
    case "unframeable":
      return `bytes that are not a packet: ${outcome.detail}`;
  }
}

/**
 * Why nothing accepts TCP connections at `target` within `timeoutMs`, or
 * null when something does (that connection is closed at once).
 */
export async function notListening(target: Target, timeoutMs: number): Promise<string | null> {
  try {
    using _probe = await Probe.open(target, { connectTimeoutMs: timeoutMs, record: () => {} });
    return null;
  } catch (error: unknown) {
    if (error instanceof CaseFailure) return error.got;
    throw error;
  }
}
