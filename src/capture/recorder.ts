/**
 * What a proxy or demo calls to record its TCP traffic: the connection's
 * ends, then every read and write. It depends on nothing above: whatever
 * handles connections calls these methods.
 *
 * @module
 */

/** One end of a TCP connection: `Deno.NetAddr` fits. */
export interface Endpoint {
  /** An IPv4 or IPv6 address as text (`127.0.0.1`, `::1`). */
  readonly hostname: string;
  /** The TCP port. */
  readonly port: number;
}

/** Which end of a recorded connection sent bytes, or closed first. */
export type Side = "client" | "server";

/**
 * A recorded connection. The same object identifies it in every call, from
 * {@linkcode Recorder.open} to {@linkcode Recorder.close}.
 */
export interface RecordedConnection {
  /** The end that connected. */
  readonly client: Endpoint;
  /** The end that accepted. */
  readonly server: Endpoint;
  /** A packet comment on the SYN, e.g. which experiment this is. */
  readonly comment?: string;
}

/**
 * Records TCP connections as packets. No method throws for an I/O failure:
 * a recorder that cannot write stops recording and says so its own way, so
 * that recording never breaks the connection it records.
 */
export interface Recorder {
  /** The connection was established (SYN, SYN-ACK, ACK). `timeMs`: Unix ms, default now. */
  open(conn: RecordedConnection, timeMs?: number): void;
  /** `from` sent `bytes` in one write (or they arrived in one read). */
  data(conn: RecordedConnection, from: Side, bytes: Uint8Array, timeMs?: number): void;
  /** `by` closed the connection (FIN, FIN, ACK); the connection is forgotten. */
  close(conn: RecordedConnection, by: Side, timeMs?: number): void;
}

/** The current time in Unix milliseconds, with the sub-millisecond part the clock has. */
export function preciseNowMs(): number {
  return performance.timeOrigin + performance.now();
}
