/**
 * Builds capture files for the reader tests: pcap and pcapng in either byte
 * order, with the link layers loopback and "any" captures have, from the IP
 * packets calcnet's writer synthesises. Independent of the writer's block
 * code, so a test of the reader does not lean on the writer.
 *
 * @module
 */

import { PcapngWriter, type PcapngWriterOptions } from "../../src/capture/mod.ts";
import { concat } from "./bytes.ts";

/** One packet to put in a file. */
export interface FilePacket {
  /** The link-layer frame (for LINKTYPE_RAW: the IP packet). */
  readonly data: Uint8Array;
  /** Unix time in nanoseconds. */
  readonly timeNs: bigint;
  /** The length on the wire (default: `data.length`). */
  readonly originalLength?: number;
}

/** What `scenario` records, as the pcapng bytes calcnet's writer makes. */
export function recordToBytes(
  scenario: (writer: PcapngWriter) => void,
  options: Omit<PcapngWriterOptions, "write"> = {},
): Uint8Array {
  const blocks: Uint8Array[] = [];
  const writer = new PcapngWriter({ ...options, write: (block) => blocks.push(block) });
  scenario(writer);
  return concat(blocks);
}

/** Options of {@linkcode pcapFile}. */
export interface PcapOptions {
  readonly littleEndian: boolean;
  readonly nanos: boolean;
  readonly linkType: number;
}

/** A classic pcap file. */
export function pcapFile(packets: readonly FilePacket[], options: PcapOptions): Uint8Array {
  const { littleEndian: le, nanos } = options;
  const header = new DataView(new ArrayBuffer(24));
  header.setUint32(0, nanos ? 0xa1b23c4d : 0xa1b2c3d4, le);
  header.setUint16(4, 2, le);
  header.setUint16(6, 4, le);
  header.setUint32(16, 262144, le);
  header.setUint32(20, options.linkType, le);
  const records = packets.map((packet) => {
    const record = new DataView(new ArrayBuffer(16 + packet.data.length));
    const units = nanos ? 1_000_000_000n : 1_000_000n;
    const fraction = (packet.timeNs % 1_000_000_000n) * units / 1_000_000_000n;
    record.setUint32(0, Number(packet.timeNs / 1_000_000_000n), le);
    record.setUint32(4, Number(fraction), le);
    record.setUint32(8, packet.data.length, le);
    record.setUint32(12, packet.originalLength ?? packet.data.length, le);
    const bytes = new Uint8Array(record.buffer);
    bytes.set(packet.data, 16);
    return bytes;
  });
  return concat([new Uint8Array(header.buffer), ...records]);
}

/** A pcapng block of `type` with `body` (padded), in the given byte order. */
export function pcapngBlock(type: number, body: Uint8Array, le: boolean): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const total = 12 + padded;
  const view = new DataView(new ArrayBuffer(total));
  view.setUint32(0, type, le);
  view.setUint32(4, total, le);
  new Uint8Array(view.buffer).set(body, 8);
  view.setUint32(total - 4, total, le);
  return new Uint8Array(view.buffer);
}

/** A pcapng option (code, length, value padded). */
export function pcapngOption(code: number, value: Uint8Array, le: boolean): Uint8Array {
  const view = new DataView(new ArrayBuffer(4 + ((value.length + 3) & ~3)));
  view.setUint16(0, code, le);
  view.setUint16(2, value.length, le);
  new Uint8Array(view.buffer).set(value, 4);
  return new Uint8Array(view.buffer);
}

/** A Section Header Block. */
export function shb(le: boolean): Uint8Array {
  const body = new DataView(new ArrayBuffer(16));
  body.setUint32(0, 0x1a2b3c4d, le);
  body.setUint16(4, 1, le);
  body.setBigInt64(8, -1n, le);
  return pcapngBlock(0x0a0d0d0a, new Uint8Array(body.buffer), le);
}

