/**
 * Builds IPv4 or IPv6 packets carrying one TCP segment, checksums included,
 * for the traffic calcnet records (there is no link layer: LINKTYPE_RAW).
 *
 * @module
 */

import { addWords, checksumOf } from "./internet_checksum.ts";
import { IPV4_BYTES } from "./ip_address.ts";
import type { TcpSegment } from "./tcp_segment.ts";
import {
  IPV4_HEADER_BYTES,
  IPV6_HEADER_BYTES,
  MAX_IP_PACKET,
  PROTOCOL_TCP,
  TCP_HEADER_BYTES,
} from "./tcp_ip_layout.ts";

/** The fields of a segment to build: those a captured one has, and what only a sender sets. */
export interface TcpSegmentFields extends Omit<TcpSegment, "missing"> {
  /** The window field (16 bits, before scaling). */
  readonly window: number;
  /** TCP options, padded to a multiple of 4 bytes. */
  readonly options?: Uint8Array;
  /** The IPv4 identification field (ignored for IPv6). */
  readonly ipId: number;
}

/** A built packet and the bytes of its IP and TCP headers. */
export interface BuiltPacket {
  /** The IP packet. */
  readonly packet: Uint8Array;
  /** Bytes of its IP and TCP headers (with options). */
  readonly headerBytes: number;
}

const TTL = 64;
const IPV4_DONT_FRAGMENT = 0x4000;
const NO_OPTIONS = new Uint8Array(0);

/**
 * The IP packet holding the segment described by `fields`, with the IPv4
 * header checksum and the TCP checksum (pseudo-header included) filled in.
 *
 * @throws {RangeError} when the addresses differ in family or the packet
 * would exceed 65535 bytes.
 */
export function buildTcpPacket(fields: TcpSegmentFields): BuiltPacket {
  const v4 = fields.source.length === IPV4_BYTES;
  if (fields.source.length !== fields.destination.length) {
    throw new RangeError("the source and destination addresses differ in family");
  }
  const options = fields.options ?? NO_OPTIONS;
  const ipHeader = v4 ? IPV4_HEADER_BYTES : IPV6_HEADER_BYTES;
  const tcpLength = TCP_HEADER_BYTES + options.length + fields.payload.length;
  // IPv4's total length counts its header; IPv6's payload length does not.
  if (tcpLength + (v4 ? ipHeader : 0) > MAX_IP_PACKET) {
    throw new RangeError(`a TCP segment of ${tcpLength} bytes does not fit an IP packet`);
  }
  const packet = new Uint8Array(ipHeader + tcpLength);
  const view = new DataView(packet.buffer);
  if (v4) writeIpv4Header(view, fields, tcpLength);
  else writeIpv6Header(view, fields, tcpLength);
  const tcp = packet.subarray(ipHeader);
  const tcpView = new DataView(packet.buffer, ipHeader);
  tcpView.setUint16(0, fields.sourcePort);
  tcpView.setUint16(2, fields.destinationPort);
  tcpView.setUint32(4, fields.seq >>> 0);
  tcpView.setUint32(8, fields.ack >>> 0);
  tcpView.setUint16(12, ((TCP_HEADER_BYTES + options.length) / 4) << 12 | fields.flags);
  tcpView.setUint16(14, fields.window);
  tcp.set(options, TCP_HEADER_BYTES);
  tcp.set(fields.payload, TCP_HEADER_BYTES + options.length);
  const pseudo = addWords(fields.destination, addWords(fields.source)) + PROTOCOL_TCP + tcpLength;
  tcpView.setUint16(16, checksumOf(addWords(tcp, pseudo)));
  return { packet, headerBytes: ipHeader + TCP_HEADER_BYTES + options.length };
}

function writeIpv4Header(view: DataView, fields: TcpSegmentFields, tcpLength: number): void {
  const version4Ihl5 = 0x45;
  view.setUint8(0, version4Ihl5);
  view.setUint16(2, IPV4_HEADER_BYTES + tcpLength);
  view.setUint16(4, fields.ipId & 0xffff);
  view.setUint16(6, IPV4_DONT_FRAGMENT);
  view.setUint8(8, TTL);
  view.setUint8(9, PROTOCOL_TCP);
  const header = new Uint8Array(view.buffer, 0, IPV4_HEADER_BYTES);
  header.set(fields.source, 12);
  header.set(fields.destination, 16);
  view.setUint16(10, checksumOf(addWords(header)));
}

function writeIpv6Header(view: DataView, fields: TcpSegmentFields, tcpLength: number): void {
  const version6 = 0x60000000;
  view.setUint32(0, version6);
  view.setUint16(4, tcpLength);
  view.setUint8(6, PROTOCOL_TCP);
  view.setUint8(7, TTL);
  const header = new Uint8Array(view.buffer, 0, IPV6_HEADER_BYTES);
  header.set(fields.source, 8);
  header.set(fields.destination, 24);
}
