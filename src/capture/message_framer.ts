/**
 * Cuts one direction of a stream into protocol messages with the project's
 * {@linkcode FrameAssembler}, and remembers which captured frames each
 * message came from. Bytes that cannot be framed (a total length below 12,
 * what follows a gap until a message plainly starts again, an unfinished
 * message at the end) come out as fragments, never as errors.
 *
 * @module
 */

import { FrameAssembler, FrameError, HEADER_SIZE } from "../protocol/mod.ts";
import { looksLikeHeader } from "./header_heuristic.ts";
import type { Origin, StreamSink } from "./tcp_reassembler.ts";

/** Where a message or fragment was captured: the first and the last of its frames. */
export interface Span {
  /** The lowest frame number among its bytes' frames (null: not from a capture). */
  readonly firstFrame: number | null;
  /** The highest: the frame that completed it, where Wireshark shows it. */
  readonly frame: number | null;
  /** That frame's time, Unix nanoseconds. */
  readonly timeNs: bigint | null;
}

/** What a framer yields. */
export type FramedItem =
  | Span & {
    readonly kind: "message";
    /** The message; shorter than its total length when `complete` is false. */
    readonly bytes: Uint8Array;
    readonly complete: boolean;
    /** Why it is incomplete. */
    readonly note?: string;
  }
  | Span & {
    readonly kind: "fragment";
    /** How many bytes. */
    readonly length: number;
    /** Their first bytes, at most {@linkcode FRAGMENT_PREVIEW_BYTES}. */
    readonly preview: Uint8Array;
    /** Why they are not a message. */
    readonly reason: string;
  };

/** The most bytes of a fragment kept to show. */
export const FRAGMENT_PREVIEW_BYTES = 64;

/** A run of received bytes: where it ends in the stream and where it was captured. */
interface Run {
  readonly end: number;
  readonly origin: Origin;
}

/** Bytes being skipped while no message boundary is known. */
interface Skipped {
  length: number;
  preview: Uint8Array;
  first: Origin;
  last: Origin;
  reason: string;
}

/** One direction's framer: a {@linkcode StreamSink} that emits {@linkcode FramedItem}s. */
export class MessageFramer implements StreamSink {
  readonly #emit: (item: FramedItem) => void;
  #frames = new FrameAssembler(HEADER_SIZE);
  /** Stream offset of the assembler's first pending byte. */
  #consumed = 0;
  /** Stream offset after the last byte received. */
  #received = 0;
  #runs: Run[] = [];
  /** Set while bytes are skipped until a message plainly starts. */
  #skipped: Skipped | undefined;

  /** Emits each message or fragment to `emit`, in stream order. */
  constructor(emit: (item: FramedItem) => void) {
    this.#emit = emit;
  }

  /** See {@linkcode StreamSink.bytes}. */
  bytes(bytes: Uint8Array, origin: Origin): void {
    if (this.#skipped !== undefined) {
      if (!looksLikeHeader(bytes)) {
        this.#skip(bytes, origin);
        return;
      }
      this.#emitSkipped();
    }
    this.#frames.push(bytes);
    this.#received += bytes.length;
    this.#runs.push({ end: this.#received, origin });
    this.#drain();
  }

