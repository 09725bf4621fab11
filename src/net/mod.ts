/**
 * The network layer: the TCP service that the server and the proxy share
 * (connections, framing into packets, ordered and batched answers,
 * deadlines, the connection limit, graceful shutdown), connecting with a
 * deadline, and telling network failures from bugs.
 *
 * A request's path: {@linkcode serveTcp} accepts a connection and serves it
 * as a `Session`, which frames the bytes into packets
 * (`protocol/frame_assembler.ts`), hands each to the {@linkcode PacketHandler}
 * (the server's or the proxy's) and writes the answers back in order.
 *
 * @module
 */

export { type ServeOptions, serveTcp, type TcpService } from "./tcp_service.ts";
export type { ConnectionEvent, PacketHandler, Reply } from "./packet_handler.ts";
export type { ClosedBy, ConnectionTap, TappedConnection } from "./connection_tap.ts";
export { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "./connection_limits.ts";
export { logConnectionEvent } from "./connection_log.ts";
export { connectWithin } from "./connect_within.ts";
export { closeQuietly } from "./close_quietly.ts";
export { isConnectFailure, isConnectionDrop, isLookupFailure } from "./network_errors.ts";
