/**
 * Whether bytes look like the start of a calculator-protocol message: used
 * to pick out calcnet's TCP streams in a capture and to find the next
 * message after bytes the capture lost.
 *
 * @module
 */

import { HEADER_SIZE } from "../protocol/mod.ts";

/** PROTO, the first opcode of a pickle of protocol 2 or later. */
const PICKLE_PROTO = 0x80;
const MIN_RESPONSE_STATUS = 100;
const MAX_STATUS = 999;
const HIGHEST_PICKLE_PROTOCOL = 5;
const LOWEST_PICKLE_PROTOCOL = 2;

/**
 * Whether `bytes` start with a plausible header: total length at least 12,
 * reserved bits and padding zero, status 0 on a request and 100–999 on a
 * response, and, when data follows in `bytes`, a pickle PROTO 2–5 opcode.
 */
export function looksLikeHeader(bytes: Uint8Array): boolean {
  if (bytes.length < HEADER_SIZE) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const totalLength = view.getUint16(4);
  const flags = view.getUint16(6);
  const status = flags & 0x03ff;
  const isRequest = (flags & 0x0400) !== 0;
  if (totalLength < HEADER_SIZE || flags >>> 13 !== 0 || view.getUint16(10) !== 0) return false;
  if (isRequest ? status !== 0 : status < MIN_RESPONSE_STATUS || status > MAX_STATUS) return false;
  if (totalLength === HEADER_SIZE || bytes.length === HEADER_SIZE) return true;
  if (bytes[HEADER_SIZE] !== PICKLE_PROTO) return false;
  const protocol = bytes[HEADER_SIZE + 1];
  return protocol === undefined ||
    (protocol >= LOWEST_PICKLE_PROTOCOL && protocol <= HIGHEST_PICKLE_PROTOCOL);
}

/**
 * Whether `bytes`, shorter than a header (a client that sent its first
 * message in pieces), could be the start of one: what is there of the
 * total length and the flag word is consistent with {@linkcode looksLikeHeader}.
 */
export function couldStartHeader(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.length >= HEADER_SIZE) return false;
  const byte = (i: number): number => bytes[i] ?? 0;
  if (bytes.length >= 6 && (byte(4) << 8 | byte(5)) < HEADER_SIZE) return false;
  // The flag word's top three bits are the reserved ones.
  return bytes.length < 7 || byte(6) >>> 5 === 0;
}
