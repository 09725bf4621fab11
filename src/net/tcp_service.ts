/**
 * The TCP shell shared by the server and the proxy: accept connections up to
 * a limit, read packets one after another on each, answer them in order,
 * time out idle peers and unfinished packets, and shut down gracefully.
 *
 * @module
 */

import { FrameError } from "../protocol/frame_assembler.ts";
import { IncompleteFrameError, PacketReader, writeAll } from "../protocol/packet_stream.ts";
import { closeQuietly } from "./close_quietly.ts";
import { isConnectionDrop } from "./network_errors.ts";

/** Limits on what a peer controls. */
export interface ConnectionLimits {
  /** Connections served at once; more are accepted and closed at once. */
  readonly maxConnections: number;
  /** A connection with no bytes for this long between packets is closed. */
  readonly idleTimeoutMs: number;
  /** An unfinished packet with no new bytes for this long is answered and closed. */
  readonly frameTimeoutMs: number;
  /** How long shutdown waits for in-flight requests before closing them. */
  readonly shutdownGraceMs: number;
}

/** The defaults of {@linkcode ConnectionLimits}. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 4096,
  idleTimeoutMs: 60_000,
  frameTimeoutMs: 500,
  shutdownGraceMs: 5_000,
};

/** What a handler answers: a packet to send, and whether to close after it. */
export interface Reply {
  /** The packet to write back. */
  readonly packet: Uint8Array;
  /** Close the connection after writing (the stream can no longer be trusted). */
  readonly close?: boolean;
}

/** What the service calls for each connection's traffic. */
export interface PacketHandler {
  /** Answers one complete packet; the reply is written before the next packet is read. */
  handle(packet: Uint8Array, peer: string): Reply | Promise<Reply>;
  /**
   * Answers bytes that can no longer be framed (an unfinished packet at a
   * timeout or at the end of the stream, or a total length below 12);
   * null closes silently.
   */
  unframeable(received: Uint8Array, reason: string, peer: string): Uint8Array | null;
  /** Told about connections opening, closing and being refused (for logs). */
  event?(event: ConnectionEvent): void;
}

/** A connection-level event, for logs and counters. */
export type ConnectionEvent =
  | { readonly kind: "open"; readonly peer: string }
  | { readonly kind: "close"; readonly peer: string; readonly reason: string }
  | { readonly kind: "refused"; readonly peer: string; readonly active: number };

/** Options of {@linkcode serveTcp}. */
export interface ServeOptions {
  /** Interface to bind, e.g. "127.0.0.1". */
  readonly hostname: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** Aborting it shuts the service down gracefully. */
  readonly signal?: AbortSignal;
  /** Limits; missing fields take {@linkcode DEFAULT_CONNECTION_LIMITS}. */
  readonly limits?: Partial<ConnectionLimits>;
}

/** A running service. */
export interface TcpService {
  /** The bound address (the real port when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /** Connections open now. */
  readonly activeConnections: () => number;
  /** Resolves when the service has shut down and every connection is closed. */
  readonly finished: Promise<void>;
}

interface Session {
  readonly conn: Deno.TcpConn;
  readonly reader: PacketReader;
  readonly peer: string;
  lastActivity: number;
  busy: boolean;
  closed: boolean;
}

/**
 * Serves `handler` on a TCP port until `options.signal` aborts.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const service = serveTcp({ hostname: "127.0.0.1", port: 0, signal: ac.signal }, handler);
 * // ... later
 * ac.abort();
 * await service.finished;
 * ```
 */
