/**
 * The pure core of recording: turns connections, reads and writes into the
 * pcapng blocks of a capture Wireshark opens, with TCP synthesised around
 * the bytes (handshake, one segment per read or write, FIN exchange; real
 * sequence numbers, checksums and time stamps). The blocks go to a sink
 * function; `capture_file.ts` is the thin shell that writes them to a file.
 *
 * Link type: LINKTYPE_RAW (IPv4 and IPv6 packets, no link layer). The bytes
 * were read from sockets, not from a link, so Ethernet MAC addresses would
 * be invented; without them a student sees only headers that carry real
 * values (addresses, ports) and Wireshark tells IPv4 from IPv6 by the
 * version field.
 *
 * @module
 */

import { LinkType } from "./link_type.ts";
import { parseIp, toIpv6 } from "./ip_address.ts";
import { buildTcpPacket } from "./packet_builder.ts";
import {
  enhancedPacketBlock,
  interfaceDescriptionBlock,
  sectionHeaderBlock,
} from "./pcapng_blocks.ts";
import { preciseNowMs, type RecordedConnection, type Recorder, type Side } from "./recorder.ts";
import { MAX_IP_PACKET, MAX_SEGMENT_DATA, TcpFlag } from "./tcp_ip_layout.ts";

/** The default bound of a capture's size: 64 MiB. */
export const DEFAULT_MAX_CAPTURE_BYTES = 64 * 1024 * 1024;

/**
 * Bytes kept free below `maxBytes` for the packet that says recording
 * stopped (IP and TCP headers and a comment; about 250 bytes).
 */
export const STOP_RESERVE_BYTES = 512;

/** Options of {@linkcode PcapngWriter}. */
export interface PcapngWriterOptions {
  /**
   * Writes one whole block. It may throw: the writer then stops recording
   * (see `onStop`) instead of passing the error to the connection's code.
   */
  readonly write: (block: Uint8Array) => void;
  /** The most bytes the capture may take (default {@linkcode DEFAULT_MAX_CAPTURE_BYTES}). */
  readonly maxBytes?: number;
  /** Written in the section header as the application that recorded (`shb_userappl`). */
  readonly application?: string;
  /** Called once when recording stops early, with the reason (size limit, write error). */
  readonly onStop?: (reason: string) => void;
  /** The clock, in Unix milliseconds (default: the precise wall clock). */
  readonly now?: () => number;
  /** Each connection's initial sequence numbers (default: random, as real TCP). */
  readonly initialSequence?: () => number;
}

/** The sequence state of one recorded connection. */
interface Connection {
  readonly client: Uint8Array;
  readonly server: Uint8Array;
  readonly clientPort: number;
  readonly serverPort: number;
  /** The next sequence number each side sends. */
  readonly next: Record<Side, number>;
}

/** One segment to write. */
interface Segment {
  readonly from: Side;
  /** {@linkcode TcpFlag} bits. */
  readonly flags: number;
  readonly seq: number;
  readonly ack: number;
  readonly payload?: Uint8Array;
  readonly comment?: string | undefined;
}

/** Window field of every segment; with the SYNs' scale of 7 it announces 8 MiB. */
const WINDOW = 0xffff;
/** MSS 65495, NOP, window scale 7: what Linux announces on loopback. */
const SYN_OPTIONS = Uint8Array.of(
  2,
  4,
  MAX_SEGMENT_DATA >>> 8,
  MAX_SEGMENT_DATA & 0xff,
  1,
  3,
  3,
  7,
);
const MICROSECONDS_PER_MS = 1000;
const OTHER: Readonly<Record<Side, Side>> = { client: "server", server: "client" };

