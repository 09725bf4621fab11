/**
 * A server that answers chosen requests with chosen data (an odd or hostile
 * answer, in a well-formed 200 packet) and every other request as calcnet's
 * server does.
 */

import { encodePacket } from "../../src/protocol/header.ts";
import { serveTcp } from "../../src/net/mod.ts";
import { answerRequest, DEFAULT_SERVER_POLICY } from "../../src/server/handler.ts";

/** A running scripted server. */
export interface ScriptedServer extends AsyncDisposable {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Requests received so far. */
  readonly requests: () => number;
}

/**
 * Starts a server on 127.0.0.1 that answers its `n`th request (from 1) with
 * the pickle `script(n)` returns, C=1, max-age 65535, S=1 (the data may hold
 * steps), or as calcnet's server when it returns `undefined`.
 */
export function startScriptedServer(
  script: (count: number) => Uint8Array | undefined,
): ScriptedServer {
  let count = 0;
  const controller = new AbortController();
  const service = serveTcp({ hostname: "127.0.0.1", port: 0, signal: controller.signal }, {
    handle(packet) {
      count++;
      const now = Math.floor(Date.now() / 1000);
      const data = script(count);
      if (data === undefined) {
        return { packet: answerRequest(packet, DEFAULT_SERVER_POLICY, now).packet };
      }
      const header = {
        timestamp: now,
        cacheResult: true,
        showSteps: true,
        isRequest: false,
        statusCode: 200,
        cacheControl: 65535,
      };
      return { packet: encodePacket(header, data) };
    },
    unframeable: () => null,
    internalError: () => null,
  });
  return {
    port: service.addr.port,
    requests: () => count,
    [Symbol.asyncDispose]: async () => {
      controller.abort();
      await service.finished;
    },
  };
}
