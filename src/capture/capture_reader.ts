/**
 * Reads a capture file of either format, told apart by its first bytes.
 *
 * @module
 */

import { type CaptureContents, CaptureFormatError } from "./captured_packet.ts";
import { isPcap, readPcap } from "./pcap_reader.ts";
import { isPcapng, readPcapng } from "./pcapng_reader.ts";

/** Whether `bytes` look like a pcap or pcapng file (by their magic number). */
export function isCaptureFile(bytes: Uint8Array): boolean {
  return isPcapng(bytes) || isPcap(bytes);
}

/**
 * The packets of a pcap or pcapng file.
 *
 * @throws {CaptureFormatError} when `bytes` are neither.
 */
export function readCapture(bytes: Uint8Array): CaptureContents {
  if (isPcapng(bytes)) return readPcapng(bytes);
  if (isPcap(bytes)) return readPcap(bytes);
  throw new CaptureFormatError("not a pcap or pcapng file");
}
