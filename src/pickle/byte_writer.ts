/**
 * A growable output buffer for the pickler.
 *
 * @module
 */

import { encodeUtf8Into } from "./utf8.ts";

/** The longest text a one-byte length can count. */
const MAX_SHORT_LENGTH = 255;
/** The first UTF-16 unit that is not ASCII (nor one byte of UTF-8). */
const ASCII_END = 0x80;

/** Bytes appended at the end of a buffer that doubles when full. */
export class ByteWriter {
  /** The buffer; bytes from `length` on are scratch. */
  bytes: Uint8Array;
  /** A view over {@linkcode bytes}, replaced with it. */
  view: DataView;
  /** How many bytes are written. */
  length = 0;

  /** An empty writer whose buffer starts at `initialCapacity` bytes. */
  constructor(initialCapacity = 256) {
    this.bytes = new Uint8Array(initialCapacity);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Makes room for `count` more bytes. */
  reserve(count: number): void {
    const needed = this.length + count;
    if (needed <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  /** Appends one byte. */
  byte(value: number): void {
    this.reserve(1);
    this.bytes[this.length++] = value;
  }

  /** Appends two bytes: an opcode and its one-byte argument. */
  byte2(first: number, second: number): void {
    this.reserve(2);
    this.bytes[this.length++] = first;
    this.bytes[this.length++] = second;
  }

  /** Appends an opcode and a little-endian unsigned 16-bit argument. */
  opU16(op: number, value: number): void {
    this.reserve(3);
    this.bytes[this.length] = op;
    this.view.setUint16(this.length + 1, value, true);
    this.length += 3;
  }

  /** Appends an opcode and a little-endian 32-bit argument (signed or not). */
  opU32(op: number, value: number): void {
    this.reserve(5);
    this.bytes[this.length] = op;
    this.view.setUint32(this.length + 1, value >>> 0, true);
    this.length += 5;
  }

  /** Appends an opcode and a big-endian IEEE double. */
  opF64(op: number, value: number): void {
    this.reserve(9);
    this.bytes[this.length] = op;
    this.view.setFloat64(this.length + 1, value, false);
    this.length += 9;
  }

  /** Appends raw bytes. */
  append(data: Uint8Array): void {
    this.reserve(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  /**
   * Appends `op`, a one-byte length and `text` when `text` is ASCII and
   * shorter than 256 characters, in one pass (its UTF-8 is itself);
   * otherwise writes nothing and returns false.
   */
  shortAscii(op: number, text: string): boolean {
    const length = text.length;
    if (length > MAX_SHORT_LENGTH) return false;
    this.reserve(2 + length);
    const bytes = this.bytes;
    const start = this.length + 2;
    for (let i = 0; i < length; i++) {
      const unit = text.charCodeAt(i);
      if (unit >= ASCII_END) return false;
      bytes[start + i] = unit;
    }
    bytes[this.length] = op;
    bytes[this.length + 1] = length;
    this.length = start + length;
    return true;
  }

  /** Appends `text` as UTF-8 that is `byteLength` bytes long. */
  utf8(text: string, byteLength: number): void {
    this.reserve(byteLength);
    this.length = encodeUtf8Into(text, this.bytes, this.length);
  }

  /** Appends `count` zero bytes (room left for a header). */
  zeros(count: number): void {
    this.reserve(count);
    const end = this.length + count;
    // A reused buffer holds old bytes; a few are quicker set than filled.
    for (let i = this.length; i < end; i++) this.bytes[i] = 0;
    this.length = end;
  }

  /** A copy of the written bytes. */
  toBytes(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}
