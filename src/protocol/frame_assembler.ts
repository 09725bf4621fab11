/**
 * Reassembles packets from a TCP byte stream by their total length
 * (docs/PROTOCOL.md §2 Framing): partial reads, several packets in one read, and a
 * packet split over many reads. Pure: the socket code feeds it bytes.
 *
 * @module
 */

import { HEADER_SIZE, invalidTotalLength, totalLengthAt } from "./header.ts";

/** A total length field below 12: the stream cannot be framed any further. */
export class FrameError extends Error {
  /** The class name, as messages and logs show it. */
  override name: string = "FrameError";
}

/**
 * A growable buffer that yields complete packets.
 *
 * @example
 * ```ts
 * const frames = new FrameAssembler();
 * frames.push(bytesFromSocket);
 * for (let p = frames.next(); p !== null; p = frames.next()) handle(p);
 * ```
 */
export class FrameAssembler {
  readonly #initialCapacity: number;
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;
  /** Views into the buffer are held elsewhere: it must never be written again. */
  #lent = false;

  /** An empty assembler whose buffer starts at `initialCapacity` bytes (it grows as needed). */
  constructor(initialCapacity = 16 * 1024) {
    this.#initialCapacity = initialCapacity;
    this.#buffer = new Uint8Array(initialCapacity);
  }

  /** Bytes received that are not yet part of a returned packet. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /** The pending bytes, for error reports (a copy). */
  pendingBytes(): Uint8Array {
    return this.#buffer.slice(this.#start, this.#end);
  }

  /**
   * Free space to read into (at least `min` bytes); call
   * {@linkcode commit} with the count actually read. Saves a copy per read.
   */
  writable(min = 16 * 1024): Uint8Array {
    this.#reserve(min);
    return this.#buffer.subarray(this.#end);
  }

  /** Marks `count` bytes written into {@linkcode writable}'s view as received. */
  commit(count: number): void {
    this.#end += count;
  }

  /** Appends received bytes. */
  push(chunk: Uint8Array): void {
    this.#reserve(chunk.length);
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /**
   * The next complete packet (a copy the caller owns), or null while it is
   * incomplete.
   *
   * @throws {FrameError} when the next header's total length is below 12.
   */
  next(): Uint8Array | null {
    return this.nextView()?.slice() ?? null;
  }

  /**
   * The next complete packet as a view into the buffer (no copy), or null
   * while it is incomplete. The view stays as it is until the assembler is
   * next fed (`writable`, `push`) — unless {@linkcode lend} is called, after
   * which the views returned so far stay as they are for good.
   *
   * @throws {FrameError} when the next header's total length is below 12.
   */
  nextView(): Uint8Array | null {
    const available = this.#end - this.#start;
    if (available < HEADER_SIZE) return null;
    const length = totalLengthAt(this.#buffer, this.#start);
    if (length < HEADER_SIZE) {
      throw new FrameError(invalidTotalLength(length));
    }
    if (available < length) return null;
    const packet = this.#buffer.subarray(this.#start, this.#start + length);
    this.#start += length;
    return packet;
  }

  /**
   * Keeps every view returned so far as it is: the bytes they show are never
   * written again (later bytes go to a new buffer once the current one is
   * full). For views held past the next feed, e.g. by a handler still
   * working on its packet.
   */
  lend(): void {
    this.#lent = true;
  }

  #reserve(extra: number): void {
    // Everything taken: start over at the front, unless views into the buffer are held.
    if (this.#start === this.#end && !this.#lent) this.#start = this.#end = 0;
    if (this.#buffer.length - this.#end >= extra) return;
    const pending = this.#end - this.#start;
    if (this.#lent) {
      // Views into this buffer are held: move what is pending to a new one.
      const fresh = new Uint8Array(Math.max(this.#initialCapacity, pending + extra));
      fresh.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = fresh;
      this.#lent = false;
    } else if (this.#start > 0 && this.#buffer.length - pending >= extra) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
    } else {
      const grown = new Uint8Array(Math.max(this.#buffer.length * 2, pending + extra));
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = grown;
    }
    this.#start = 0;
    this.#end = pending;
  }
}
