/**
 * The 12-byte header of docs/PROTOCOL.md §2 (Python `struct` format `!LHHHxx`):
 * time stamp, total length, flag word, cache control, padding.
 *
 * @module
 */

import { ProtocolError } from "../base/mod.ts";

/** Bytes in a header. */
export const HEADER_SIZE = 12;
/** The largest total length a u16 can carry. */
export const MAX_PACKET_SIZE = 65535;
/** Cache control meaning "forever". */
export const MAX_AGE_FOREVER = 65535;

/** Status codes the course uses. */
export const Status = { None: 0, Ok: 200, ClientError: 400, ServerError: 500 } as const;

/** The fields a packet's header carries. */
export interface Header {
  /** Unix seconds when the packet was created (u32). */
  readonly timestamp: number;
  /** Header plus data, in bytes (u16). */
  readonly totalLength: number;
  /** The three reserved bits (normally 0). */
  readonly reserved: number;
  /** C: request "you may cache", response "may be / was cached". */
  readonly cache: boolean;
  /** S: request "send steps", response "steps are included". */
  readonly steps: boolean;
  /** T: true for a request, false for a response. */
  readonly isRequest: boolean;
  /** Status code (10 bits): 0 in requests. */
  readonly status: number;
  /** Max-age in seconds; 65535 means forever. */
  readonly cacheControl: number;
}

/** A header field that the reference only warns about. */
export type HeaderWarningCode =
  | "cache-control-without-cache"
  | "response-cache-without-max-age"
  | "reserved-bits"
  | "status-on-request"
  | "length-mismatch"
  | "padding";

/** A structured warning about a header, as the reference's Python warnings. */
export interface HeaderWarning {
  /** Which rule applied. */
  readonly code: HeaderWarningCode;
  /** A one-line explanation. */
  readonly message: string;
}

/** A header after the reference's normalisation, plus what was normalised. */
export interface DecodedHeader {
  /** The normalised header. */
  readonly header: Header;
  /** The rules that applied, in order. */
  readonly warnings: readonly HeaderWarning[];
}

/** What {@linkcode encodeHeader} needs; `totalLength` defaults to 12 + data length. */
export type HeaderFields = Omit<Header, "totalLength" | "reserved"> & {
  readonly reserved?: number;
};

/**
 * Applies the reference's normalisation: with C=0 the cache control is
 * forced to 0, and a response with C=1 and cache control 0 gets C=0.
 */
function normaliseHeader(header: Header, warnings: HeaderWarning[]): Header {
  if (!header.cache && header.cacheControl !== 0) {
    warnings.push({
      code: "cache-control-without-cache",
      message: `The cache control value (${header.cacheControl}) is not 0, but the cache result ` +
        "flag is not set. The cache control value will be ignored",
    });
    return { ...header, cacheControl: 0 };
  }
  if (!header.isRequest && header.cache && header.cacheControl === 0) {
    warnings.push({
      code: "response-cache-without-max-age",
      message: "The response may be cached but its cache control is 0: the cache flag is cleared",
    });
    return { ...header, cache: false };
  }
  return header;
}

/**
 * The reference's text for a total length below 12, e.g. "Invalid total
 * length: 5 (must be between 12 and 65535 bytes inclusive)".
 */
export function invalidTotalLength(totalLength: number): string {
  return `Invalid total length: ${totalLength} (must be between 12 and 65535 bytes inclusive)`;
}

/**
 * Why `bytes` do not start with a readable header ({@linkcode decodeHeader}'s
 * error text), or `undefined` when they do.
 *
 * @example
 * ```ts
 * headerProblem(new Uint8Array(5)); // "The data is too short (5 bytes) to be a valid header"
 * ```
 */
export function headerProblem(bytes: Uint8Array): string | undefined {
  try {
    decodeHeader(bytes);
    return undefined;
  } catch (error: unknown) {
    if (error instanceof ProtocolError) return error.message;
    throw error;
  }
}