export function serveTcp(options: ServeOptions, handler: PacketHandler): TcpService {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  // Timeouts run on the monotonic clock: a wall-clock jump must not close every connection.
  const clock = (): number => performance.now();
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
    transport: "tcp",
  });
  const sessions = new Set<Session>();
  const running = new Set<Promise<void>>();
  let stopping = false;

  const closeSession = (session: Session, reason: string): void => {
    if (session.closed) return;
    session.closed = true;
    closeQuietly(session.conn);
    handler.event?.({ kind: "close", peer: session.peer, reason });
  };

  const sweepEvery = Math.max(
    20,
    Math.min(1000, limits.frameTimeoutMs / 2, limits.idleTimeoutMs / 2),
  );
  const sweeper = setInterval(() => {
    const now = clock();
    for (const session of sessions) {
      if (session.busy || session.closed) continue;
      const quiet = now - session.lastActivity;
      if (session.reader.pending > 0 && quiet >= limits.frameTimeoutMs) {
        const reply = handler.unframeable(
          session.reader.pendingBytes(),
          `no more bytes for ${limits.frameTimeoutMs} ms`,
          session.peer,
        );
        session.busy = true;
        const done = reply === null ? Promise.resolve() : writeAll(session.conn, reply);
        done.catch(() => {}).finally(() => closeSession(session, "unfinished packet timed out"));
      } else if (session.reader.pending === 0 && quiet >= limits.idleTimeoutMs) {
        closeSession(session, "idle timeout");
      }
    }
  }, sweepEvery);

  const serveConnection = async (conn: Deno.TcpConn): Promise<void> => {
    const remote = conn.remoteAddr as Deno.NetAddr;
    const peer = `${remote.hostname}:${remote.port}`;
    const session: Session = {
      conn,
      peer,
      lastActivity: clock(),
      busy: false,
      closed: false,
      reader: new PacketReader({
        read: async (buffer) => {
          const count = await conn.read(buffer);
          session.lastActivity = clock();
          return count;
        },
      }),
    };
    sessions.add(session);
    handler.event?.({ kind: "open", peer });
    let reason = "peer closed";
    try {
      conn.setNoDelay(true);
      while (!stopping) {
        const packet = await session.reader.read();
        if (packet === null) break;
        session.busy = true;
        const reply = await handler.handle(packet, peer);
        await writeAll(conn, reply.packet);
        session.busy = false;
        session.lastActivity = clock();
        if (reply.close) {
          reason = "closed after an error";
          break;
        }
      }
      if (stopping) reason = "shutdown";
    } catch (error: unknown) {
      reason = await failedConnection(error, session, handler);
    } finally {
      sessions.delete(session);
      closeSession(session, reason);
    }
  };

  const acceptLoop = async (): Promise<void> => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error: unknown) {
        if (stopping || error instanceof Deno.errors.BadResource) return;
        // Out of file descriptors and the like: wait a moment, keep serving.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      if (sessions.size >= limits.maxConnections) {
        const remote = conn.remoteAddr as Deno.NetAddr;
        handler.event?.({
          kind: "refused",
          peer: `${remote.hostname}:${remote.port}`,
          active: sessions.size,
        });
        conn.close();
        continue;
      }
      const task = serveConnection(conn);
      running.add(task);
      task.finally(() => running.delete(task));
    }
  };

  const stop = async (): Promise<void> => {
    stopping = true;
    closeQuietly(listener);
    // Idle connections close now; busy ones finish their request first.
    for (const session of sessions) if (!session.busy) closeSession(session, "shutdown");
    const grace = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, limits.shutdownGraceMs);
      Promise.allSettled([...running]).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await grace;
    for (const session of sessions) closeSession(session, "shutdown grace period over");
    await Promise.allSettled([...running]);
    clearInterval(sweeper);
  };

  const accepting = acceptLoop();
  const finished = new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      Promise.all([stop(), accepting]).then(() => resolve(), reject);
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
  });
  return {
    addr: listener.addr as Deno.NetAddr,
    activeConnections: () => sessions.size,
    finished,
  };
}

/** Handles what ended a connection early; returns the reason for the log. */
async function failedConnection(
  error: unknown,
  session: Session,
  handler: PacketHandler,
): Promise<string> {
  if (session.closed) return "closed";
  let received: Uint8Array | null = null;
  let reason: string;
  if (error instanceof IncompleteFrameError) {
    received = error.received;
    reason = "peer closed in the middle of a packet";
  } else if (error instanceof FrameError) {
    received = session.reader.pendingBytes();
    reason = error.message;
  } else if (isConnectionDrop(error)) {
    return "connection reset";
  } else {
    throw error;
  }
  const reply = handler.unframeable(received, reason, session.peer);
  if (reply !== null) {
    try {
      await writeAll(session.conn, reply);
    } catch (writeError: unknown) {
      if (!isConnectionDrop(writeError)) throw writeError;
    }
  }
  return reason;
}
