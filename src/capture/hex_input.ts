/**
 * Hex as copied from Wireshark ("Copy → …as a Hex Stream"): of the
 * protocol's bytes (one or more messages, e.g. the TCP payload or a
 * reassembled message) or of a whole frame (Ethernet, or raw IP, with IP
 * and TCP headers), which is unwrapped to its TCP payload.
 *
 * @module
 */

import { HEADER_SIZE, totalLengthAt } from "../protocol/mod.ts";
import { looksLikeHeader } from "./header_heuristic.ts";
import { formatEndpoint } from "./ip_address.ts";
import { ipPacketOf } from "./link_layer.ts";
import { LinkType } from "./link_type.ts";
import { type TcpSegment, tcpSegmentOf } from "./tcp_segment.ts";

/** Text that is not a hex stream. */
export class HexInputError extends Error {
  /** The error class's name. */
  /** The class name, as messages and logs show it. */
  override name: string = "HexInputError";
}

/** What a hex stream held. */
export interface HexPayload {
  /** The layer the hex started at. */
  readonly layer: "messages" | "ethernet" | "ip";
  /** The protocol's bytes. */
  readonly bytes: Uint8Array;
  /** The frame's sender and receiver (`address:port`) when it was a frame. */
  readonly source?: string;
  /** The frame's receiver (`address:port`) when it was a frame. */
  readonly destination?: string;
}

/** Separators tolerated between hex digits: white space, colons, and a leading 0x. */
const SEPARATORS = /[\s:]+/g;

/**
 * The bytes of a hex stream. White space and colons anywhere are ignored, as
 * is a leading `0x`.
 *
 * @throws {HexInputError} for another character, an odd number of digits, or no digits.
 */
export function parseHexText(text: string): Uint8Array {
  const digits = text.replace(SEPARATORS, "").replace(/^0x/i, "");
  const bad = /[^0-9a-fA-F]/.exec(digits);
  if (bad !== null) {
    const shown = JSON.stringify(bad[0]);
    throw new HexInputError(`not hex: ${shown} at digit ${bad.index + 1} (expected 0-9, a-f)`);
  }
  if (digits.length === 0) throw new HexInputError("no hex digits");
  if (digits.length % 2 !== 0) {
    throw new HexInputError(`an odd number of hex digits (${digits.length})`);
  }
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/**
 * What `bytes` hold: whole messages when they frame exactly by their total
 * lengths; else the TCP payload of an Ethernet frame or of an IP packet;
 * else (a partial copy) the bytes as messages anyway, for the framer to
 * report.
 */
export function unwrapHex(bytes: Uint8Array): HexPayload {
  if (framesExactly(bytes)) return { layer: "messages", bytes };
  const ethernet = ipPacketOf(LinkType.Ethernet, bytes);
  const viaEthernet = ethernet === undefined ? undefined : tcpSegmentOf(ethernet);
  if (viaEthernet !== undefined) return fromSegment("ethernet", viaEthernet);
  const viaIp = tcpSegmentOf(bytes);
  if (viaIp !== undefined) return fromSegment("ip", viaIp);
  return { layer: "messages", bytes };
}

function fromSegment(layer: "ethernet" | "ip", segment: TcpSegment): HexPayload {
  return {
    layer,
    bytes: segment.payload,
    source: formatEndpoint(segment.source, segment.sourcePort),
    destination: formatEndpoint(segment.destination, segment.destinationPort),
  };
}

/** Whether `bytes` are a chain of messages, each starting with a plausible header, ending exactly. */
function framesExactly(bytes: Uint8Array): boolean {
  let at = 0;
  while (at < bytes.length) {
    if (!looksLikeHeader(bytes.subarray(at))) return false;
    at += totalLengthAt(bytes, at);
  }
  return at === bytes.length && at >= HEADER_SIZE;
}
