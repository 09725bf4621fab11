/**
 * The wire format (docs/PROTOCOL.md §2): the 12-byte header with its flags
 * and normalisation, request packets, and framing by total length — the
 * pure {@linkcode FrameAssembler} and the {@linkcode PacketReader} and
 * {@linkcode writeAll} that put it on a byte stream. The lowest layer: it
 * imports nothing of calcnet but `base/`.
 *
 * @module
 */

export { FrameAssembler, FrameError } from "./frame_assembler.ts";
export {
  decodeHeader,
  encodePacket,
  type Header,
  HEADER_SIZE,
  headerProblem,
  type HeaderWarning,
  invalidTotalLength,
  MAX_AGE_FOREVER,
  MAX_PACKET_SIZE,
  Status,
  unixSeconds,
  writeHeader,
} from "./header.ts";
export { IncompleteFrameError, PacketReader, writeAll } from "./packet_stream.ts";
export { DEFAULT_REQUEST_FLAGS, type RequestFlags, requestPacket } from "./request_packet.ts";
