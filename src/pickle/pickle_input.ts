/**
 * The bytes of a pickle as both decoders read them: a position, and the
 * opcode arguments read at it (little-endian ints, sizes, big-endian
 * doubles, lines), each checked to be there. Each decoder fails its own
 * way when they are not: the general one with a `PickleError`, the fast
 * path by stepping aside.
 *
 * @module
 */

import { readI32, readSize64, readU16 } from "./wire_ints.ts";

/** A pickle being read, from its first byte on. */
export abstract class PickleInput {
  /** The pickle. */
  protected readonly data: Uint8Array;
  /** Where the next byte is read. */
  protected pos = 0;
  /** Made on first use: most pickles hold no float, and a DataView costs an allocation. */
  #view: DataView | undefined;

  /** Input that reads `data` from its start. */
  constructor(data: Uint8Array) {
    this.data = data;
  }

  /** Ends the decode: the pickle stops before what it announces. Never returns. */
  protected abstract truncated(): never;

  /** Checks that `count` more bytes are there. */
  protected need(count: number): void {
    if (count > this.data.length - this.pos) this.truncated();
  }

  /** An unsigned byte. */
  protected u8(): number {
    if (this.pos >= this.data.length) this.truncated();
    return this.data[this.pos++] as number;
  }

  /** A little-endian unsigned 16-bit int. */
  protected u16(): number {
    this.need(2);
    this.pos += 2;
    return readU16(this.data, this.pos - 2);
  }

  /** A little-endian signed 32-bit int. */
  protected i32(): number {
    this.need(4);
    this.pos += 4;
    return readI32(this.data, this.pos - 4);
  }

  /** A little-endian unsigned 32-bit int. */
  protected u32(): number {
    return this.i32() >>> 0;
  }

  /** An unsigned 64-bit size; anything past 2^32 is beyond any input anyway (Infinity). */
  protected u64(): number {
    this.need(8);
    this.pos += 8;
    return readSize64(this.data, this.pos - 8);
  }

  /** A big-endian IEEE double (BINFLOAT). */
  protected f64(): number {
    this.need(8);
    const data = this.data;
    this.#view ??= new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.pos += 8;
    return this.#view.getFloat64(this.pos - 8, false);
  }

  /** The bytes up to the next newline, which is consumed. */
  protected line(): Uint8Array {
    const data = this.data;
    const end = data.indexOf(NEWLINE, this.pos);
    if (end < 0) this.truncated();
    const line = data.subarray(this.pos, end);
    this.pos = end + 1;
    return line;
  }
}

const NEWLINE = 0x0a;
