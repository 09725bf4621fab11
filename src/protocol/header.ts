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

/** Where the time stamp (u32) starts in a header. */
export const TIMESTAMP_OFFSET = 0;
/** Where the total length (u16) starts in a header. */
export const TOTAL_LENGTH_OFFSET = 4;
/** Where the flag word (u16) starts in a header. */
export const FLAGS_OFFSET = 6;
/** Where the cache control (u16) starts in a header. */
export const CACHE_CONTROL_OFFSET = 8;
/** Where the two padding bytes start in a header. */
export const PADDING_OFFSET = 10;

/** The flag word's C bit: request "you may cache", response "may be / was cached". */
export const FLAG_CACHE_RESULT = 0x1000;
/** The flag word's S bit: request "send steps", response "steps are included". */
export const FLAG_SHOW_STEPS = 0x0800;
/** The flag word's T bit: set in a request. */
export const FLAG_IS_REQUEST = 0x0400;
/** The flag word's 10-bit status code. */
export const STATUS_MASK = 0x03ff;
/** How far the flag word's three reserved bits are shifted up. */
export const RESERVED_SHIFT = 13;
/** The three reserved bits, once shifted down. */
export const RESERVED_MASK = 0b111;

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
  readonly cacheResult: boolean;
  /** S: request "send steps", response "steps are included". */
  readonly showSteps: boolean;
  /** T: true for a request, false for a response. */
  readonly isRequest: boolean;
  /** Status code (10 bits): 0 in requests. */
  readonly statusCode: number;
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

/** What {@linkcode encodePacket} needs; `totalLength` defaults to 12 + data length. */
export type HeaderFields = Omit<Header, "totalLength" | "reserved"> & {
  readonly reserved?: number;
};

/**
 * Applies the reference's normalisation: with C=0 the cache control is
 * forced to 0, and a response with C=1 and cache control 0 gets C=0.
 */
function normaliseHeader(header: Header, warnings: HeaderWarning[]): Header {
  if (!header.cacheResult && header.cacheControl !== 0) {
    warnings.push({
      code: "cache-control-without-cache",
      message: `The cache control value (${header.cacheControl}) is not 0, but the cache result ` +
        "flag is not set. The cache control value will be ignored",
    });
    return { ...header, cacheControl: 0 };
  }
  if (!header.isRequest && header.cacheResult && header.cacheControl === 0) {
    warnings.push({
      code: "response-cache-without-max-age",
      message: "The response may be cached but its cache control is 0: the cache flag is cleared",
    });
    return { ...header, cacheResult: false };
  }
  return header;
}

/**
 * The reference's text for a total length below 12, e.g. "Invalid total
 * length: 5 (must be between 12 and 65535 bytes inclusive)".
 */
export function invalidTotalLength(totalLength: number): string {
  return `Invalid total length: ${totalLength} ` +
    `(must be between ${HEADER_SIZE} and ${MAX_PACKET_SIZE} bytes inclusive)`;
}

/**
 * The total length field of the header that starts at `at` in `bytes`.
 * The caller makes sure the field is there: a missing byte reads as 0.
 *
 * @example
 * ```ts
 * totalLengthAt(packet); // 60 for the course's answer to "max(2, 3) + 3" with steps
 * ```
 */
export function totalLengthAt(bytes: Uint8Array, at = 0): number {
  // A bitwise operator turns undefined (a byte past the end) into 0.
  return (bytes[at + TOTAL_LENGTH_OFFSET] as number) << 8 |
    (bytes[at + TOTAL_LENGTH_OFFSET + 1] as number);
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
  const totalLength = totalLengthAt(packet);
  if (totalLength < HEADER_SIZE) throw new ProtocolError(invalidTotalLength(totalLength));
  const warnings: HeaderWarning[] = [];
  const raw = headerAsSent(packet);
  if (raw.reserved !== 0) {
    warnings.push({ code: "reserved-bits", message: `Reserved bits are set (${raw.reserved})` });
  }
  if (raw.isRequest && raw.statusCode !== 0) {
    warnings.push({
      code: "status-on-request",
      message: `A request carries status code ${raw.statusCode}`,
    });
  }
  if (packet[PADDING_OFFSET] !== 0 || packet[PADDING_OFFSET + 1] !== 0) {
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
 * The fields of the header at the start of `packet` as they were sent,
 * before the reference's normalisation ({@linkcode decodeHeader} applies it
 * and checks the lengths). The caller makes sure a whole header is there.
 *
 * @example
 * ```ts
 * headerAsSent(packet).cacheControl; // 60 even with C=0, where decodeHeader() says 0
 * ```
 */
export function headerAsSent(packet: Uint8Array): Header {
  const view = new DataView(packet.buffer, packet.byteOffset, HEADER_SIZE);
  const flags = view.getUint16(FLAGS_OFFSET);
  return {
    timestamp: view.getUint32(TIMESTAMP_OFFSET),
    totalLength: totalLengthAt(packet),
    reserved: flags >>> RESERVED_SHIFT,
    cacheResult: (flags & FLAG_CACHE_RESULT) !== 0,
    showSteps: (flags & FLAG_SHOW_STEPS) !== 0,
    isRequest: (flags & FLAG_IS_REQUEST) !== 0,
    statusCode: flags & STATUS_MASK,
    cacheControl: view.getUint16(CACHE_CONTROL_OFFSET),
  };
}

/**
 * Encodes a header and its data into one packet (one buffer, so it goes
 * out in one write). The reference's normalisation is applied first.
 *
 * @throws {RangeError} when the packet would exceed {@linkcode MAX_PACKET_SIZE} bytes.
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
  const cacheControl = fields.cacheResult ? fields.cacheControl : 0;
  const cache = fields.cacheResult && (fields.isRequest || cacheControl !== 0);
  const flags = (((fields.reserved ?? 0) & RESERVED_MASK) << RESERVED_SHIFT) |
    (cache ? FLAG_CACHE_RESULT : 0) | (fields.showSteps ? FLAG_SHOW_STEPS : 0) |
    (fields.isRequest ? FLAG_IS_REQUEST : 0) | (fields.statusCode & STATUS_MASK);
  const timestamp = fields.timestamp >>> 0;
  packet[TIMESTAMP_OFFSET] = timestamp >>> 24;
  packet[TIMESTAMP_OFFSET + 1] = timestamp >>> 16;
  packet[TIMESTAMP_OFFSET + 2] = timestamp >>> 8;
  packet[TIMESTAMP_OFFSET + 3] = timestamp;
  packet[TOTAL_LENGTH_OFFSET] = totalLength >>> 8;
  packet[TOTAL_LENGTH_OFFSET + 1] = totalLength;
  packet[FLAGS_OFFSET] = flags >>> 8;
  packet[FLAGS_OFFSET + 1] = flags;
  packet[CACHE_CONTROL_OFFSET] = cacheControl >>> 8;
  packet[CACHE_CONTROL_OFFSET + 1] = cacheControl;
  // The padding: a packet made with room for its header may hold anything there.
  packet[PADDING_OFFSET] = 0;
  packet[PADDING_OFFSET + 1] = 0;
}

/** The current Unix time in whole seconds, from a millisecond clock. */
export function unixSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}
