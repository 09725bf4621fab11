/**
 * Follows the TCP connections of a capture and cuts each direction into
 * protocol messages: the path from captured packets to messages. Streams
 * are numbered as Wireshark numbers them (`tcp.stream`), in order of their
 * first packet; a stream is taken for calculator traffic when one of its
 * ports is 9998 or 9999, or a segment of it starts with a plausible header
 * (then from its start, as Wireshark's second pass takes it).
 *
 * @module
 */

import type { CapturedPacket } from "./captured_packet.ts";
import { couldStartHeader, looksLikeHeader } from "./header_heuristic.ts";
import { formatEndpoint } from "./ip_address.ts";
import { ipPacketOf, READABLE_LINK_TYPES } from "./link_layer.ts";
import { type FramedItem, MessageFramer } from "./message_framer.ts";
import { TcpFlag } from "./tcp_ip_layout.ts";
import { TcpReassembler } from "./tcp_reassembler.ts";
import { type TcpSegment, tcpSegmentOf } from "./tcp_segment.ts";

/** The course's ports: streams on them are calculator traffic whatever their first bytes. */
export const CALCNET_PORTS: ReadonlySet<number> = new Set([9998, 9999]);

/** A message or fragment of one direction of one stream. */
export interface StreamItem {
  /** Wireshark's `tcp.stream` number. */
  readonly stream: number;
  /** The sender, `address:port`. */
  readonly source: string;
  /** The receiver, `address:port`. */
  readonly destination: string;
  /** The message or fragment. */
  readonly item: FramedItem;
}

/** A packet comment (e.g. a recording's experiment marker). */
export interface PacketComment {
  /** The frame the comment is on. */
  readonly frame: number;
  /** The frame's time, Unix nanoseconds (null: not known). */
  readonly timeNs: bigint | null;
  /** The comment's text. */
  readonly text: string;
}

/** Counts for a summary line. */
export interface CaptureSummary {
  /** Packets in the file. */
  readonly packets: number;
  /** Packets that are not TCP over IPv4/IPv6 (ARP, UDP, fragments…), ignored. */
  readonly otherPackets: number;
  /** TCP streams seen. */
  readonly streams: number;
  /** Streams taken for calculator traffic. */
  readonly calcnetStreams: number;
  /** Link types met that calcnet cannot read. */
  readonly unreadableLinkTypes: readonly number[];
}

/** The messages of a capture, in frame order, with its comments. */
export interface CollectedCapture {
  /** The messages and fragments, in frame order. */
  readonly items: StreamItem[];
  /** The packet comments, in frame order. */
  readonly comments: PacketComment[];
  /** The counts. */
  readonly summary: CaptureSummary;
}

interface Direction {
  readonly reassembler: TcpReassembler;
  readonly framer: MessageFramer;
}

/** One TCP connection (a 4-tuple from its SYN, or from its first packet, to its end). */
interface Connection {
  readonly stream: number;
  /** Whether it carries calculator traffic; false until a segment looks like it. */
  calcnet: boolean | undefined;
  /** Segments with data seen before it was known to be calcnet's (at most MAX_HELD_SEGMENTS). */
  held: Held[];
  /** The client's initial sequence number, when its SYN was seen. */
  synSeq: number | undefined;
  /** A FIN or RST was seen: a new SYN on this 4-tuple starts a new stream. */
  ended: boolean;
  readonly directions: Map<string, Direction>;
}

/**
 * The messages of every calculator stream in `packets`, in the order of the
 * frame that completes each (gaps and unfinished messages at the end of a
 * stream last, by their frame too).
 */
