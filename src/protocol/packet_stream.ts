/**
 * Packets over a TCP connection: a reader that frames by total length and a
 * writer that loops until every byte is out.
 *
 * @module
 */

import { FrameAssembler } from "./frame_assembler.ts";

/** The connection ended in the middle of a packet. */
export class IncompleteFrameError extends Error {
  /** The class name, as messages and logs show it. */
  override name: string = "IncompleteFrameError";
  /** The bytes of the unfinished packet. */
  readonly received: Uint8Array;

  /** The error for a connection that ended after `received`, an unfinished packet. */
  constructor(received: Uint8Array) {
    super(`connection closed after ${received.length} bytes of an incomplete packet`);
    this.received = received;
  }
}

/** What {@linkcode PacketReader} reads from: `Deno.Conn` and test doubles. */
export interface ByteSource {
  /** Reads into `buffer`; resolves with the count, or null at end of stream. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** What {@linkcode writeAll} writes to. */
export interface ByteSink {
  /** Writes some of `bytes`; resolves with how many were written. */
  write(bytes: Uint8Array): Promise<number>;
}

/**
 * Reads whole packets from a connection, however TCP splits or joins them.
 *
 * @example
 * ```ts
 * const reader = new PacketReader(conn);
 * for (let p = await reader.read(); p !== null; p = await reader.read()) handle(p);
 * ```
 */
export class PacketReader {
  readonly #source: ByteSource;
  readonly #frames = new FrameAssembler();

  /** A reader of the packets `source` carries. */
  constructor(source: ByteSource) {
    this.#source = source;
  }

  /** Bytes of an unfinished packet held so far. */
  get pending(): number {
    return this.#frames.pending;
  }

  /** A copy of the unfinished packet's bytes. */
  pendingBytes(): Uint8Array {
    return this.#frames.pendingBytes();
  }

  /**
   * The next packet, or null when the peer closed the connection between
   * packets.
   *
   * @throws {IncompleteFrameError} when the peer closed mid-packet.
   * @throws {FrameError} when a total length is below 12.
   */
  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const packet = this.#frames.next();
      if (packet !== null) return packet;
      const count = await this.#source.read(this.#frames.writable());
      if (count === null) {
        if (this.#frames.pending > 0) throw new IncompleteFrameError(this.#frames.pendingBytes());
        return null;
      }
      this.#frames.commit(count);
    }
  }
}

/** Writes all of `bytes`, looping over partial writes. */
export async function writeAll(sink: ByteSink, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await sink.write(offset === 0 ? bytes : bytes.subarray(offset));
  }
}
