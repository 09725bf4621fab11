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
  CACHE_CONTROL_OFFSET,
  decodeHeader,
  encodePacket,
  FLAG_CACHE_RESULT,
  FLAG_IS_REQUEST,
  FLAG_SHOW_STEPS,
  FLAGS_OFFSET,
  type Header,
  HEADER_SIZE,
  headerAsSent,
  headerProblem,
  type HeaderWarning,
  invalidTotalLength,
  MAX_AGE_FOREVER,
  MAX_PACKET_SIZE,
  PADDING_OFFSET,
  RESERVED_MASK,
  RESERVED_SHIFT,
  Status,
  STATUS_MASK,
  TIMESTAMP_OFFSET,
  TOTAL_LENGTH_OFFSET,
  totalLengthAt,
  unixSeconds,
  writeHeader,
} from "./header.ts";
export { IncompleteFrameError, PacketReader, writeAll } from "./packet_stream.ts";
export { DEFAULT_REQUEST_FLAGS, type RequestFlags, requestPacket } from "./request_packet.ts";
