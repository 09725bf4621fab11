/**
 * Whether bytes look like the start of a calculator-protocol message: used
 * to pick out calcnet's TCP streams in a capture and to find the next
 * message after bytes the capture lost.
 *
 * @module
 */

import {
  FLAG_IS_REQUEST,
  FLAGS_OFFSET,
  HEADER_SIZE,
  PADDING_OFFSET,
  RESERVED_SHIFT,
  STATUS_MASK,
  TOTAL_LENGTH_OFFSET,
  totalLengthAt,
} from "../protocol/mod.ts";
import { HIGHEST_PROTOCOL, Op } from "../pickle/mod.ts";

const MIN_RESPONSE_STATUS = 100;
const MAX_STATUS = 999;
/** The lowest pickle protocol whose pickles start with a PROTO opcode. */
const LOWEST_PICKLE_PROTOCOL = 2;

/**
 * Whether `bytes` start with a plausible header: total length at least 12,
 * reserved bits and padding zero, status 0 on a request and 100–999 on a
 * response, and, when data follows in `bytes`, a pickle PROTO 2–5 opcode.
 */
export function looksLikeHeader(bytes: Uint8Array): boolean {
  if (bytes.length < HEADER_SIZE) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const totalLength = totalLengthAt(bytes);
  const flags = view.getUint16(FLAGS_OFFSET);
  const status = flags & STATUS_MASK;
  const isRequest = (flags & FLAG_IS_REQUEST) !== 0;
  if (totalLength < HEADER_SIZE || flags >>> RESERVED_SHIFT !== 0) return false;
  if (view.getUint16(PADDING_OFFSET) !== 0) return false;
  if (isRequest ? status !== 0 : status < MIN_RESPONSE_STATUS || status > MAX_STATUS) return false;
  if (totalLength === HEADER_SIZE || bytes.length === HEADER_SIZE) return true;
  if (bytes[HEADER_SIZE] !== Op.PROTO) return false;
  const protocol = bytes[HEADER_SIZE + 1];
  return protocol === undefined ||
    (protocol >= LOWEST_PICKLE_PROTOCOL && protocol <= HIGHEST_PROTOCOL);
}

/**
 * Whether `bytes`, shorter than a header (a client that sent its first
 * message in pieces), could be the start of one: what is there of the
 * total length and the flag word is consistent with {@linkcode looksLikeHeader}.
 */
export function couldStartHeader(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.length >= HEADER_SIZE) return false;
  const hasTotalLength = bytes.length >= TOTAL_LENGTH_OFFSET + 2;
  if (hasTotalLength && totalLengthAt(bytes) < HEADER_SIZE) return false;
  if (bytes.length <= FLAGS_OFFSET) return true;
  // The flag word's first byte holds the reserved bits.
  return ((bytes[FLAGS_OFFSET] as number) << 8) >>> RESERVED_SHIFT === 0;
}
