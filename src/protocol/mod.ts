/**
 * The wire format: the 12-byte header and length-based framing.
 *
 * @module
 */

export * from "./header.ts";
export * from "./frame_assembler.ts";
export * from "./packet_stream.ts";
export * from "./request_packet.ts";
