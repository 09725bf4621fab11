/**
 * Reads pcapng files (Wireshark's default format): Section Header,
 * Interface Description, Enhanced Packet and Simple Packet Blocks, in
 * either byte order, several sections and interfaces; other blocks are
 * skipped.
 *
 * @module
 */

import {
  type CaptureContents,
  type CapturedPacket,
  CaptureFormatError,
} from "./captured_packet.ts";
import {
  BLOCK_OVERHEAD,
  BlockType,
  BYTE_ORDER_MAGIC,
  DEFAULT_TS_DIGITS,
  EPB_FIXED_BYTES,
  OptionCode,
} from "./pcapng_format.ts";

/** An interface's link type and time stamp units. */
interface Interface {
  readonly linkType: number;
  readonly snapLength: number;
  /** Time stamp units per second. */
  readonly unitsPerSecond: bigint;
  /** Seconds added to every time stamp (`if_tsoffset`). */
  readonly offsetSeconds: bigint;
}

/** The state of the section being read. */
interface Section {
  readonly littleEndian: boolean;
  readonly interfaces: Interface[];
}

/** A block's position and type. */
interface Block {
  readonly view: DataView;
  readonly start: number;
  readonly length: number;
  readonly section: Section;
}

const SPB_FIXED_BYTES = 16;
const IDB_FIXED_BYTES = 16;
const OPTION_HEADER_BYTES = 4;
const NANOS_PER_SECOND = 1_000_000_000n;
const BINARY_RESOLUTION = 0x80;
const decoder = new TextDecoder();

/** Whether `bytes` start with a pcapng Section Header Block. */
export function isPcapng(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) ===
      BlockType.SectionHeader;
}

/**
 * The packets of a pcapng file. A file cut short or corrupt gives the
 * packets of the whole blocks before the damage, and a problem.
 *
 * @throws {CaptureFormatError} when `bytes` do not start with a readable section header.
 */
export function readPcapng(bytes: Uint8Array): CaptureContents {
  if (!isPcapng(bytes)) throw new CaptureFormatError("not a pcapng file (no section header)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const packets: CapturedPacket[] = [];
  const problems: string[] = [];
  let section: Section | undefined;
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < BLOCK_OVERHEAD) {
      problems.push(
        `the file ends in the middle of a block (${bytes.length - at} bytes after offset ${at})`,
      );
      break;
    }
    if (view.getUint32(at) === BlockType.SectionHeader) {
      section = sectionAt(view, at);
      if (section === undefined) {
        if (at === 0) {
          throw new CaptureFormatError("the section header's byte-order magic is wrong");
        }
        problems.push(`a section header at offset ${at} has a wrong byte-order magic`);
        break;
      }
    }
    const current = section as Section;
    const length = blockLength(view, at, current.littleEndian, problems);
    if (length === undefined) break;
    const block: Block = { view, start: at, length, section: current };
    const problem = readBlock(block, bytes, packets);
    if (problem !== undefined) problems.push(problem);
    at += length;
  }
  return { format: "pcapng", packets, problems };
}

function sectionAt(view: DataView, at: number): Section | undefined {
  for (const littleEndian of [true, false]) {
    if (view.getUint32(at + 8, littleEndian) === BYTE_ORDER_MAGIC) {
      return { littleEndian, interfaces: [] };
    }
  }
  return undefined;
}

/** The length of the block at `at`, or undefined (and a problem) when it is cut short or corrupt. */
function blockLength(
  view: DataView,
  at: number,
  le: boolean,
  problems: string[],
): number | undefined {
  const remaining = view.byteLength - at;
  const length = view.getUint32(at + 4, le);
  if (length < BLOCK_OVERHEAD || length % 4 !== 0) {
    problems.push(
      `a block at offset ${at} has an impossible length (${length}): the rest is unreadable`,
    );
    return undefined;
  }
  if (length > remaining) {
    problems.push(
      `the file ends in the middle of a block (${remaining} of its ${length} bytes, offset ${at})`,
    );
    return undefined;
  }
  if (view.getUint32(at + length - 4, le) !== length) {
    problems.push(`a block at offset ${at} does not end with its length: the rest is unreadable`);
    return undefined;
  }
  return length;
}

