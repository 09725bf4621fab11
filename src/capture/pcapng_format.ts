/**
 * The numbers of the pcapng format (IETF draft-ietf-opsawg-pcapng) that the
 * writer and the reader share.
 *
 * @module
 */

/** Block types. */
export const BlockType = {
  SectionHeader: 0x0a0d0d0a,
  InterfaceDescription: 0x00000001,
  SimplePacket: 0x00000003,
  EnhancedPacket: 0x00000006,
} as const;

/** The byte-order magic of a Section Header Block, as written in its byte order. */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Option codes. */
export const OptionCode = {
  EndOfOptions: 0,
  /** `opt_comment`, valid in every block. */
  Comment: 1,
  /** `shb_userappl`. */
  UserApplication: 4,
  /** `if_name`. */
  InterfaceName: 2,
  /** `if_description`. */
  InterfaceDescription: 3,
  /** `if_tsresol`: time stamp units, 10^-n (high bit 0) or 2^-n (high bit 1). */
  TimestampResolution: 9,
  /** `if_tsoffset`: seconds added to every time stamp. */
  TimestampOffset: 14,
} as const;

/** Bytes of a block's type, length and trailing length. */
export const BLOCK_OVERHEAD = 12;
/** Bytes of an Enhanced Packet Block before its packet data, type and length included. */
export const EPB_FIXED_BYTES = 28;
/** The default `if_tsresol`: microseconds. */
export const DEFAULT_TS_DIGITS = 6;
