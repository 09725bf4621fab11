/**
 * A fake calculator server for proxy tests, in the manner of nginx's
 * proxy_cache tests: it counts requests and can delay, stall, garble or
 * die mid-answer. Its answers are well-formed: a result that is the request's
 * number (and a step naming it), so a test can tell which trip to the server
 * produced an answer.
 */

import { decodeHeader, encodePacket, HEADER_SIZE } from "../../src/protocol/header.ts";
import { type PacketHandler, serveTcp, type TcpService } from "../../src/net/mod.ts";
import { delay } from "../helpers/net.ts";
import { decodeResponse, encodeResult } from "../../src/pickle/mod.ts";

/** How the fake answers. */
export type FakeMode = "answer" | "stall" | "garble" | "die-mid-answer";

/** A running fake server. */
export interface FakeServer extends AsyncDisposable {
  readonly port: number;
  /** Requests received so far. */
  readonly requests: () => number;
  /** Connections accepted so far. */
  readonly connections: () => number;
  /** Changes behaviour for the next requests. */
  set(options: Partial<FakeSettings>): void;
  stop(): Promise<void>;
}

/** What the fake's answers look like. */
export interface FakeSettings {
  readonly mode: FakeMode;
  readonly delayMs: number;
  readonly statusCode: number;
  readonly cacheResult: boolean;
  readonly cacheControl: number;
  /** Unix seconds for the answer's time stamp. */
  readonly now: () => number;
}

/** Starts a fake server on a free port. */
export function startFakeServer(initial: Partial<FakeSettings> = {}): FakeServer {
  let settings: FakeSettings = {
    mode: "answer",
    delayMs: 0,
    statusCode: 200,
    cacheResult: true,
    cacheControl: 65535,
    now: () => Math.floor(Date.now() / 1000),
    ...initial,
  };
  let count = 0;
  let opened = 0;
  const stalls: Array<() => void> = [];
  const handler: PacketHandler = {
    async handle(packet) {
      count++;
      const number = count;
      const { header } = decodeHeader(packet);
      if (settings.delayMs > 0) {
        await delay(settings.delayMs);
      }
      if (settings.mode === "stall") {
        await new Promise<void>((resolve) => stalls.push(resolve));
        return { packet: new Uint8Array(0), close: true };
      }
      if (settings.mode === "garble") {
        return { packet: new Uint8Array([0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5, 6]), close: true };
      }
      const data = encodeResult(BigInt(number), [
        `answer #${number} to ${packet.length - HEADER_SIZE} bytes`,
      ]);
      const response = encodePacket(
        {
          timestamp: settings.now(),
          cacheResult: settings.cacheResult,
          showSteps: header.showSteps,
          isRequest: false,
          statusCode: settings.statusCode,
          cacheControl: settings.cacheControl,
        },
        data,
      );
      if (settings.mode === "die-mid-answer") {
        return { packet: response.subarray(0, 15), close: true };
      }
      return { packet: response };
    },
    unframeable: () => null,
    internalError: () => null,
    event(event) {
      if (event.kind === "open") opened++;
    },
  };
  const service: TcpService = serveTcp({
    hostname: "127.0.0.1",
    port: 0,
    limits: { shutdownGraceMs: 200 },
  }, handler);
  const stop = (): Promise<void> => {
    for (const release of stalls.splice(0)) release();
    return service.shutdown();
  };
  return {
    port: service.addr.port,
    requests: () => count,
    connections: () => opened,
    set(options) {
      settings = { ...settings, ...options };
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** The answer number a fake response carries (its result), or NaN for an error. */
export function answerNumber(response: Uint8Array): number {
  const body = decodeResponse(response.subarray(HEADER_SIZE));
  return body.kind === "result" ? Number(body.result) : NaN;
}
