/**
 * Puts one direction of a TCP connection back in order by sequence number:
 * retransmitted and overlapping bytes are delivered once, segments that
 * arrive early wait for the ones before them, and a hole that never fills
 * (a capture that missed packets or was cut short) is reported as a gap.
 *
 * @module
 */

import { TcpFlag } from "./tcp_ip_layout.ts";

/** Where a stream's bytes were captured. */
export interface Origin {
  /** The frame number, or null for bytes that did not come from a capture. */
  readonly frame: number | null;
  /** The frame's time in Unix nanoseconds, or null. */
  readonly timeNs: bigint | null;
}

/** What receives the stream in order. */
export interface StreamSink {
  /** The next bytes of the stream, from the segment captured at `origin`. */
  bytes(bytes: Uint8Array, origin: Origin): void;
  /** `missing` bytes of the stream are not in the capture; the stream goes on after them. */
  gap(missing: number, origin: Origin): void;
}

/** A segment's part of {@linkcode TcpReassembler.push}'s input. */
export interface SegmentData {
  /** The sequence number (uint32). */
  readonly seq: number;
  /** The TCP flag bits. */
  readonly flags: number;
  /** The segment's data. */
  readonly payload: Uint8Array;
  /** Payload bytes the capture cut off after `payload`. */
  readonly missing: number;
}

interface Pending {
  readonly seq: number;
  readonly payload: Uint8Array;
  readonly missing: number;
  readonly origin: Origin;
}

/** The most out-of-order bytes held for one direction before the hole is given up as a gap. */
export const MAX_PENDING_BYTES = 16 * 1024 * 1024;
/** The most out-of-order segments held for one direction. */
export const MAX_PENDING_SEGMENTS = 1024;

/** Signed distance from `b` to `a` in 32-bit sequence space. */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** One direction of a connection, reassembled into a {@linkcode StreamSink}. */
export class TcpReassembler {
  readonly #sink: StreamSink;
  #next: number | undefined;
  #pending: Pending[] = [];
  #pendingBytes = 0;

  /** Delivers the stream, in order, to `sink`. */
  constructor(sink: StreamSink) {
    this.#sink = sink;
  }

  /** Takes one captured segment of this direction. */
  push(segment: SegmentData, origin: Origin): void {
    const syn = (segment.flags & TcpFlag.SYN) !== 0;
    // A SYN takes one sequence number before the data.
    const seq = syn ? (segment.seq + 1) >>> 0 : segment.seq;
    // The first segment seen starts the stream: a SYN, or data when the capture began later.
    this.#next ??= seq;
    if (segment.payload.length + segment.missing === 0) return;
    this.#pending.push({ seq, payload: segment.payload, missing: segment.missing, origin });
    this.#pendingBytes += segment.payload.length;
    this.#drain();
    while (this.#pending.length > MAX_PENDING_SEGMENTS || this.#pendingBytes > MAX_PENDING_BYTES) {
      this.#skipToEarliest();
    }
  }

  /** The capture ended: every hole left is a gap, and the bytes after it are delivered. */
  finish(): void {
    while (this.#pending.length > 0) this.#skipToEarliest();
  }

  /** Delivers the pending segments that continue the stream, in order. */
  #drain(): void {
    for (;;) {
      const index = this.#earliest();
      if (index < 0) return;
      const next = this.#next as number;
      const segment = this.#pending[index] as Pending;
      const offset = seqDiff(segment.seq, next);
      if (offset > 0) return;
      this.#pending.splice(index, 1);
      this.#pendingBytes -= segment.payload.length;
      this.#deliver(segment, -offset);
    }
  }

  /** Delivers `segment` from `skip` bytes in (what comes before was delivered already). */
  #deliver(segment: Pending, skip: number): void {
    const { payload, missing, origin } = segment;
    if (skip >= payload.length + missing) return;
    let next = this.#next as number;
    if (skip < payload.length) {
      this.#sink.bytes(payload.subarray(skip), origin);
      next += payload.length - skip;
    }
    const lost = missing - Math.max(0, skip - payload.length);
    if (lost > 0) {
      this.#sink.gap(lost, origin);
      next += lost;
    }
    this.#next = next >>> 0;
  }

  /** Gives up the hole before the earliest pending segment: reports it as a gap and goes on. */
  #skipToEarliest(): void {
    const segment = this.#pending[this.#earliest()] as Pending;
    const hole = seqDiff(segment.seq, this.#next as number);
    if (hole > 0) {
      this.#sink.gap(hole, segment.origin);
      this.#next = segment.seq;
    }
    this.#drain();
  }

  /** The index of the pending segment with the lowest sequence number relative to the stream, or -1. */
  #earliest(): number {
    const next = this.#next as number;
    let best = -1;
    let bestOffset = 0;
    this.#pending.forEach((segment, index) => {
      const offset = seqDiff(segment.seq, next);
      if (best < 0 || offset < bestOffset) [best, bestOffset] = [index, offset];
    });
    return best;
  }
}
