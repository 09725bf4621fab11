/**
 * IPv4 and IPv6 addresses: from the text Deno gives for a socket's address
 * to the bytes a packet carries, and back.
 *
 * @module
 */

/** Bytes in an IPv4 address. */
export const IPV4_BYTES = 4;
/** Bytes in an IPv6 address. */
export const IPV6_BYTES = 16;

const IPV6_GROUPS = 8;
const IPV4_PART = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * The bytes of an IP address written as text: dotted IPv4 (`127.0.0.1`) or
 * IPv6 (`::1`, `fe80::1%lo`, `::ffff:127.0.0.1`, optionally in brackets).
 * Returns 4 or 16 bytes.
 *
 * @throws {RangeError} when `text` is not an IP address (a host name, say).
 */
export function parseIp(text: string): Uint8Array {
  const bare = text.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const v4 = parseIpv4(bare);
  if (v4 !== undefined) return v4;
  const v6 = parseIpv6(bare);
  if (v6 !== undefined) return v6;
  throw new RangeError(`'${text}' is not an IPv4 or IPv6 address`);
}

function parseIpv4(text: string): Uint8Array | undefined {
  const match = IPV4_PART.exec(text);
  if (match === null) return undefined;
  const parts = match.slice(1).map(Number);
  if (parts.some((part) => part > 0xff)) return undefined;
  return Uint8Array.from(parts);
}

function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const last = halves.length - 1;
  const parts = halves.map((half, index) => groupsOf(half, index === last));
  const [head, tail] = parts;
  if (head === undefined || head === null || tail === null) return undefined;
  const missing = IPV6_GROUPS - head.length - (tail?.length ?? 0);
  // "::" stands for at least one zero group; without it all eight are written.
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [
    ...head,
    ...new Array<number>(tail === undefined ? 0 : missing).fill(0),
    ...(tail ?? []),
  ];
  const bytes = new Uint8Array(IPV6_BYTES);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >>> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/**
 * The 16-bit groups of one side of `::` (empty text: none), or null when a
 * group is not hex; only the address's last group may be dotted IPv4.
 */
function groupsOf(text: string, endsAddress: boolean): number[] | null {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (const [index, part] of parts.entries()) {
    const v4 = endsAddress && index === parts.length - 1 ? parseIpv4(part) : undefined;
    if (v4 !== undefined) {
      groups.push((v4[0] as number) << 8 | (v4[1] as number));
      groups.push((v4[2] as number) << 8 | (v4[3] as number));
    } else if (HEX_GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return null;
    }
  }
  return groups;
}

/**
 * An IPv4 address as the IPv4-mapped IPv6 address `::ffff:a.b.c.d`, for a
 * connection whose other end is IPv6; an IPv6 address unchanged.
 */
export function toIpv6(address: Uint8Array): Uint8Array {
  if (address.length === IPV6_BYTES) return address;
  const mapped = new Uint8Array(IPV6_BYTES);
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  mapped.set(address, 12);
  return mapped;
}

/**
 * The text of an address of 4 or 16 bytes: dotted IPv4, or IPv6 in the
 * canonical form of RFC 5952 (lower case, the longest run of two or more
 * zero groups as `::`, an IPv4-mapped address as `::ffff:a.b.c.d`).
 */
export function formatIp(address: Uint8Array): string {
  if (address.length === IPV4_BYTES) return address.join(".");
  if (isIpv4Mapped(address)) return `::ffff:${address.subarray(12).join(".")}`;
  const groups = Array.from(
    { length: IPV6_GROUPS },
    (_, i) => ((address[2 * i] as number) << 8) | (address[2 * i + 1] as number),
  );
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < IPV6_GROUPS;) {
    let j = i;
    while (j < IPV6_GROUPS && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** Whether a 16-byte address is `::ffff:a.b.c.d`, shown with the IPv4 part dotted. */
function isIpv4Mapped(address: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (address[i] !== 0) return false;
  return address[10] === 0xff && address[11] === 0xff;
}

/** `address:port`, an IPv6 address in brackets (`[::1]:9999`). */
export function formatEndpoint(address: Uint8Array, port: number): string {
  const text = formatIp(address);
  return address.length === IPV6_BYTES ? `[${text}]:${port}` : `${text}:${port}`;
}
