/**
 * Strips the link-layer header of a captured packet down to its IP packet,
 * for the link types a loopback or "any" capture produces.
 *
 * @module
 */

import { LinkType } from "./link_type.ts";

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERNET_HEADER_BYTES = 14;
const VLAN_TAG_BYTES = 4;
const MAX_VLAN_TAGS = 2;
const LOOPBACK_HEADER_BYTES = 4;
const SLL_HEADER_BYTES = 16;
const SLL_PROTOCOL_AT = 14;
const SLL2_HEADER_BYTES = 20;

/** The link types {@linkcode ipPacketOf} reads. */
export const READABLE_LINK_TYPES: ReadonlySet<number> = new Set([
  LinkType.Null,
  LinkType.Ethernet,
  LinkType.Raw,
  LinkType.Loop,
  LinkType.LinuxSll,
  LinkType.Ipv4,
  LinkType.Ipv6,
  LinkType.LinuxSll2,
]);

/**
 * The IP packet inside a captured frame of `linkType`, or undefined when the
 * frame carries something else (ARP, say), is too short, or the link type
 * is not one calcnet reads.
 */
export function ipPacketOf(linkType: number, frame: Uint8Array): Uint8Array | undefined {
  switch (linkType) {
    case LinkType.Raw:
    case LinkType.Ipv4:
    case LinkType.Ipv6:
      return frame;
    case LinkType.Null:
    case LinkType.Loop:
      // The address family's encoding differs by system; the IP version field tells as well.
      return frame.length > LOOPBACK_HEADER_BYTES
        ? frame.subarray(LOOPBACK_HEADER_BYTES)
        : undefined;
    case LinkType.Ethernet:
      return ethernetPayload(frame);
    case LinkType.LinuxSll:
      return ipByType(frame, SLL_PROTOCOL_AT, SLL_HEADER_BYTES);
    case LinkType.LinuxSll2:
      return ipByType(frame, 0, SLL2_HEADER_BYTES);
    default:
      return undefined;
  }
}

function ethernetPayload(frame: Uint8Array): Uint8Array | undefined {
  let typeAt = ETHERNET_HEADER_BYTES - 2;
  for (let tags = 0; tags < MAX_VLAN_TAGS && isVlan(frame, typeAt); tags++) {
    typeAt += VLAN_TAG_BYTES;
  }
  return ipByType(frame, typeAt, typeAt + 2);
}

function isVlan(frame: Uint8Array, typeAt: number): boolean {
  const type = u16(frame, typeAt);
  return type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ;
}

/** The bytes from `headerBytes` on, when the EtherType at `typeAt` is IPv4 or IPv6. */
function ipByType(frame: Uint8Array, typeAt: number, headerBytes: number): Uint8Array | undefined {
  if (frame.length <= headerBytes) return undefined;
  const type = u16(frame, typeAt);
  return type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6
    ? frame.subarray(headerBytes)
    : undefined;
}

function u16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}
