/**
 * What a response read back from a cache file must be before the proxy may
 * serve it: a file is data from outside, and an entry that is not a
 * response of the course's server must never reach a client.
 *
 * @module
 */

import {
  FLAG_IS_REQUEST,
  FLAGS_OFFSET,
  HEADER_SIZE,
  Status,
  STATUS_MASK,
} from "../protocol/mod.ts";
import { HIGHEST_PROTOCOL, Op } from "../pickle/mod.ts";
import { responsePacketProblem } from "./cache.ts";

/** The lowest pickle protocol whose pickles start with a PROTO opcode. */
const LOWEST_PROTO_PROTOCOL = 2;

/** The statuses the course's server and proxy answer with. */
const KNOWN_STATUSES: ReadonlySet<number> = new Set([
  Status.Ok,
  Status.ClientError,
  Status.ServerError,
]);

/**
 * Why a packet (a binary string, one character per byte) must not be
 * served from a cache, or `undefined` when it may: it must be a whole
 * packet whose total length field equals its size, a response (T=0) with
 * status 200, 400 or 500, and its data must be a pickle of protocol 2 to 5
 * (start with a PROTO opcode), as every answer of the course's server is.
 *
 * @example
 * ```ts
 * storedResponseProblem(requestPacketAsBinary); // "a request packet (T=1), not a response"
 * ```
 */
export function storedResponseProblem(packet: string): string | undefined {
  const packetProblem = responsePacketProblem(packet);
  if (packetProblem !== undefined) return packetProblem;
  const flags = (packet.charCodeAt(FLAGS_OFFSET) << 8) | packet.charCodeAt(FLAGS_OFFSET + 1);
  if ((flags & FLAG_IS_REQUEST) !== 0) return "a request packet (T=1), not a response";
  const status = flags & STATUS_MASK;
  if (!KNOWN_STATUSES.has(status)) return `a response with the unknown status ${status}`;
  const protocol = packet.charCodeAt(HEADER_SIZE + 1);
  if (
    packet.charCodeAt(HEADER_SIZE) !== Op.PROTO || packet.length < HEADER_SIZE + 2 ||
    protocol < LOWEST_PROTO_PROTOCOL || protocol > HIGHEST_PROTOCOL
  ) {
    return "a response whose data is not a pickle of protocol 2 to 5";
  }
  return undefined;
}
