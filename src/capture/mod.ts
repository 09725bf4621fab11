/**
 * Captures: calcnet's traffic recorded as pcapng files Wireshark opens, and
 * pcap/pcapng files (or hex copied from Wireshark) decoded back into
 * protocol messages. Sits beside `net/`: uses protocol/, pickle/ and calc/.
 *
 * - Recording: {@linkcode Recorder} (what a proxy calls),
 *   {@linkcode PcapngWriter} (the pure core), {@linkcode CaptureFile} (the
 *   file shell).
 * - Reading: {@linkcode readCapture} (pcap and pcapng),
 *   {@linkcode collectMessages} (TCP streams to messages).
 * - Decoding: {@linkcode decodeCapture}, {@linkcode decodeHex},
 *   {@linkcode decodeMessage}, and the text and JSON forms of the records.
 *
 * @module
 */

export {
  type Endpoint,
  preciseNowMs,
  type RecordedConnection,
  type Recorder,
  type Side,
} from "./recorder.ts";
export {
  DEFAULT_MAX_CAPTURE_BYTES,
  PcapngWriter,
  type PcapngWriterOptions,
  STOP_RESERVE_BYTES,
} from "./pcapng_writer.ts";
export { CaptureFile, type CaptureFileOptions } from "./capture_file.ts";
export { RecordingTap, type TapCloser, type TrafficTap } from "./recording_tap.ts";
export {
  type CaptureContents,
  type CapturedPacket,
  CaptureFormatError,
} from "./captured_packet.ts";
export { isCaptureFile, readCapture } from "./capture_reader.ts";
export { LinkType, linkTypeName } from "./link_type.ts";
export {
  type CaptureSummary,
  type CollectedCapture,
  collectMessages,
  type StreamItem,
} from "./stream_collector.ts";
export { HexInputError, parseHexText, unwrapHex } from "./hex_input.ts";
export {
  type DecodedMessage,
  decodeMessage,
  type Payload,
  type RawHeader,
} from "./message_decoder.ts";
export {
  type CommentRecord,
  decodeCapture,
  decodeHex,
  type DecodeRecord,
  type DecodeReport,
  type FragmentRecord,
  type Link,
  type MessageRecord,
} from "./decode_report.ts";
export { recordText, summaryText } from "./decode_text.ts";
export { type Json, recordJson } from "./decode_json.ts";
