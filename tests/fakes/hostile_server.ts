/**
 * Servers that break the framing in the ways issue 9 describes, for the
 * proxy's upstream tests. Each answers every request correctly (a result
 * that is a function of the request's bytes, so a test can tell whose answer
 * a client got) and then misbehaves. They run in their own process
 * (tests/fixtures/hostile_server.py), so their bytes arrive as a real broken
 * peer's would.
 *
 * - "twice": the answer twice, back to back.
 * - "twice-split": the answer, then the same answer in a second segment
 *   right behind it.
 * - "unsolicited": the answer, then, if no request comes within 20 ms, a
 *   forged answer (result 666) on the idle connection.
 * - "overlong": the answer followed by bytes its length field does not cover.
 * - "lying-length": the whole answer, its length field saying 20.
 */

import { HEADER_SIZE } from "../../src/protocol/header.ts";
import { fixturePath, spawnPython } from "../helpers/python.ts";

/** How a hostile server misbehaves. */
export type HostileMode = "twice" | "twice-split" | "unsolicited" | "overlong" | "lying-length";

/** The result a correct answer to `packet` carries (as the fixture computes it). */
export function resultFor(packet: Uint8Array): bigint {
  let sum = 0n;
  for (const byte of packet.subarray(HEADER_SIZE)) sum = (sum * 31n + BigInt(byte)) % 1_000_003n;
  return sum;
}

/** The forged result of an unsolicited answer. */
export const FORGED_RESULT = 666n;

/** A running hostile server. */
export interface HostileServer extends AsyncDisposable {
  /** Its port. */
  readonly port: number;
}

/** Starts a server that misbehaves as `mode` says. */
export async function startHostileServer(mode: HostileMode): Promise<HostileServer> {
  const child = spawnPython([fixturePath("hostile_server.py"), mode], {
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  });
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port = 0;
  while (port === 0) {
    const { value, done } = await lines.read();
    if (done) throw new Error("the hostile server did not start");
    text += value;
    port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(text)?.[1] ?? 0);
  }
  const draining = (async () => {
    while (!(await lines.read()).done) { /* "request" lines */ }
  })();
  return {
    port,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
      await draining;
    },
  };
}
