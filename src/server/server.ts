/**
 * `calcnet server`: the calculator server on TCP.
 *
 * @module
 */

import { unixSeconds } from "../protocol/mod.ts";
import {
  type ConnectionLimits,
  type ConnectionTap,
  logConnectionEvent,
  serveTcp,
  type TcpService,
} from "../net/mod.ts";
import {
  answerRequest,
  DEFAULT_SERVER_POLICY,
  internalErrorAnswer,
  type ServerPolicy,
  UNCACHEABLE,
} from "./handler.ts";

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
  /** Receives one line per request and per connection event (none when undefined). */
  readonly log?: (line: string) => void;
  /** Receives lines about failures (default: `log`), also when `log` is undefined. */
  readonly warn?: (line: string) => void;
  /** Millisecond clock (injected in tests). */
  readonly clock?: () => number;
  /** Told about every answered request (for the demo's timeline and tests). */
  readonly observe?: (event: ServerEvent) => void;
  /** Told of every accepted connection's bytes (a recorder). */
  readonly tap?: ConnectionTap;
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
  readonly statusCode: number;
}

/**
 * Starts a server; stop it with `shutdown()` (or `await using`, or by
 * aborting `options.signal`).
 *
 * @example
 * ```ts
 * await using server = startServer({ hostname: "127.0.0.1", port: 0 });
 * console.log(server.addr.port);
 * ```
 */
export function startServer(options: ServerOptions): TcpService {
  const policy = options.policy ?? DEFAULT_SERVER_POLICY;
  const clock = options.clock ?? Date.now;
  const log = options.log ?? (() => {});
  const warn = options.warn ?? log;
  return serveTcp(
    {
      hostname: options.hostname,
      port: options.port,
      signal: options.signal,
      limits: options.limits,
      tap: options.tap,
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
          statusCode: answer.statusCode,
        });
        if (options.log !== undefined) {
          const took = (performance.now() - started).toFixed(2);
          log(
            `${peer} request ${packet.length} B -> ${answer.statusCode}, response ` +
              `${answer.packet.length} B, ${took} ms${answer.error ? `: ${answer.error}` : ""}`,
          );
        }
        return { packet: answer.packet };
      },
      unframeable(received, reason, peer, timedOut) {
        // Like the reference, a packet whose length lies is read as what
        // arrived; bytes without a readable header get the unpacking error.
        // An answer caused by a deadline is about time, not the bytes: never cacheable.
        const answer = answerRequest(
          received,
          timedOut ? { ...policy, ...UNCACHEABLE } : policy,
          unixSeconds(clock()),
        );
        log(
          `${peer} unframeable packet (${reason}) of ${received.length} B -> ${answer.statusCode}, ` +
            `response ${answer.packet.length} B${answer.error ? `: ${answer.error}` : ""}`,
        );
        return answer.packet;
      },
      internalError(_error, peer) {
        const answer = internalErrorAnswer(unixSeconds(clock()));
        warn(`${peer} -> ${answer.statusCode}: ${answer.error}`);
        return answer.packet;
      },
      event: (event) => logConnectionEvent(event, options.log, warn),
    },
  );
}
