/**
 * calcnet's reader on a real capture: dumpcap (Wireshark's capture engine)
 * records a calcnet server's loopback traffic as the kernel sends it —
 * Ethernet link type, TCP options, pure ACKs — and `decodeCapture` finds
 * every message in it. Capturing needs root (CI runs as root) and dumpcap
 * (Debian's wireshark-common, installed with tshark); without them the test
 * fails rather than skips.
 */

import assert from "node:assert/strict";
import { decodeCapture, LinkType, type MessageRecord, readCapture } from "../src/capture/mod.ts";

import { exchange } from "./helpers/capture_traffic.ts";
import { concat } from "./helpers/bytes.ts";
import { withTempDir } from "./helpers/fs.ts";
import { delay, RawClient, withServer } from "./helpers/net.ts";
import { TSHARK_MISSING } from "./helpers/tshark.ts";

const ONE = exchange("max(2, 3) + 3");
const TWO = exchange("1 / 0");
const THREE = exchange("-(-((1 + (2 + 3)) ** -(4 + 5)))");
const STARTUP_TIMEOUT_MS = 10_000;

/** Starts dumpcap on `lo` for TCP `port` into `path`, and waits until it captures. */
async function startDumpcap(port: number, path: string): Promise<Deno.ChildProcess> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("dumpcap", {
      args: ["-i", "lo", "-f", `tcp port ${port}`, "-w", path],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (error: unknown) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(TSHARK_MISSING.replace("tshark is", "dumpcap is"));
    }
    throw error;
  }
  const reader = child.stderr.getReader();
  let text = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), STARTUP_TIMEOUT_MS);
  try {
    while (!/^File: /m.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`dumpcap did not start capturing (root is needed): ${text}`);
      text += new TextDecoder().decode(value);
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  return child;
}

Deno.test("decodeCapture() finds every message in a real loopback capture made by dumpcap", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/lo.pcapng`;
    await withServer(async (port) => {
      const dumpcap = await startDumpcap(port, path);
      try {
        using client = await RawClient.connect(port);
        // ONE in two segments, then TWO and THREE in one.
        await client.send(ONE.request.subarray(0, 100));
        await delay(50);
        await client.send(ONE.request.subarray(100));
        assert.ok(await client.readPacket());
        await client.send(concat([TWO.request, THREE.request]));
        assert.ok(await client.readPacket());
        assert.ok(await client.readPacket());
        // Let the kernel hand dumpcap the last packets before it stops.
        await delay(200);
      } finally {
        dumpcap.kill("SIGTERM");
        await dumpcap.stderr.cancel();
        await dumpcap.status;
      }
    });
    const file = await Deno.readFile(path);
    assert.equal(readCapture(file).packets[0]?.linkType, LinkType.Ethernet);
    const report = decodeCapture(file, path);
    assert.deepEqual(report.problems, []);
    const messages = report.records.filter((r): r is MessageRecord =>
      r.kind === "request" || r.kind === "response"
    );
    assert.deepEqual(
      messages.map((
        m,
      ) => [m.kind, m.complete, m.payload.kind === "expression" ? m.payload.text : m.payload.kind]),
      [
        ["request", true, "max(2, 3) + 3"],
        ["response", true, "result"],
        ["request", true, "1 / 0"],
        ["request", true, "-(-((1 + (2 + 3)) ** -(4 + 5)))"],
        ["response", true, "error"],
        ["response", true, "result"],
      ],
    );
    const [first, firstAnswer] = messages;
    assert.ok(
      first !== undefined && first.firstFrame !== null && first.frame !== null &&
        first.firstFrame < first.frame,
    );
    assert.equal(firstAnswer?.request?.index, first.index);
    assert.equal(messages[2]?.frame, messages[3]?.frame);
    assert.equal(messages[5]?.request?.index, messages[3]?.index);
  });
});
