/**
 * What the pcap and pcapng readers give: the packets of a capture file,
 * numbered as Wireshark numbers its frames, and what went wrong on the way.
 *
 * @module
 */

/** One packet of a capture. */
export interface CapturedPacket {
  /** Wireshark's frame number: 1 for the file's first packet. */
  readonly frame: number;
  /** The LINKTYPE_ value of its interface. */
  readonly linkType: number;
  /** Unix time in nanoseconds, or null (a pcapng Simple Packet Block has none). */
  readonly timeNs: bigint | null;
  /** The captured bytes (a view into the file's bytes). */
  readonly data: Uint8Array;
  /** The packet's length on the wire; more than `data.length` when the capture cut it short. */
  readonly originalLength: number;
  /** Its packet comments (pcapng `opt_comment`). */
  readonly comments: readonly string[];
}

/** A capture file's packets. */
export interface CaptureContents {
  /** The file format. */
  readonly format: "pcap" | "pcapng";
  /** Every packet, in file order. */
  readonly packets: CapturedPacket[];
  /**
   * Why reading stopped early or skipped something (e.g. "the file ends in
   * the middle of a block"): the packets before it are still good.
   */
  readonly problems: string[];
}

/** Bytes that are not a pcap or pcapng file at all. */
export class CaptureFormatError extends Error {
  /** The error class's name. */
  /** The class name, as messages and logs show it. */
  override name: string = "CaptureFormatError";
}
