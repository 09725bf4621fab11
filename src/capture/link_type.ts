/**
 * The link-layer header types (tcpdump.org's LINKTYPE_ values) that
 * calcnet writes and reads.
 *
 * @module
 */

/** LINKTYPE_ values. */
export const LinkType = {
  /** BSD loopback: a 4-byte address family in the capturing host's byte order. */
  Null: 0,
  /** Ethernet II (Linux's `lo` is captured this way, with zero MAC addresses). */
  Ethernet: 1,
  /** Raw IPv4 or IPv6, no link layer: what calcnet's recordings use. */
  Raw: 101,
  /** OpenBSD loopback: the address family in network byte order. */
  Loop: 108,
  /** Linux "cooked" capture v1 (`tshark -i any`). */
  LinuxSll: 113,
  /** Raw IPv4 only. */
  Ipv4: 228,
  /** Raw IPv6 only. */
  Ipv6: 229,
  /** Linux "cooked" capture v2 (`tshark -i any` since libpcap 1.10). */
  LinuxSll2: 276,
} as const;

const NAMES: Readonly<Record<number, string>> = {
  [LinkType.Null]: "LINKTYPE_NULL",
  [LinkType.Ethernet]: "LINKTYPE_ETHERNET",
  [LinkType.Raw]: "LINKTYPE_RAW",
  [LinkType.Loop]: "LINKTYPE_LOOP",
  [LinkType.LinuxSll]: "LINKTYPE_LINUX_SLL",
  [LinkType.Ipv4]: "LINKTYPE_IPV4",
  [LinkType.Ipv6]: "LINKTYPE_IPV6",
  [LinkType.LinuxSll2]: "LINKTYPE_LINUX_SLL2",
};

/** A link type's name for messages: `LINKTYPE_RAW`, or `link type 147` for one calcnet does not read. */
export function linkTypeName(linkType: number): string {
  return NAMES[linkType] ?? `link type ${linkType}`;
}
