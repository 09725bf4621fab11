/**
 * A test-only writer of classic pcap files holding TCP connections over
 * Ethernet and IPv4: the three-way handshake, one segment per `send` (with
 * the sequence and acknowledgement numbers a real stack would use), and the
 * FIN exchange. Enough for tshark to follow the streams; checksums are left
 * zero, which Wireshark does not check by default.
 *
 * @module
 */

const PCAP_MAGIC = 0xa1b2c3d4;
const PCAP_VERSION_MAJOR = 2;
const PCAP_VERSION_MINOR = 4;
const LINKTYPE_ETHERNET = 1;
const DEFAULT_SNAPLEN = 262144;
const ETHERNET_HEADER = 14;
const IPV4_HEADER = 20;
const TCP_HEADER = 20;
const ETHERTYPE_IPV4 = 0x0800;
const IP_PROTOCOL_TCP = 6;
const IP_TTL = 64;
const TCP_WINDOW = 65535;
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;

/** One end of a connection. */
export interface Endpoint {
  /** Dotted IPv4 address. */
  readonly address: string;
  readonly port: number;
}

/** Who sends a segment. */
export type Side = "client" | "server";

/** Options of {@linkcode PcapWriter.send}. */
export interface SendOptions {
  /**
   * Keep only this many bytes of the segment's payload in the file (as a
   * capture with a small snap length does); the packet's original length
   * still counts all of them.
   */
  readonly capturedPayload?: number;
}

interface Packet {
  /** Unix time in microseconds. */
  readonly micros: number;
  readonly bytes: Uint8Array;
  readonly originalLength: number;
}

interface ConnectionState {
  readonly client: Endpoint;
  readonly server: Endpoint;
  clientSeq: number;
  serverSeq: number;
}

/** The first packet's time (Unix seconds) unless told otherwise. */
export const DEFAULT_START_SECONDS = 1_700_000_000;

/**
 * Builds a pcap file packet by packet. Time (kept in whole microseconds, as
 * pcap stores it) starts at `startSeconds` and advances by `stepMicros` per
 * packet unless {@linkcode PcapWriter.at} sets it.
 */
export class PcapWriter {
  readonly #packets: Packet[] = [];
  #micros: number;
  readonly #stepMicros: number;

  constructor(startSeconds = DEFAULT_START_SECONDS, stepMicros = 1000) {
    this.#micros = startSeconds * 1e6;
    this.#stepMicros = stepMicros;
  }

  /** The time stamp of the next packet, in Unix microseconds. */
  get nowMicros(): number {
    return this.#micros;
  }

  /** Sets the time stamp of the next packet, in Unix microseconds. */
  at(micros: number): this {
    this.#micros = micros;
    return this;
  }

  /** Opens a connection (SYN, SYN-ACK, ACK) and returns it. */
  connect(client: Endpoint, server: Endpoint): TcpConnection {
    const state: ConnectionState = { client, server, clientSeq: 1000, serverSeq: 5000 };
    this.#segment(state, "client", TCP_SYN, new Uint8Array(0));
    state.clientSeq++;
    this.#segment(state, "server", TCP_SYN | TCP_ACK, new Uint8Array(0));
    state.serverSeq++;
    this.#segment(state, "client", TCP_ACK, new Uint8Array(0));
    return new TcpConnection(this, state);
  }

  /** @internal One data segment from `side`. */
  send(state: ConnectionState, side: Side, payload: Uint8Array, options: SendOptions): void {
    this.#segment(state, side, TCP_PSH | TCP_ACK, payload, options.capturedPayload);
    if (side === "client") state.clientSeq += payload.length;
    else state.serverSeq += payload.length;
  }

  /** @internal FIN from each side, then the last ACK. */
  close(state: ConnectionState): void {
    this.#segment(state, "client", TCP_FIN | TCP_ACK, new Uint8Array(0));
    state.clientSeq++;
    this.#segment(state, "server", TCP_FIN | TCP_ACK, new Uint8Array(0));
    state.serverSeq++;
    this.#segment(state, "client", TCP_ACK, new Uint8Array(0));
  }

