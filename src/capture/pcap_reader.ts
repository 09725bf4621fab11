/**
 * Reads classic libpcap files: either byte order, microsecond or
 * nanosecond time stamps.
 *
 * @module
 */

import {
  type CaptureContents,
  type CapturedPacket,
  CaptureFormatError,
} from "./captured_packet.ts";

const MAGIC_MICROSECONDS = 0xa1b2c3d4;
const MAGIC_NANOSECONDS = 0xa1b23c4d;
const FILE_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;
/** The link type is the low 16 bits of the header's last field (FCS information above). */
const LINK_TYPE_MASK = 0xffff;
const NANOS_PER_SECOND = 1_000_000_000n;
const NANOS_PER_MICRO = 1000n;

/** Whether `bytes` start with a pcap magic number, in either byte order. */
export function isPcap(bytes: Uint8Array): boolean {
  return pcapMagic(bytes) !== undefined;
}

function pcapMagic(bytes: Uint8Array): { littleEndian: boolean; nanos: boolean } | undefined {
  if (bytes.length < 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const littleEndian of [true, false]) {
    const magic = view.getUint32(0, littleEndian);
    if (magic === MAGIC_MICROSECONDS) return { littleEndian, nanos: false };
    if (magic === MAGIC_NANOSECONDS) return { littleEndian, nanos: true };
  }
  return undefined;
}

/**
 * The packets of a pcap file. A file cut short (a capture still being
 * written, or killed) gives the whole records before the cut and a problem.
 *
 * @throws {CaptureFormatError} when `bytes` are not a pcap file.
 */
export function readPcap(bytes: Uint8Array): CaptureContents {
  const magic = pcapMagic(bytes);
  if (magic === undefined) throw new CaptureFormatError("not a pcap file (no pcap magic number)");
  if (bytes.length < FILE_HEADER_BYTES) {
    throw new CaptureFormatError(
      `a pcap file header is ${FILE_HEADER_BYTES} bytes; this file has ${bytes.length}`,
    );
  }
  const { littleEndian, nanos } = magic;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const linkType = view.getUint32(20, littleEndian) & LINK_TYPE_MASK;
  const packets: CapturedPacket[] = [];
  const problems: string[] = [];
  let at = FILE_HEADER_BYTES;
  while (at < bytes.length) {
    if (at + RECORD_HEADER_BYTES > bytes.length) {
      problems.push(`the file ends in the middle of a packet record header (offset ${at})`);
      break;
    }
    const seconds = BigInt(view.getUint32(at, littleEndian));
    const fraction = BigInt(view.getUint32(at + 4, littleEndian));
    const captured = view.getUint32(at + 8, littleEndian);
    const original = view.getUint32(at + 12, littleEndian);
    const start = at + RECORD_HEADER_BYTES;
    if (start + captured > bytes.length) {
      problems.push(
        `the file ends in the middle of packet ${packets.length + 1} ` +
          `(${bytes.length - start} of its ${captured} bytes are there)`,
      );
      break;
    }
    packets.push({
      frame: packets.length + 1,
      linkType,
      timeNs: seconds * NANOS_PER_SECOND + (nanos ? fraction : fraction * NANOS_PER_MICRO),
      data: bytes.subarray(start, start + captured),
      originalLength: Math.max(original, captured),
      comments: [],
    });
    at = start + captured;
  }
  return { format: "pcap", packets, problems };
}
