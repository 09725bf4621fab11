/**
 * `calcnet server`: the calculator server on TCP.
 *
 * @module
 */

import { unixSeconds } from "../protocol/header.ts";
import { type ConnectionLimits, serveTcp, type TcpService } from "../net/tcp_service.ts";
import { answerRequest, DEFAULT_SERVER_POLICY, type ServerPolicy } from "./handler.ts";

/** Options of {@linkcode startServer}. */
export interface ServerOptions {
  /** Interface to bind. */
  readonly hostname: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** Aborting it shuts the server down after in-flight requests. */
  readonly signal?: AbortSignal;
  /** Flags and bounds of the answers. */
  readonly policy?: ServerPolicy;
  /** Connection limits and timeouts. */
  readonly limits?: Partial<ConnectionLimits>;
  /** Receives one line per request and per connection event. */
  readonly log?: (line: string) => void;
  /** Millisecond clock (injected in tests). */
  readonly clock?: () => number;
  /** Told about every answered request (for the demo's timeline and tests). */
  readonly observe?: (event: ServerEvent) => void;
}

/** One answered request, as {@linkcode ServerOptions.observe} sees it. */
export interface ServerEvent {
  /** "host:port" of the peer. */
  readonly peer: string;
  /** Bytes of the request packet. */
  readonly requestBytes: number;
  /** Bytes of the response packet. */
  readonly responseBytes: number;
  /** The response's status. */
  readonly status: number;
}

/**
 * Starts a server; stop it by aborting `options.signal` and awaiting
 * `finished`.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const server = startServer({ hostname: "127.0.0.1", port: 0, signal: ac.signal });
 * console.log(server.addr.port);
 * ac.abort();
 * await server.finished;
 * ```
 */
export function startServer(options: ServerOptions): TcpService {
  const policy = options.policy ?? DEFAULT_SERVER_POLICY;
  const clock = options.clock ?? Date.now;
  const log = options.log ?? (() => {});
  return serveTcp(
    {
      hostname: options.hostname,
      port: options.port,
      signal: options.signal,
      limits: options.limits,
    },
    {
      handle(packet, peer) {
        // Without a log (--quiet, benchmarks) neither the time nor the line is made.
        const started = options.log === undefined ? 0 : performance.now();
        const answer = answerRequest(packet, policy, unixSeconds(clock()));
        options.observe?.({
          peer,
          requestBytes: packet.length,
          responseBytes: answer.packet.length,
          status: answer.status,
        });
        if (options.log !== undefined) {
          const took = (performance.now() - started).toFixed(2);
          log(
            `${peer} request ${packet.length} B -> ${answer.status}, response ` +
              `${answer.packet.length} B, ${took} ms${answer.error ? `: ${answer.error}` : ""}`,
          );
        }
        return { packet: answer.packet };
      },
      unframeable(received, reason, peer) {
        // Like the reference, a packet whose length lies is read as what
        // arrived; bytes without a readable header get the unpacking error.
        const answer = answerRequest(received, policy, unixSeconds(clock()));
        log(
          `${peer} unframeable packet (${reason}) of ${received.length} B -> ${answer.status}, ` +
            `response ${answer.packet.length} B${answer.error ? `: ${answer.error}` : ""}`,
        );
        return answer.packet;
      },
      event(event) {
        if (event.kind === "open") log(`${event.peer} connection established`);
        else if (event.kind === "close") log(`${event.peer} connection closed (${event.reason})`);
        else {log(
            `${event.peer} connection refused: ${event.active} connections open (limit reached)`,
          );}
      },
    },
  );
}