/** An Interface Description Block; `tsresol` is the raw if_tsresol byte (omitted: microseconds). */
export function idb(linkType: number, le: boolean, tsresol?: number, snapLength = 0): Uint8Array {
  const fixed = new DataView(new ArrayBuffer(8));
  fixed.setUint16(0, linkType, le);
  fixed.setUint32(4, snapLength, le);
  const options = tsresol === undefined
    ? []
    : [pcapngOption(9, Uint8Array.of(tsresol), le), new Uint8Array(4)];
  return pcapngBlock(1, concat([new Uint8Array(fixed.buffer), ...options]), le);
}

/** An Enhanced Packet Block on `iface`, its time in `units` of the interface. */
export function epb(packet: FilePacket, units: bigint, le: boolean, iface = 0): Uint8Array {
  const fixed = new DataView(new ArrayBuffer(20));
  fixed.setUint32(0, iface, le);
  fixed.setUint32(4, Number(units >> 32n), le);
  fixed.setUint32(8, Number(units & 0xffffffffn), le);
  fixed.setUint32(12, packet.data.length, le);
  fixed.setUint32(16, packet.originalLength ?? packet.data.length, le);
  const data = new Uint8Array((packet.data.length + 3) & ~3);
  data.set(packet.data);
  return pcapngBlock(6, concat([new Uint8Array(fixed.buffer), data]), le);
}

/** A Simple Packet Block. */
export function spb(packet: FilePacket, le: boolean): Uint8Array {
  const fixed = new DataView(new ArrayBuffer(4));
  fixed.setUint32(0, packet.originalLength ?? packet.data.length, le);
  return pcapngBlock(3, concat([new Uint8Array(fixed.buffer), packet.data]), le);
}

/** A pcapng file of one section and interface with microsecond Enhanced Packet Blocks. */
export function pcapngFile(
  packets: readonly FilePacket[],
  linkType: number,
  le: boolean,
): Uint8Array {
  return concat([
    shb(le),
    idb(linkType, le),
    ...packets.map((packet) => epb(packet, packet.timeNs / 1000n, le)),
  ]);
}

/** A link-layer frame of `linkType` around the IP packet `ip` (IPv4 or IPv6 by its version). */
export function wrapLink(linkType: number, ip: Uint8Array): Uint8Array {
  const v6 = ip[0] !== undefined && ip[0] >>> 4 === 6;
  const etherType = v6 ? [0x86, 0xdd] : [0x08, 0x00];
  switch (linkType) {
    case 0: // NULL: the family in the capturing host's (here: little-endian) order; Linux's AF_INET6 is 10
      return concat([Uint8Array.of(v6 ? 10 : 2, 0, 0, 0), ip]);
    case 1: // ETHERNET, zero MAC addresses as Linux's lo
      return concat([new Uint8Array(12), Uint8Array.from(etherType), ip]);
    case 108: // LOOP: the family in network order; OpenBSD's AF_INET6 is 24
      return concat([Uint8Array.of(0, 0, 0, v6 ? 24 : 2), ip]);
    case 113: // LINUX_SLL: packet type, ARPHRD_LOOPBACK, address length, address, protocol
      return concat([
        Uint8Array.of(0, 0, 0x03, 0x04, 0, 6),
        new Uint8Array(8),
        Uint8Array.from(etherType),
        ip,
      ]);
    case 276: // LINUX_SLL2: protocol, reserved, interface index, ARPHRD, packet type, address length, address
      return concat([
        Uint8Array.from(etherType),
        Uint8Array.of(0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6),
        new Uint8Array(8),
        ip,
      ]);
    default:
      return ip;
  }
}

/** An Ethernet frame with an 802.1Q VLAN tag around `ip`. */
export function vlanFrame(ip: Uint8Array): Uint8Array {
  return concat([new Uint8Array(12), Uint8Array.of(0x81, 0x00, 0x00, 0x05, 0x08, 0x00), ip]);
}
