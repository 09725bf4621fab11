/**
 * Reads the TCP segment out of an IPv4 or IPv6 packet.
 *
 * @module
 */

import { IPV4_BYTES, IPV6_BYTES } from "./ip_address.ts";
import {
  IPV4_HEADER_BYTES,
  IPV6_HEADER_BYTES,
  PROTOCOL_TCP,
  TCP_HEADER_BYTES,
} from "./tcp_ip_layout.ts";

/** A TCP segment as captured. */
export interface TcpSegment {
  /** Source address, 4 or 16 bytes. */
  readonly source: Uint8Array;
  /** Destination address. */
  readonly destination: Uint8Array;
  /** The sender's TCP port. */
  readonly sourcePort: number;
  /** The receiver's TCP port. */
  readonly destinationPort: number;
  /** Sequence number (uint32). */
  readonly seq: number;
  /** Acknowledgement number (uint32). */
  readonly ack: number;
  /** The flag bits ({@linkcode TcpFlag}). */
  readonly flags: number;
  /** The payload bytes the capture holds. */
  readonly payload: Uint8Array;
  /** Payload bytes the capture cut off (its snap length): they were sent but are not here. */
  readonly missing: number;
}

/** IPv6 extension headers that are skipped on the way to TCP (hop-by-hop, routing, destination options). */
const SKIPPED_EXTENSIONS: ReadonlySet<number> = new Set([0, 43, 60]);
const IPV6_EXTENSION_UNIT = 8;
const MAX_EXTENSIONS = 8;
const IPV4_MORE_FRAGMENTS = 0x2000;
const IPV4_FRAGMENT_OFFSET = 0x1fff;

/**
 * The TCP segment in `ip` (an IPv4 or IPv6 packet as captured), or undefined
 * for anything else: another protocol, an IP fragment, headers cut short.
 */
export function tcpSegmentOf(ip: Uint8Array): TcpSegment | undefined {
  const version = (ip[0] ?? 0) >>> 4;
  if (version === 4) return ipv4Segment(ip);
  if (version === 6) return ipv6Segment(ip);
  return undefined;
}

function ipv4Segment(ip: Uint8Array): TcpSegment | undefined {
  if (ip.length < IPV4_HEADER_BYTES) return undefined;
  const view = new DataView(ip.buffer, ip.byteOffset, ip.byteLength);
  const headerBytes = (view.getUint8(0) & 0x0f) * 4;
  const fragment = view.getUint16(6);
  if (headerBytes < IPV4_HEADER_BYTES || view.getUint8(9) !== PROTOCOL_TCP) return undefined;
  if ((fragment & (IPV4_MORE_FRAGMENTS | IPV4_FRAGMENT_OFFSET)) !== 0) return undefined;
  // A total length of 0: segmentation offload handed the capture a large packet.
  const total = view.getUint16(2) || ip.length;
  if (total < headerBytes) return undefined;
  return tcpOf(
    ip,
    headerBytes,
    total,
    ip.subarray(12, 12 + IPV4_BYTES),
    ip.subarray(16, 16 + IPV4_BYTES),
  );
}

function ipv6Segment(ip: Uint8Array): TcpSegment | undefined {
  if (ip.length < IPV6_HEADER_BYTES) return undefined;
  const payloadLength = ((ip[4] as number) << 8) | (ip[5] as number);
  const total = payloadLength === 0 ? ip.length : IPV6_HEADER_BYTES + payloadLength;
  let next = ip[6] as number;
  let at = IPV6_HEADER_BYTES;
  for (let count = 0; SKIPPED_EXTENSIONS.has(next) && count < MAX_EXTENSIONS; count++) {
    if (at + 2 > ip.length) return undefined;
    next = ip[at] as number;
    at += ((ip[at + 1] as number) + 1) * IPV6_EXTENSION_UNIT;
  }
  if (next !== PROTOCOL_TCP || at > total) return undefined;
  return tcpOf(ip, at, total, ip.subarray(8, 8 + IPV6_BYTES), ip.subarray(24, 24 + IPV6_BYTES));
}

/** The segment at `at` in `ip`, whose IP length says `total` bytes. */
function tcpOf(
  ip: Uint8Array,
  at: number,
  total: number,
  source: Uint8Array,
  destination: Uint8Array,
): TcpSegment | undefined {
  if (at + TCP_HEADER_BYTES > Math.min(ip.length, total)) return undefined;
  const view = new DataView(ip.buffer, ip.byteOffset + at, TCP_HEADER_BYTES);
  const headerBytes = (view.getUint8(12) >>> 4) * 4;
  const dataAt = at + headerBytes;
  if (headerBytes < TCP_HEADER_BYTES || dataAt > Math.min(ip.length, total)) return undefined;
  const captured = Math.min(ip.length, total);
  return {
    source,
    destination,
    sourcePort: view.getUint16(0),
    destinationPort: view.getUint16(2),
    seq: view.getUint32(4),
    ack: view.getUint32(8),
    flags: view.getUint8(13),
    payload: ip.subarray(dataAt, captured),
    missing: total - captured,
  };
}
