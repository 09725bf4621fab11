/**
 * What a TCP service asks of the protocol above it: an answer per packet, an
 * answer for bytes that cannot be framed, the protocol's answer to a failure
 * of its own, and what to tell the operator.
 *
 * @module
 */

/** What a handler answers: a packet to send, and whether to close after it. */
export interface Reply {
  /** The packet to write back. */
  readonly packet: Uint8Array;
  /** Close the connection after writing (the stream can no longer be trusted). */
  readonly close?: boolean;
}

/** What the service calls for each connection's traffic. */
export interface PacketHandler {
  /**
   * Answers one complete packet. Packets of one connection may be handled
   * concurrently; their replies are written in the order the packets came.
   * The packet is a view into the connection's read buffer (not a copy): it
   * stays as it is while a promised reply is pending, and a reply may be
   * the packet itself, but a handler that answers at once and keeps the
   * packet longer must copy it.
   */
  handle(packet: Uint8Array, peer: string): Reply | Promise<Reply>;
  /**
   * Answers bytes that can no longer be framed (an unfinished packet at a
   * deadline or at the end of the stream, or a total length below 12);
   * null closes silently. `timedOut` tells a deadline from the rest: an
   * answer caused by time, not by the bytes, must not be cacheable.
   */
  unframeable(
    received: Uint8Array,
    reason: string,
    peer: string,
    timedOut: boolean,
  ): Uint8Array | null;
  /**
   * The protocol's answer when handling a packet failed unexpectedly (a bug
   * or a resource failure): a 500, or null to close silently. The
   * connection is closed after it.
   */
  internalError(error: unknown, peer: string): Uint8Array | null;
  /** Told about connections and failures, for logs and counters. */
  event?(event: ConnectionEvent): void;
}

/** A connection-level event, for logs and counters. */
export type ConnectionEvent =
  | { readonly kind: "open"; readonly peer: string }
  | { readonly kind: "close"; readonly peer: string; readonly reason: string }
  | { readonly kind: "refused"; readonly peer: string; readonly active: number }
  | { readonly kind: "evicted"; readonly peer: string; readonly reason: string }
  | { readonly kind: "error"; readonly peer: string; readonly error: unknown }
  /** Accepting failed (e.g. out of descriptors); told at most once every 10 s. */
  | { readonly kind: "accept-failed"; readonly error: unknown };
