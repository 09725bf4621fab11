/**
 * A recorder seen as a tap on connections: what a service (for accepted
 * connections) or a client of it (for connections it makes) tells of each
 * read, write and close, turned into {@linkcode Recorder} calls with the
 * right ends and sides. It fits `net/`'s `ConnectionTap` by shape.
 *
 * @module
 */

import {
  type Endpoint,
  preciseNowMs,
  type RecordedConnection,
  type Recorder,
  type Side,
} from "./recorder.ts";

/** Who closed a tapped connection first, as the tapped side sees it. */
export type TapCloser = "peer" | "us";

/** One tapped connection's traffic. */
export interface TrafficTap {
  /** Bytes that arrived in one read. */
  received(bytes: Uint8Array): void;
  /** Bytes that left in one write. */
  sent(bytes: Uint8Array): void;
  /** The connection closed. */
  closed(by: TapCloser): void;
}

/**
 * Taps connections into `recorder`. Connections opened while
 * {@linkcode RecordingTap.comment} is set carry it (a demo marks its
 * experiments so).
 */
export class RecordingTap {
  readonly #recorder: Recorder;
  /** The comment of the connections opened from now on. */
  comment: string | undefined;

  /** A tap that records into `recorder`. */
  constructor(recorder: Recorder) {
    this.#recorder = recorder;
  }

  /** A connection from `peer` that we accepted at `local`: the peer is the client. */
  opened(peer: Endpoint, local: Endpoint): TrafficTap {
    return this.#tap(
      { client: endpoint(peer), server: endpoint(local), comment: this.comment },
      "server",
    );
  }

  /** A connection we made from `local` to `remote`: we are the client. */
  connected(local: Endpoint, remote: Endpoint): TrafficTap {
    return this.#tap(
      { client: endpoint(local), server: endpoint(remote), comment: this.comment },
      "client",
    );
  }

  #tap(conn: RecordedConnection, us: Side): TrafficTap {
    const recorder = this.#recorder;
    const them: Side = us === "server" ? "client" : "server";
    recorder.open(conn, preciseNowMs());
    return {
      received: (bytes) => recorder.data(conn, them, bytes, preciseNowMs()),
      sent: (bytes) => recorder.data(conn, us, bytes, preciseNowMs()),
      closed: (by) => recorder.close(conn, by === "us" ? us : them, preciseNowMs()),
    };
  }
}

/** Just the address and port (a `Deno.NetAddr` carries its transport too). */
function endpoint(end: Endpoint): Endpoint {
  return { hostname: end.hostname, port: end.port };
}
