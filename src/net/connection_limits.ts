/**
 * The bounds a TCP service puts on what its peers control: how many
 * connections, and how long a connection may stay silent, take over one
 * packet, block a write or hold requests in flight.
 *
 * @module
 */

/** Limits on what a peer controls. */
export interface ConnectionLimits {
  /**
   * Connections served at once. At the limit a new connection takes the
   * place of the open one that has held its slot least usefully (an
   * unfinished packet or a blocked write, oldest first, then the longest
   * idle); only when every connection is busy is it closed at once.
   */
  readonly maxConnections: number;
  /** A connection with no bytes for this long between packets is closed. */
  readonly idleTimeoutMs: number;
  /** An unfinished packet with no new bytes for this long is answered and the connection closed. */
  readonly frameTimeoutMs: number;
  /**
   * An unfinished packet this long after its first byte is answered and the
   * connection closed, however steadily its bytes trickle in.
   */
  readonly packetTimeoutMs: number;
  /** A write the peer does not take for this long (it stopped reading) closes the connection. */
  readonly writeTimeoutMs: number;
  /**
   * Requests of one connection worked on or waiting to be written at once;
   * beyond it the connection is not read until answers have gone out.
   */
  readonly maxPipelined: number;
  /**
   * Bytes of answers one connection may have waiting to be written; beyond
   * it the connection is not read until they have gone out (a client that
   * asks for big answers and does not read them holds no more than this).
   */
  readonly maxPendingBytes: number;
  /** How long shutdown waits for in-flight requests before closing them. */
  readonly shutdownGraceMs: number;
}

/** The defaults of {@linkcode ConnectionLimits}. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  maxConnections: 4096,
  idleTimeoutMs: 60_000,
  frameTimeoutMs: 500,
  packetTimeoutMs: 10_000,
  writeTimeoutMs: 10_000,
  maxPipelined: 128,
  maxPendingBytes: 256 * 1024,
  shutdownGraceMs: 5_000,
});

/** The shortest and longest pause between two deadline sweeps. */
const SWEEP_BOUNDS_MS = { min: 10, max: 250 } as const;

/**
 * How often deadlines are checked: a quarter of the shortest timeout, so
 * that a deadline is acted on within about half of it (a first sweep marks
 * a connection, the next one acts if nothing arrived meanwhile).
 */
export function sweepIntervalMs(limits: ConnectionLimits): number {
  const shortest = Math.min(
    limits.idleTimeoutMs,
    limits.frameTimeoutMs,
    limits.packetTimeoutMs,
    limits.writeTimeoutMs,
  );
  return Math.min(SWEEP_BOUNDS_MS.max, Math.max(SWEEP_BOUNDS_MS.min, shortest / 4));
}
