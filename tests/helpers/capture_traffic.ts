/**
 * Real calculator traffic for the capture tests: the course examples'
 * requests as calcnet's client pickles them and the answers calcnet's
 * server gives.
 *
 * @module
 */

import type { RecordedConnection } from "../../src/capture/mod.ts";
import { requestData } from "../../src/client/expression.ts";
import { DEFAULT_REQUEST_FLAGS, type RequestFlags, requestPacket } from "../../src/protocol/mod.ts";
import { answerRequest, DEFAULT_SERVER_POLICY } from "../../src/server/handler.ts";

/** A request packet and the server's response packet. */
export interface Exchange {
  readonly text: string;
  readonly request: Uint8Array;
  readonly response: Uint8Array;
}

/** The time stamp every test packet carries (2023-11-14 22:13:20 UTC). */
export const PACKET_SECONDS = 1_700_000_000;

/** The exchange for `text` with `flags` (default: the course client's). */
export function exchange(text: string, flags: RequestFlags = DEFAULT_REQUEST_FLAGS): Exchange {
  const request = requestPacket(requestData(text), flags, PACKET_SECONDS * 1000);
  const response = answerRequest(request, DEFAULT_SERVER_POLICY, PACKET_SECONDS).packet;
  return { text, request, response };
}

/** A recorded IPv4 connection to the server's port, with a comment as the demo gives one. */
export const V4: RecordedConnection = {
  client: { hostname: "127.0.0.1", port: 50000 },
  server: { hostname: "127.0.0.1", port: 9999 },
  comment: "experiment 3.1",
};

/** A recorded IPv6 connection to the proxy's port. */
export const V6: RecordedConnection = {
  client: { hostname: "::1", port: 50001 },
  server: { hostname: "::1", port: 9998 },
};
