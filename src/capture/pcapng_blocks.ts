/**
 * Encodes the three pcapng blocks calcnet writes: a Section Header Block,
 * one Interface Description Block and Enhanced Packet Blocks, little-endian,
 * each as one buffer so that it reaches the file in one write.
 *
 * @module
 */

import {
  BLOCK_OVERHEAD,
  BlockType,
  BYTE_ORDER_MAGIC,
  DEFAULT_TS_DIGITS,
  EPB_FIXED_BYTES,
  OptionCode,
} from "./pcapng_format.ts";

/** One block option. */
interface BlockOption {
  readonly code: number;
  readonly value: Uint8Array;
}

const OPTION_HEADER_BYTES = 4;
const SHB_BODY_BYTES = 16;
const IDB_BODY_BYTES = 8;
const TWO_TO_32 = 0x1_0000_0000;
const encoder = new TextEncoder();

/** `n` rounded up to a multiple of 4. */
function padded(n: number): number {
  return (n + 3) & ~3;
}

/** Bytes `options` take, the end-of-options marker included (nothing when empty). */
function optionsLength(options: readonly BlockOption[]): number {
  if (options.length === 0) return 0;
  return options.reduce(
    (sum, option) => sum + OPTION_HEADER_BYTES + padded(option.value.length),
    0,
  ) +
    OPTION_HEADER_BYTES;
}

/**
 * A block of `type` whose body is `bodyLength` bytes (written by `fill` at
 * offset 8), followed by `options`.
 */
function block(
  type: number,
  bodyLength: number,
  options: readonly BlockOption[],
  fill: (view: DataView, bytes: Uint8Array) => void,
): Uint8Array {
  const total = BLOCK_OVERHEAD + padded(bodyLength) + optionsLength(options);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, total, true);
  fill(view, bytes);
  let at = 8 + padded(bodyLength);
  for (const option of options) {
    view.setUint16(at, option.code, true);
    view.setUint16(at + 2, option.value.length, true);
    bytes.set(option.value, at + OPTION_HEADER_BYTES);
    at += OPTION_HEADER_BYTES + padded(option.value.length);
  }
  // The end-of-options marker is the zero bytes left at `at`.
  view.setUint32(total - 4, total, true);
  return bytes;
}

function textOption(code: number, text: string | undefined): BlockOption[] {
  return text === undefined || text === "" ? [] : [{ code, value: encoder.encode(text) }];
}

/** A Section Header Block (version 1.0, section length unknown), naming the writing application. */
export function sectionHeaderBlock(application?: string): Uint8Array {
  const options = textOption(OptionCode.UserApplication, application);
  return block(BlockType.SectionHeader, SHB_BODY_BYTES, options, (view) => {
    view.setUint32(8, BYTE_ORDER_MAGIC, true);
    view.setUint16(12, 1, true);
    view.setUint16(14, 0, true);
    // Section length -1: not known in advance.
    view.setBigInt64(16, -1n, true);
  });
}

/** An Interface Description Block with microsecond time stamps. */
export function interfaceDescriptionBlock(
  linkType: number,
  snapLength: number,
  name: string,
  description: string,
): Uint8Array {
  const options = [
    ...textOption(OptionCode.InterfaceName, name),
    ...textOption(OptionCode.InterfaceDescription, description),
    { code: OptionCode.TimestampResolution, value: Uint8Array.of(DEFAULT_TS_DIGITS) },
  ];
  return block(BlockType.InterfaceDescription, IDB_BODY_BYTES, options, (view) => {
    view.setUint16(8, linkType, true);
    view.setUint32(12, snapLength, true);
  });
}

/**
 * An Enhanced Packet Block on interface 0: `data` captured (possibly cut
 * short) of a packet of `originalLength` bytes, at `timeUs` Unix
 * microseconds, with an optional comment.
 */
export function enhancedPacketBlock(
  timeUs: number,
  data: Uint8Array,
  originalLength: number,
  comment?: string,
): Uint8Array {
  const options = textOption(OptionCode.Comment, comment);
  const bodyLength = EPB_FIXED_BYTES - 8 + data.length;
  return block(BlockType.EnhancedPacket, bodyLength, options, (view, bytes) => {
    view.setUint32(8, 0, true);
    view.setUint32(12, Math.floor(timeUs / TWO_TO_32), true);
    view.setUint32(16, timeUs % TWO_TO_32, true);
    view.setUint32(20, data.length, true);
    view.setUint32(24, originalLength, true);
    bytes.set(data, EPB_FIXED_BYTES);
  });
}
