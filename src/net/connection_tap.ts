/**
 * A tap on a service's connections: what a recorder (e.g. `calcnet proxy
 * --record`) is told of every connection's bytes, as they are read and
 * written. The service knows nothing of what is done with them.
 *
 * @module
 */

/** Who closed a tapped connection first. */
export type ClosedBy = "peer" | "us";

/** One tapped connection: told every read, every write and the close. */
export interface TappedConnection {
  /** Bytes that arrived in one read (a view: use it before returning). */
  received(bytes: Uint8Array): void;
  /** Bytes that left in one write (a view: use it before returning). */
  sent(bytes: Uint8Array): void;
  /** The connection closed. */
  closed(by: ClosedBy): void;
}

/** Told of every connection a service accepts; undefined leaves one untapped. */
export interface ConnectionTap {
  /** A connection from `peer` to our `local` end was accepted. */
  opened(peer: Deno.NetAddr, local: Deno.NetAddr): TappedConnection | undefined;
}
