/**
 * The numbers of the IPv4, IPv6 and TCP headers that both the packet
 * builder and the packet parser use.
 *
 * @module
 */

/** TCP header flag bits (the low byte of the flags field). */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
} as const;

/** IP protocol / IPv6 next-header number of TCP. */
export const PROTOCOL_TCP = 6;
/** Bytes of an IPv4 header without options. */
export const IPV4_HEADER_BYTES = 20;
/** Bytes of the IPv6 fixed header. */
export const IPV6_HEADER_BYTES = 40;
/** Bytes of a TCP header without options. */
export const TCP_HEADER_BYTES = 20;
/** The largest IPv4 packet (its total length is 16 bits). */
export const MAX_IP_PACKET = 65535;
/**
 * The most data calcnet puts in one synthesised segment: what fits an IPv4
 * packet with option-less headers (65535 - 20 - 20), the MSS Linux
 * announces on loopback.
 */
export const MAX_SEGMENT_DATA = MAX_IP_PACKET - IPV4_HEADER_BYTES - TCP_HEADER_BYTES;
