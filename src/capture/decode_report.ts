/**
 * From a capture file or a hex stream to the list of records `calcnet
 * decode` prints: each message decoded and linked to its request or
 * response, the fragments that are not messages, and the packet comments,
 * in frame order.
 *
 * @module
 */

import { readCapture } from "./capture_reader.ts";
import { READABLE_LINK_TYPES } from "./link_layer.ts";
import { linkTypeName } from "./link_type.ts";
import { type DecodedMessage, decodeMessage } from "./message_decoder.ts";
import { type FramedItem, MessageFramer } from "./message_framer.ts";
import {
  byFrame,
  type CaptureSummary,
  collectMessages,
  type StreamItem,
} from "./stream_collector.ts";
import { type HexPayload, parseHexText, unwrapHex } from "./hex_input.ts";

/** What every record has: where it came from. */
export interface RecordBase {
  /** 1, 2, … in the order of the source's records. */
  readonly index: number;
  /** The file name, `-` for standard input, or `hex`. */
  readonly source: string;
  /** Wireshark's `tcp.stream` number, or null for a hex stream. */
  readonly stream: number | null;
  /** Sender and receiver as `address:port`, or null when not known. */
  readonly src: string | null;
  /** The receiver, `address:port`, or null when not known. */
  readonly dst: string | null;
  /** The lowest frame number among the frames its bytes came in. */
  readonly firstFrame: number | null;
  /** The highest: the frame that completed it (Wireshark shows it there). */
  readonly frame: number | null;
  /** The last frame's capture time, Unix nanoseconds. */
  readonly timeNs: bigint | null;
}

/** The other message of an exchange. */
export interface Link {
  /** Its record index. */
  readonly index: number;
  /** Its frame (the one that completed it). */
  readonly frame: number | null;
  /** Response time minus request time, in nanoseconds, when both are known. */
  readonly deltaNs: bigint | null;
}

/** A decoded message. */
export interface MessageRecord extends RecordBase, DecodedMessage {
  /** Bytes of the message (less than its total length when incomplete). */
  readonly length: number;
  /** False when the stream ended (or lost bytes) before the message did. */
  readonly complete: boolean;
  /** Why it is incomplete. */
  readonly note: string | null;
  /** A response's request. */
  request: Link | null;
  /** A request's response. */
  response: Link | null;
}

/** Bytes of a stream that are not a message. */
export interface FragmentRecord extends RecordBase {
  /** What the record is. */
  readonly kind: "fragment";
  /** How many bytes. */
  readonly length: number;
  /** The first bytes. */
  readonly preview: Uint8Array;
  /** Why the bytes are not a message. */
  readonly reason: string;
}

/** A packet comment. */
export interface CommentRecord extends RecordBase {
  /** What the record is. */
  readonly kind: "comment";
  /** The comment's text. */
  readonly text: string;
}

/** One output record. */
export type DecodeRecord = MessageRecord | FragmentRecord | CommentRecord;

/** The decoding of one input. */
export interface DecodeReport {
  /** The input's name (file name, `-`, or `hex`). */
  readonly source: string;
  /** The input's format; for hex, the layer it started at. */
  readonly format: "pcap" | "pcapng" | `hex (${HexPayload["layer"]})`;
  /** Every record, in frame order. */
  readonly records: DecodeRecord[];
  /** Damage met while reading (a truncated file, say); the records before it are good. */
  readonly problems: readonly string[];
  /** The capture's counts (not for hex). */
  readonly summary: CaptureSummary | null;
}

/**
 * Decodes a pcap or pcapng file's calculator traffic.
 *
 * @throws {CaptureFormatError} when `bytes` are neither format.
 */
export function decodeCapture(bytes: Uint8Array, source: string): DecodeReport {
  const capture = readCapture(bytes);
  const collected = collectMessages(capture.packets);
  const entries: (StreamItem | { comment: string; frame: number; timeNs: bigint | null })[] = [
    ...collected.comments.map((c) => ({ comment: c.text, frame: c.frame, timeNs: c.timeNs })),
    ...collected.items,
  ];
  // Stable: a frame's comment comes before the messages it completes.
  entries.sort((a, b) => byFrame(frameOf(a), frameOf(b)));
  const records = entries.map((entry, i): DecodeRecord => {
    if ("comment" in entry) {
      return {
        ...base(i, source, null, null, null),
        firstFrame: entry.frame,
        frame: entry.frame,
        timeNs: entry.timeNs,
        kind: "comment",
        text: entry.comment,
      };
    }
    return itemRecord(entry.item, base(i, source, entry.stream, entry.source, entry.destination));
  });
  link(records);
  const unreadable = collected.summary.unreadableLinkTypes.map((linkType) =>
    `packets of ${linkTypeName(linkType)} were skipped: calcnet reads ${
      [...READABLE_LINK_TYPES].map(linkTypeName).join(", ")
    }`
  );
  return {
    source,
    format: capture.format,
    records,
    problems: [...capture.problems, ...unreadable],
    summary: collected.summary,
  };
}

/**
 * Decodes hex as copied from Wireshark (see {@linkcode unwrapHex}).
 *
 * @throws {HexInputError} when `text` is not hex.
 */
export function decodeHex(text: string, source: string): DecodeReport {
  const payload = unwrapHex(parseHexText(text));
  const items: FramedItem[] = [];
  const framer = new MessageFramer((item) => items.push(item));
  framer.bytes(payload.bytes, { frame: null, timeNs: null });
  framer.finish();
  const records = items.map((item, i) =>
    itemRecord(item, base(i, source, null, payload.source ?? null, payload.destination ?? null))
  );
  link(records);
  return { source, format: `hex (${payload.layer})`, records, problems: [], summary: null };
}

function frameOf(entry: StreamItem | { frame: number }): number | null {
  return "item" in entry ? entry.item.frame : entry.frame;
}

function base(
  i: number,
  source: string,
  stream: number | null,
  src: string | null,
  dst: string | null,
): RecordBase {
  return { index: i + 1, source, stream, src, dst, firstFrame: null, frame: null, timeNs: null };
}

function itemRecord(item: FramedItem, common: RecordBase): DecodeRecord {
  const where = { firstFrame: item.firstFrame, frame: item.frame, timeNs: item.timeNs };
  if (item.kind === "fragment") {
    const { length, preview, reason } = item;
    return { ...common, ...where, kind: "fragment", length, preview, reason };
  }
  return {
    ...common,
    ...where,
    ...decodeMessage(item.bytes, item.complete),
    length: item.bytes.length,
    complete: item.complete,
    note: item.note ?? null,
    request: null,
    response: null,
  };
}

/**
 * Pairs each response with the oldest unanswered request of its stream
 * sent by its receiver (the protocol answers in order on a connection).
 */
function link(records: readonly DecodeRecord[]): void {
  const waiting = new Map<string, MessageRecord[]>();
  for (const record of records) {
    if (record.kind === "request") {
      const key = `${record.stream} ${record.src}`;
      const queue = waiting.get(key) ?? [];
      queue.push(record);
      waiting.set(key, queue);
    } else if (record.kind === "response") {
      const request = waiting.get(`${record.stream} ${record.dst}`)?.shift();
      if (request === undefined) continue;
      const deltaNs = request.timeNs !== null && record.timeNs !== null
        ? record.timeNs - request.timeNs
        : null;
      record.request = { index: request.index, frame: request.frame, deltaNs };
      request.response = { index: record.index, frame: record.frame, deltaNs };
    }
  }
}