/** Reads one whole block; returns a problem to report, if any. */
function readBlock(block: Block, bytes: Uint8Array, packets: CapturedPacket[]): string | undefined {
  const { view, start, length, section } = block;
  const le = section.littleEndian;
  switch (view.getUint32(start, le)) {
    case BlockType.InterfaceDescription: {
      if (length < IDB_FIXED_BYTES + 4) {
        return `an interface description at offset ${start} is too short`;
      }
      section.interfaces.push(interfaceOf(block));
      return undefined;
    }
    case BlockType.EnhancedPacket:
      return enhancedPacket(block, bytes, packets);
    case BlockType.SimplePacket:
      return simplePacket(block, bytes, packets);
    default:
      return undefined;
  }
}

function interfaceOf(block: Block): Interface {
  const { view, start, length } = block;
  const le = block.section.littleEndian;
  let digits = DEFAULT_TS_DIGITS;
  let offsetSeconds = 0n;
  for (const option of options(block, start + IDB_FIXED_BYTES)) {
    if (option.code === OptionCode.TimestampResolution && option.length >= 1) {
      digits = view.getUint8(option.at);
    } else if (option.code === OptionCode.TimestampOffset && option.length >= 8) {
      offsetSeconds = view.getBigInt64(option.at, le);
    }
  }
  const exponent = BigInt(digits & ~BINARY_RESOLUTION);
  return {
    linkType: view.getUint16(start + 8, le),
    snapLength: length >= IDB_FIXED_BYTES ? view.getUint32(start + 12, le) : 0,
    unitsPerSecond: (digits & BINARY_RESOLUTION) !== 0 ? 2n ** exponent : 10n ** exponent,
    offsetSeconds,
  };
}

function enhancedPacket(
  block: Block,
  bytes: Uint8Array,
  packets: CapturedPacket[],
): string | undefined {
  const { view, start, length } = block;
  const le = block.section.littleEndian;
  if (length < EPB_FIXED_BYTES + 4) return `a packet block at offset ${start} is too short`;
  const face = block.section.interfaces[view.getUint32(start + 8, le)];
  const captured = view.getUint32(start + 20, le);
  const dataEnd = start + EPB_FIXED_BYTES + captured;
  if (face === undefined || dataEnd > start + length - 4) {
    return `a packet block at offset ${start} names no known interface or overflows: skipped`;
  }
  const units = BigInt(view.getUint32(start + 12, le)) << 32n |
    BigInt(view.getUint32(start + 16, le));
  const comments: string[] = [];
  for (const option of options(block, (dataEnd + 3) & ~3)) {
    if (option.code === OptionCode.Comment) {
      comments.push(decoder.decode(bytes.subarray(option.at, option.at + option.length)));
    }
  }
  packets.push({
    frame: packets.length + 1,
    linkType: face.linkType,
    timeNs: (face.offsetSeconds * face.unitsPerSecond + units) * NANOS_PER_SECOND /
      face.unitsPerSecond,
    data: bytes.subarray(start + EPB_FIXED_BYTES, dataEnd),
    originalLength: Math.max(view.getUint32(start + 24, le), captured),
    comments,
  });
  return undefined;
}

function simplePacket(
  block: Block,
  bytes: Uint8Array,
  packets: CapturedPacket[],
): string | undefined {
  const { view, start, length } = block;
  const face = block.section.interfaces[0];
  if (face === undefined) {
    return `a simple packet block at offset ${start} comes before any interface`;
  }
  const original = view.getUint32(start + 8, block.section.littleEndian);
  const room = length - SPB_FIXED_BYTES;
  const captured = Math.min(original, room, face.snapLength === 0 ? room : face.snapLength);
  packets.push({
    frame: packets.length + 1,
    linkType: face.linkType,
    timeNs: null,
    data: bytes.subarray(start + 12, start + 12 + captured),
    originalLength: original,
    comments: [],
  });
  return undefined;
}

/** One option's code, and where and how long its value is. */
interface OptionRef {
  readonly code: number;
  readonly at: number;
  readonly length: number;
}

/** The options from `at` to the block's trailing length (a malformed one ends the list). */
function options(block: Block, at: number): OptionRef[] {
  const end = block.start + block.length - 4;
  const le = block.section.littleEndian;
  const found: OptionRef[] = [];
  let position = at;
  while (position + OPTION_HEADER_BYTES <= end) {
    const code = block.view.getUint16(position, le);
    const length = block.view.getUint16(position + 2, le);
    const valueAt = position + OPTION_HEADER_BYTES;
    if (code === OptionCode.EndOfOptions || valueAt + length > end) break;
    found.push({ code, at: valueAt, length });
    position = valueAt + ((length + 3) & ~3);
  }
  return found;
}