/**
 * Records connections as a pcapng capture: {@linkcode Recorder} on top of a
 * block sink. Bounded: once the next packet would pass `maxBytes`, it writes
 * that packet's headers only (its data left out, the original length kept)
 * with a comment saying recording stopped, and records nothing more.
 *
 * @example
 * ```ts
 * const blocks: Uint8Array[] = [];
 * const writer = new PcapngWriter({ write: (block) => blocks.push(block) });
 * const conn = { client: { hostname: "127.0.0.1", port: 50000 }, server: { hostname: "127.0.0.1", port: 9999 } };
 * writer.open(conn);
 * writer.data(conn, "client", requestBytes);
 * writer.close(conn, "client");
 * ```
 * @throws {RangeError} from the constructor when `maxBytes` leaves no room for a packet.
 */
export class PcapngWriter implements Recorder {
  readonly #write: (block: Uint8Array) => void;
  readonly #maxBytes: number;
  readonly #onStop: ((reason: string) => void) | undefined;
  readonly #now: () => number;
  readonly #initialSequence: () => number;
  readonly #connections = new Map<RecordedConnection, Connection>();
  #written = 0;
  #ipId = 0;
  #stopReason: string | undefined;

  /**
   * Writes the section header and the interface description at once.
   *
   * @throws {RangeError} when `maxBytes` leaves no room for a packet.
   */
  constructor(options: PcapngWriterOptions) {
    this.#write = options.write;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_CAPTURE_BYTES;
    this.#onStop = options.onStop;
    this.#now = options.now ?? preciseNowMs;
    this.#initialSequence = options.initialSequence ?? randomUint32;
    const header = [
      sectionHeaderBlock(options.application),
      interfaceDescriptionBlock(
        LinkType.Raw,
        MAX_IP_PACKET,
        "calcnet",
        "TCP traffic recorded by calcnet at its sockets (IP and TCP headers synthesised)",
      ),
    ];
    const headerBytes = header.reduce((sum, block) => sum + block.length, 0);
    if (
      !Number.isSafeInteger(this.#maxBytes) || this.#maxBytes < headerBytes + STOP_RESERVE_BYTES
    ) {
      throw new RangeError(
        `the capture size limit must be at least ${headerBytes + STOP_RESERVE_BYTES} bytes, ` +
          `not ${this.#maxBytes}`,
      );
    }
    for (const block of header) this.#emitBlock(block);
  }

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.#written;
  }

  /** Why recording stopped early, or undefined while it goes on. */
  get stopReason(): string | undefined {
    return this.#stopReason;
  }

  /** Writes the handshake; the SYN carries `conn.comment`. */
  open(conn: RecordedConnection, timeMs?: number): void {
    if (this.#stopReason !== undefined) return;
    let client = parseIp(conn.client.hostname);
    let server = parseIp(conn.server.hostname);
    if (client.length !== server.length) [client, server] = [toIpv6(client), toIpv6(server)];
    const state: Connection = {
      client,
      server,
      clientPort: conn.client.port,
      serverPort: conn.server.port,
      next: { client: this.#initialSequence() >>> 0, server: this.#initialSequence() >>> 0 },
    };
    this.#connections.set(conn, state);
    const time = timeMs ?? this.#now();
    const { client: clientIsn, server: serverIsn } = state.next;
    state.next.client = (clientIsn + 1) >>> 0;
    state.next.server = (serverIsn + 1) >>> 0;
    this.#segments(state, time, [
      { from: "client", flags: TcpFlag.SYN, seq: clientIsn, ack: 0, comment: conn.comment },
      { from: "server", flags: TcpFlag.SYN | TcpFlag.ACK, seq: serverIsn, ack: clientIsn + 1 },
      { from: "client", flags: TcpFlag.ACK, seq: clientIsn + 1, ack: serverIsn + 1 },
    ]);
  }