  /** See {@linkcode StreamSink.gap}: what is pending is cut short; framing resumes at a plain header. */
  gap(missing: number, origin: Origin): void {
    this.#flushPending(`${missing} bytes of the stream that follow are not in the capture`);
    this.#skipped ??= {
      length: 0,
      preview: new Uint8Array(0),
      first: origin,
      last: origin,
      reason: `after ${missing} bytes missing from the capture`,
    };
  }

  /** The stream ended: an unfinished message or skipped bytes come out. */
  finish(): void {
    this.#flushPending("the stream ends before the message does");
    if (this.#skipped !== undefined && this.#skipped.length > 0) this.#emitSkipped();
  }

  #drain(): void {
    for (;;) {
      let message: Uint8Array | null;
      try {
        message = this.#frames.next();
      } catch (error: unknown) {
        if (!(error instanceof FrameError)) throw error;
        this.#unframeable(error.message);
        return;
      }
      if (message === null) return;
      const span = this.#span(message.length);
      this.#emit({ kind: "message", bytes: message, complete: true, ...span });
      this.#consume(message.length);
    }
  }

  /** The bytes pending cannot be framed: they become a fragment and framing resumes at a plain header. */
  #unframeable(why: string): void {
    const pending = this.#frames.pendingBytes();
    const span = this.#span(pending.length);
    this.#emit({
      kind: "fragment",
      length: pending.length,
      preview: pending.slice(0, FRAGMENT_PREVIEW_BYTES),
      reason: `${why}: the stream cannot be framed from here`,
      ...span,
    });
    this.#reset();
    const origin = { frame: span.frame, timeNs: span.timeNs };
    this.#skipped = {
      length: 0,
      preview: new Uint8Array(0),
      first: origin,
      last: origin,
      reason: "after bytes that cannot be framed",
    };
  }

  /** Emits what is pending as an incomplete message (a fragment if it has no whole header). */
  #flushPending(note: string): void {
    const pending = this.#frames.pendingBytes();
    if (pending.length === 0) return;
    const span = this.#span(pending.length);
    if (pending.length >= HEADER_SIZE) {
      this.#emit({ kind: "message", bytes: pending, complete: false, note, ...span });
    } else {
      this.#emit({
        kind: "fragment",
        length: pending.length,
        preview: pending,
        reason: `${pending.length} bytes, less than a header: ${note}`,
        ...span,
      });
    }
    this.#reset();
  }

  #reset(): void {
    this.#frames = new FrameAssembler(HEADER_SIZE);
    this.#consumed = this.#received;
    this.#runs = [];
  }

  #skip(bytes: Uint8Array, origin: Origin): void {
    const skipped = this.#skipped as Skipped;
    if (skipped.length === 0) skipped.first = origin;
    if (skipped.preview.length < FRAGMENT_PREVIEW_BYTES) {
      const room = FRAGMENT_PREVIEW_BYTES - skipped.preview.length;
      const grown = new Uint8Array(skipped.preview.length + Math.min(room, bytes.length));
      grown.set(skipped.preview);
      grown.set(bytes.subarray(0, room), skipped.preview.length);
      skipped.preview = grown;
    }
    skipped.length += bytes.length;
    skipped.last = origin;
  }

  #emitSkipped(): void {
    const skipped = this.#skipped as Skipped;
    this.#skipped = undefined;
    if (skipped.length === 0) return;
    this.#emit({
      kind: "fragment",
      length: skipped.length,
      preview: skipped.preview,
      reason: `${skipped.reason}, before a message starts again`,
      firstFrame: skipped.first.frame,
      frame: skipped.last.frame,
      timeNs: skipped.last.timeNs,
    });
  }

  /**
   * The frames of the next `length` pending bytes: the lowest and the
   * highest frame number among them (segments may have come out of order;
   * the highest completed the message, as Wireshark shows it).
   */
  #span(length: number): Span {
    const end = this.#consumed + length;
    const covering: Origin[] = [];
    for (const run of this.#runs) {
      if (run.end <= this.#consumed) continue;
      covering.push(run.origin);
      if (run.end >= end) break;
    }
    const byFrame = covering.filter((origin) => origin.frame !== null)
      .sort((a, b) => (a.frame as number) - (b.frame as number));
    const first = byFrame[0] ?? covering[0];
    const last = byFrame[byFrame.length - 1] ?? covering[covering.length - 1];
    return {
      firstFrame: first?.frame ?? null,
      frame: last?.frame ?? null,
      timeNs: last?.timeNs ?? null,
    };
  }

  #consume(length: number): void {
    this.#consumed += length;
    while (this.#runs.length > 0 && (this.#runs[0] as Run).end <= this.#consumed) {
      this.#runs.shift();
    }
  }
}