/**
 * Decodes and normalises the header at the start of `packet`. Unusual
 * values are reported as warnings, never thrown; only a packet shorter
 * than a header, or a total length below 12, is an error.
 *
 * @example
 * ```ts
 * const { header } = decodeHeader(packet);
 * header.isRequest; // true
 * ```
 * @throws {ProtocolError} with the reference's text, e.g. "The data is too short (5 bytes) to be a valid header".
 */
export function decodeHeader(packet: Uint8Array): DecodedHeader {
  if (packet.length < HEADER_SIZE) {
    throw new ProtocolError(`The data is too short (${packet.length} bytes) to be a valid header`);
  }
  const view = new DataView(packet.buffer, packet.byteOffset, HEADER_SIZE);
  const totalLength = view.getUint16(4);
  if (totalLength < HEADER_SIZE) throw new ProtocolError(invalidTotalLength(totalLength));
  const flags = view.getUint16(6);
  const warnings: HeaderWarning[] = [];
  const raw: Header = {
    timestamp: view.getUint32(0),
    totalLength,
    reserved: flags >>> 13,
    cache: (flags & 0x1000) !== 0,
    steps: (flags & 0x0800) !== 0,
    isRequest: (flags & 0x0400) !== 0,
    status: flags & 0x03ff,
    cacheControl: view.getUint16(8),
  };
  if (raw.reserved !== 0) {
    warnings.push({ code: "reserved-bits", message: `Reserved bits are set (${raw.reserved})` });
  }
  if (raw.isRequest && raw.status !== 0) {
    warnings.push({
      code: "status-on-request",
      message: `A request carries status code ${raw.status}`,
    });
  }
  if (view.getUint16(10) !== 0) {
    warnings.push({ code: "padding", message: "The padding bytes are not zero" });
  }
  if (totalLength !== packet.length) {
    warnings.push({
      code: "length-mismatch",
      message:
        `The total length field (${totalLength}) disagrees with the packet length (${packet.length})`,
    });
  }
  return { header: normaliseHeader(raw, warnings), warnings };
}

/**
 * Encodes a header and its data into one packet (one buffer, so it goes
 * out in one write). The reference's normalisation is applied first.
 *
 * @throws {RangeError} when the packet would exceed 65535 bytes.
 */
export function encodePacket(fields: HeaderFields, data: Uint8Array): Uint8Array {
  const packet = new Uint8Array(HEADER_SIZE + data.length);
  packet.set(data, HEADER_SIZE);
  writeHeader(packet, fields);
  return packet;
}

/**
 * Writes the header of `fields` into the first 12 bytes of `packet`, whose
 * data already follows them (so an answer is made in one buffer, with no
 * copy); its total length is `packet.length`. The reference's
 * normalisation is applied first.
 *
 * @throws {RangeError} when the packet exceeds 65535 bytes.
 */
export function writeHeader(packet: Uint8Array, fields: HeaderFields): void {
  const totalLength = packet.length;
  if (totalLength > MAX_PACKET_SIZE) {
    throw new RangeError(`packet of ${totalLength} bytes exceeds ${MAX_PACKET_SIZE}`);
  }
  // normaliseHeader()'s rules, inline: this runs once per answer.
  const cacheControl = fields.cache ? fields.cacheControl : 0;
  const cache = fields.cache && (fields.isRequest || cacheControl !== 0);
  const flags = (((fields.reserved ?? 0) & 7) << 13) | (cache ? 0x1000 : 0) |
    (fields.steps ? 0x0800 : 0) | (fields.isRequest ? 0x0400 : 0) | (fields.status & 0x03ff);
  const timestamp = fields.timestamp >>> 0;
  packet[0] = timestamp >>> 24;
  packet[1] = timestamp >>> 16;
  packet[2] = timestamp >>> 8;
  packet[3] = timestamp;
  packet[4] = totalLength >>> 8;
  packet[5] = totalLength;
  packet[6] = flags >>> 8;
  packet[7] = flags;
  packet[8] = cacheControl >>> 8;
  packet[9] = cacheControl;
  // The padding: a packet made with room for its header may hold anything there.
  packet[10] = 0;
  packet[11] = 0;
}

/** The current Unix time in whole seconds, from a millisecond clock. */
export function unixSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}