  /** Writes `bytes` from `from` as segments of at most 65495 bytes each. */
  data(conn: RecordedConnection, from: Side, bytes: Uint8Array, timeMs?: number): void {
    if (this.#stopReason !== undefined) return;
    const state = this.#connection(conn);
    const time = timeMs ?? this.#now();
    for (let at = 0; at < bytes.length; at += MAX_SEGMENT_DATA) {
      const payload = bytes.subarray(at, at + MAX_SEGMENT_DATA);
      const seq = state.next[from];
      state.next[from] = (seq + payload.length) >>> 0;
      const flags = TcpFlag.PSH | TcpFlag.ACK;
      const ack = state.next[OTHER[from]];
      if (!this.#segment(state, { from, flags, seq, ack, payload }, time)) return;
    }
  }

  /** Writes `by`'s FIN, the other side's FIN and `by`'s last ACK, and forgets the connection. */
  close(conn: RecordedConnection, by: Side, timeMs?: number): void {
    if (this.#stopReason !== undefined) return;
    const state = this.#connection(conn);
    this.#connections.delete(conn);
    const time = timeMs ?? this.#now();
    const other = OTHER[by];
    const closer = state.next[by];
    const peer = state.next[other];
    const fin = TcpFlag.FIN | TcpFlag.ACK;
    this.#segments(state, time, [
      { from: by, flags: fin, seq: closer, ack: peer },
      { from: other, flags: fin, seq: peer, ack: closer + 1 },
      { from: by, flags: TcpFlag.ACK, seq: closer + 1, ack: peer + 1 },
    ]);
  }

  #connection(conn: RecordedConnection): Connection {
    const state = this.#connections.get(conn);
    if (state === undefined) throw new Error("this connection was not opened, or was closed");
    return state;
  }

  /** Writes `segments` in order until recording stops. */
  #segments(state: Connection, timeMs: number, segments: readonly Segment[]): void {
    for (const segment of segments) if (!this.#segment(state, segment, timeMs)) return;
  }

  /** Writes one segment; returns false once recording has stopped. */
  #segment(state: Connection, segment: Segment, timeMs: number): boolean {
    const { from, flags } = segment;
    const fromClient = from === "client";
    const syn = (flags & TcpFlag.SYN) !== 0;
    const { packet, headerBytes } = buildTcpPacket({
      source: fromClient ? state.client : state.server,
      destination: fromClient ? state.server : state.client,
      sourcePort: fromClient ? state.clientPort : state.serverPort,
      destinationPort: fromClient ? state.serverPort : state.clientPort,
      seq: segment.seq,
      ack: segment.ack,
      flags,
      window: WINDOW,
      ...(syn ? { options: SYN_OPTIONS } : {}),
      payload: segment.payload ?? EMPTY,
      ipId: this.#ipId++,
    });
    const timeUs = Math.round(timeMs * MICROSECONDS_PER_MS);
    const block = enhancedPacketBlock(timeUs, packet, packet.length, segment.comment);
    if (this.#written + block.length <= this.#maxBytes - STOP_RESERVE_BYTES) {
      this.#emitBlock(block);
      return this.#stopReason === undefined;
    }
    const note = `calcnet stopped recording here: the capture reached its size limit of ` +
      `${this.#maxBytes} bytes. This segment's data and all later traffic are not recorded.`;
    this.#emitBlock(
      enhancedPacketBlock(timeUs, packet.subarray(0, headerBytes), packet.length, note),
    );
    this.#stop(`the capture reached its size limit of ${this.#maxBytes} bytes`);
    return false;
  }

  #emitBlock(block: Uint8Array): void {
    if (this.#stopReason !== undefined) return;
    try {
      this.#write(block);
      this.#written += block.length;
    } catch (error: unknown) {
      const message = error instanceof Error ? error.message : String(error);
      this.#stop(`cannot write the capture: ${message}`);
    }
  }

  #stop(reason: string): void {
    if (this.#stopReason !== undefined) return;
    this.#stopReason = reason;
    this.#connections.clear();
    this.#onStop?.(reason);
  }
}

const EMPTY = new Uint8Array(0);

function randomUint32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] as number;
}
