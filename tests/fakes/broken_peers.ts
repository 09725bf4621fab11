/**
 * Deliberately broken servers and proxies for `calcnet check`'s tests: each
 * gets one thing wrong, and the check must name the case that catches it.
 * All listen on 127.0.0.1, port 0, and stop when shut down or disposed
 * (`await using fake = startStepsServer("drop")`).
 */

import { decodeHeader, encodePacket, HEADER_SIZE } from "../../src/protocol/header.ts";
import { FrameAssembler, FrameError } from "../../src/protocol/frame_assembler.ts";
import { writeAll } from "../../src/protocol/packet_stream.ts";
import { serveTcp, type TcpService } from "../../src/net/mod.ts";
import { isConnectionDrop } from "../../src/net/network_errors.ts";
import { answerRequest, DEFAULT_SERVER_POLICY } from "../../src/server/handler.ts";
import { CalcConnection } from "../../src/client/connection.ts";
import { decodeResponse, encodeResult } from "../../src/pickle/mod.ts";
import { closeQuietly } from "../../src/net/close_quietly.ts";

/** A running fake, stopped as a {@linkcode TcpService} is: `shutdown()` or `await using`. */
export interface Fake extends AsyncDisposable {
  /** The port it listens on. */
  readonly port: number;
  /** Settles when it has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /** Stops it; resolves as {@linkcode Fake.finished} does. Calling it again changes nothing. */
  shutdown(): Promise<void>;
}

/** The {@linkcode Fake} face of a service. */
function fakeOf(service: TcpService): Fake {
  return {
    port: service.addr.port,
    finished: service.finished,
    shutdown: () => service.shutdown(),
    [Symbol.asyncDispose]: () => service.shutdown(),
  };
}

const now = (): number => Math.floor(Date.now() / 1000);

/** Answers one packet as calcnet's server does. */
function answer(packet: Uint8Array): Uint8Array {
  return answerRequest(packet, DEFAULT_SERVER_POLICY, now()).packet;
}

/** A copy of `packet` with its S flag cleared. */
function withoutSteps(packet: Uint8Array): Uint8Array {
  const copy = packet.slice();
  copy[6] = (copy[6] as number) & ~0x08;
  return copy;
}

/** A copy of an answer with its steps in reverse order. */
function reversedSteps(response: Uint8Array): Uint8Array {
  const decoded = decodeResponse(response.subarray(HEADER_SIZE));
  if (decoded.kind !== "result" || decoded.steps.length === 0) return response;
  const { header } = decodeHeader(response);
  return encodePacket(header, encodeResult(decoded.result, decoded.steps.toReversed()));
}

/**
 * A server that gets the steps wrong: "drop" answers as if S were 0;
 * "reverse" sends them last to first.
 */
export function startStepsServer(mode: "drop" | "reverse"): Fake {
  const service = serveTcp({ hostname: "127.0.0.1", port: 0 }, {
    handle: (packet) => ({
      packet: mode === "drop" ? answer(withoutSteps(packet)) : reversedSteps(answer(packet)),
    }),
    unframeable: () => null,
    internalError: () => null,
  });
  return fakeOf(service);
}

/**
 * A server that reads whatever one read brings and, when that holds two
 * requests, answers them in the wrong order. An unfinished packet is never
 * answered.
 */
export function startSwappingServer(): Fake {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.TcpConn>();
  const serve = async (conn: Deno.TcpConn): Promise<void> => {
    const frames = new FrameAssembler();
    try {
      for (;;) {
        const count = await conn.read(frames.writable());
        if (count === null) return;
        frames.commit(count);
        const packets: Uint8Array[] = [];
        for (let p = frames.next(); p !== null; p = frames.next()) packets.push(p);
        for (const packet of packets.toReversed()) await writeAll(conn, answer(packet));
      }
    } catch (error: unknown) {
      if (!(error instanceof FrameError) && !isConnectionDrop(error)) throw error;
    } finally {
      conns.delete(conn);
      closeQuietly(conn);
    }
  };
  const running = new Set<Promise<void>>();
  const accepting = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error: unknown) {
        if (error instanceof Deno.errors.BadResource) return;
        throw error;
      }
      conns.add(conn);
      const task = serve(conn);
      running.add(task);
      task.finally(() => running.delete(task));
    }
  })();
  const stopped = Promise.withResolvers<void>();
  let stopping = false;
  const shutdown = (): Promise<void> => {
    if (!stopping) {
      stopping = true;
      listener.close();
      for (const conn of conns) closeQuietly(conn);
      Promise.all([accepting, ...running]).then(() => stopped.resolve(), stopped.reject);
    }
    return stopped.promise;
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    finished: stopped.promise,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

/** Forwards one packet to the server on a new connection. */
async function forward(serverPort: number, packet: Uint8Array): Promise<Uint8Array> {
  using conn = await CalcConnection.open("127.0.0.1", serverPort, { answerTimeoutMs: 2000 });
  return (await conn.exchange(packet)).response;
}

/**
 * A proxy that keeps nothing ("forward") or keeps every answer forever and
 * serves it whatever the request's max-age ("stale").
 */
export function startBrokenProxy(
  mode: "forward" | "stale",
  serverPort: number,
): Fake {
  const stored = new Map<string, Uint8Array>();
  const service = serveTcp({ hostname: "127.0.0.1", port: 0 }, {
    async handle(packet) {
      if (mode === "forward") return { packet: await forward(serverPort, packet) };
      const { header } = decodeHeader(packet);
      const key = `${header.showSteps}:${packet.subarray(HEADER_SIZE).join(",")}`;
      const hit = stored.get(key);
      if (hit !== undefined) return { packet: hit };
      const response = await forward(serverPort, packet);
      stored.set(key, response);
      return { packet: response };
    },
    unframeable: () => null,
    internalError: () => null,
  });
  return fakeOf(service);
}