export function collectMessages(packets: readonly CapturedPacket[]): CollectedCapture {
  const items: StreamItem[] = [];
  const comments: PacketComment[] = [];
  const open = new Map<string, Connection>();
  const all: Connection[] = [];
  const unreadable = new Set<number>();
  let otherPackets = 0;
  for (const packet of packets) {
    for (const text of packet.comments) {
      comments.push({ frame: packet.frame, timeNs: packet.timeNs, text });
    }
    if (!READABLE_LINK_TYPES.has(packet.linkType)) unreadable.add(packet.linkType);
    const ip = ipPacketOf(packet.linkType, packet.data);
    const segment = ip === undefined ? undefined : tcpSegmentOf(ip);
    if (segment === undefined) {
      otherPackets++;
      continue;
    }
    const source = formatEndpoint(segment.source, segment.sourcePort);
    const destination = formatEndpoint(segment.destination, segment.destinationPort);
    const connection = connectionFor(open, all, segment, source, destination);
    follow(connection, segment, source, destination, packet, items);
  }
  for (const connection of all) {
    for (const { reassembler, framer } of connection.directions.values()) {
      reassembler.finish();
      framer.finish();
    }
  }
  items.sort((a, b) => byFrame(a.item.frame, b.item.frame));
  return {
    items,
    comments,
    summary: {
      packets: packets.length,
      otherPackets,
      streams: all.length,
      calcnetStreams: all.filter((connection) => connection.calcnet === true).length,
      unreadableLinkTypes: [...unreadable],
    },
  };
}

/** Orders by frame number, frames not known last. */
export function byFrame(a: number | null, b: number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a - b;
}

/** The connection `segment` belongs to: a new one for a new 4-tuple, or a new SYN after the end. */
function connectionFor(
  open: Map<string, Connection>,
  all: Connection[],
  segment: TcpSegment,
  source: string,
  destination: string,
): Connection {
  const key = source < destination ? `${source} ${destination}` : `${destination} ${source}`;
  const synOnly = (segment.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN;
  let connection = open.get(key);
  const reused = connection !== undefined && synOnly &&
    (connection.ended || (connection.synSeq !== undefined && connection.synSeq !== segment.seq));
  if (connection === undefined || reused) {
    connection = {
      stream: all.length,
      calcnet: undefined,
      held: [],
      synSeq: undefined,
      ended: false,
      directions: new Map(),
    };
    open.set(key, connection);
    all.push(connection);
  }
  if (synOnly) connection.synSeq = segment.seq;
  return connection;
}

/** A segment kept until its connection shows whether it is calcnet's. */
interface Held {
  readonly segment: TcpSegment;
  readonly source: string;
  readonly packet: CapturedPacket;
}

/** Segments of an undecided connection kept for when it turns out to be calcnet's. */
const MAX_HELD_SEGMENTS = 64;

function follow(
  connection: Connection,
  segment: TcpSegment,
  source: string,
  destination: string,
  packet: CapturedPacket,
  items: StreamItem[],
): void {
  if ((segment.flags & (TcpFlag.FIN | TcpFlag.RST)) !== 0) connection.ended = true;
  // Like Wireshark's heuristic in its second pass: a stream is calcnet's from
  // the first segment that looks like a message on (e.g. the answer to a
  // request that is not a pickle), and the segments before it are read too.
  if (connection.calcnet !== true && segment.payload.length > 0) {
    connection.calcnet = CALCNET_PORTS.has(segment.sourcePort) ||
      CALCNET_PORTS.has(segment.destinationPort) || looksLikeHeader(segment.payload) ||
      couldStartHeader(segment.payload);
    if (!connection.calcnet) {
      if (connection.held.length < MAX_HELD_SEGMENTS) {
        connection.held.push({ segment, source, packet });
      }
      return;
    }
    for (const held of connection.held.splice(0)) {
      deliver(
        connection,
        held.segment,
        held.source,
        destinationOf(held, source, destination),
        held.packet,
        items,
      );
    }
  }
  deliver(connection, segment, source, destination, packet, items);
}

/** The other end of a held segment's connection. */
function destinationOf(held: Held, source: string, destination: string): string {
  return held.source === source ? destination : source;
}

function deliver(
  connection: Connection,
  segment: TcpSegment,
  source: string,
  destination: string,
  packet: CapturedPacket,
  items: StreamItem[],
): void {
  let direction = connection.directions.get(source);
  if (direction === undefined) {
    const stream = connection.stream;
    const framer = new MessageFramer((item) => items.push({ stream, source, destination, item }));
    direction = { reassembler: new TcpReassembler(framer), framer };
    connection.directions.set(source, direction);
  }
  direction.reassembler.push(segment, { frame: packet.frame, timeNs: packet.timeNs });
}