  /** The whole file. */
  bytes(): Uint8Array {
    const size = 24 + this.#packets.reduce((sum, packet) => sum + 16 + packet.bytes.length, 0);
    const file = new Uint8Array(size);
    const view = new DataView(file.buffer);
    view.setUint32(0, PCAP_MAGIC, true);
    view.setUint16(4, PCAP_VERSION_MAJOR, true);
    view.setUint16(6, PCAP_VERSION_MINOR, true);
    view.setUint32(16, DEFAULT_SNAPLEN, true);
    view.setUint32(20, LINKTYPE_ETHERNET, true);
    let at = 24;
    for (const packet of this.#packets) {
      view.setUint32(at, Math.floor(packet.micros / 1e6), true);
      view.setUint32(at + 4, packet.micros % 1e6, true);
      view.setUint32(at + 8, packet.bytes.length, true);
      view.setUint32(at + 12, packet.originalLength, true);
      file.set(packet.bytes, at + 16);
      at += 16 + packet.bytes.length;
    }
    return file;
  }

  #segment(
    state: ConnectionState,
    side: Side,
    flags: number,
    payload: Uint8Array,
    capturedPayload = payload.length,
  ): void {
    const [from, to] = side === "client"
      ? [state.client, state.server]
      : [state.server, state.client];
    const [seq, ack] = side === "client"
      ? [state.clientSeq, state.serverSeq]
      : [state.serverSeq, state.clientSeq];
    const headers = ETHERNET_HEADER + IPV4_HEADER + TCP_HEADER;
    const frame = new Uint8Array(headers + payload.length);
    const view = new DataView(frame.buffer);
    // Ethernet: made-up unicast addresses, one per side.
    frame.set([2, 0, 0, 0, 0, side === "client" ? 2 : 1], 0);
    frame.set([2, 0, 0, 0, 0, side === "client" ? 1 : 2], 6);
    view.setUint16(12, ETHERTYPE_IPV4);
    const ip = ETHERNET_HEADER;
    view.setUint8(ip, 0x45);
    view.setUint16(ip + 2, IPV4_HEADER + TCP_HEADER + payload.length);
    view.setUint16(ip + 6, 0x4000); // don't fragment
    view.setUint8(ip + 8, IP_TTL);
    view.setUint8(ip + 9, IP_PROTOCOL_TCP);
    frame.set(ipv4(from.address), ip + 12);
    frame.set(ipv4(to.address), ip + 16);
    view.setUint16(ip + 10, ipChecksum(frame.subarray(ip, ip + IPV4_HEADER)));
    const tcp = ip + IPV4_HEADER;
    view.setUint16(tcp, from.port);
    view.setUint16(tcp + 2, to.port);
    view.setUint32(tcp + 4, seq >>> 0);
    view.setUint32(tcp + 8, flags & TCP_SYN && !(flags & TCP_ACK) ? 0 : ack >>> 0);
    view.setUint8(tcp + 12, (TCP_HEADER / 4) << 4);
    view.setUint8(tcp + 13, flags);
    view.setUint16(tcp + 14, TCP_WINDOW);
    frame.set(payload, tcp + TCP_HEADER);
    this.#packets.push({
      micros: this.#micros,
      bytes: frame.subarray(0, headers + Math.min(capturedPayload, payload.length)),
      originalLength: frame.length,
    });
    this.#micros += this.#stepMicros;
  }
}

/** An open TCP connection in a {@linkcode PcapWriter}. */
export class TcpConnection {
  readonly #writer: PcapWriter;
  readonly #state: ConnectionState;

  constructor(writer: PcapWriter, state: ConnectionState) {
    this.#writer = writer;
    this.#state = state;
  }

  /** One segment carrying `payload` from `side`. */
  send(side: Side, payload: Uint8Array, options: SendOptions = {}): this {
    this.#writer.send(this.#state, side, payload, options);
    return this;
  }

  /** `payload` from `side`, cut into segments of the given sizes (the rest in a last one). */
  sendSplit(side: Side, payload: Uint8Array, sizes: readonly number[]): this {
    let at = 0;
    for (const size of sizes) {
      this.send(side, payload.subarray(at, at + size));
      at += size;
    }
    if (at < payload.length) this.send(side, payload.subarray(at));
    return this;
  }

  /** Closes the connection (FIN both ways). */
  close(): void {
    this.#writer.close(this.#state);
  }
}

function ipv4(address: string): Uint8Array {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((part) => !(part >= 0 && part <= 255))) {
    throw new RangeError(`not an IPv4 address: ${address}`);
  }
  return new Uint8Array(parts);
}

function ipChecksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) {
    sum += ((header[i] as number) << 8) | (header[i + 1] as number);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
