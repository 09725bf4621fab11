/**
 * Recording without root (`--record`): captures of calcnet and of the
 * course's Python stand-ins, read back by the real tshark with calcnet's
 * dissector and by `calcnet decode`, which must agree with each other and
 * with calcnet's own decoders, message by message.
 */

import assert from "node:assert/strict";
import { collectMessages, readCapture } from "../src/capture/mod.ts";
import { encodeExpr } from "../src/pickle/mod.ts";
import { parseExpression } from "../src/calc/mod.ts";
import { COURSE_EXAMPLES } from "../src/calc/mod.ts";
import { runCli, startCli } from "./helpers/cli.ts";
import { pythonClient, startPythonServer } from "./helpers/course_programs.ts";
import { delay, RawClient, requestPacket } from "./helpers/net.ts";
import { withTempDir } from "./helpers/fs.ts";
import {
  dissect,
  type DissectedFrame,
  type DissectedMessage,
  runTshark,
} from "./helpers/tshark.ts";
import {
  assertDecodedAsCalcnet,
  assertNothingUndecoded,
  messagesOf,
  wiresharkUtc,
} from "./helpers/dissector_expectation.ts";

/** The protocol messages of a capture, in the order of the frames that completed them. */
function capturedMessages(bytes: Uint8Array): Uint8Array[] {
  // The collector gives them in frame order already.
  return collectMessages(readCapture(bytes).packets).items.flatMap(({ item }) =>
    item.kind === "message" ? [item.bytes] : []
  );
}

/** Resolves once the file at `path` has kept its size for 100 ms. */
async function settled(path: string): Promise<void> {
  let size = -1;
  for (let i = 0; i < 50; i++) {
    const now = (await Deno.stat(path)).size;
    if (now === size) return;
    size = now;
    await delay(100);
  }
}

/** `calcnet decode --json FILE` as records. */
async function decodeJson(path: string): Promise<Record<string, unknown>[]> {
  const result = await runCli(["decode", "--json", path]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim().split("\n").map((line) => JSON.parse(line));
}

/** The dissector's expert info for each kind of data calcnet refuses. */
const REFUSED_EXPERTS: Readonly<Record<string, string>> = {
  PickleError: "malformed_pickle",
  NotAnExpressionError: "not_expression",
  ComplexResultError: "complex_result",
};

/** A JSON record's object-valued key. */
function objectAt(record: Record<string, unknown>, key: string): Record<string, unknown> {
  return (record[key] ?? {}) as Record<string, unknown>;
}

/** Asserts that `calcnet decode` shows each message as the dissector does, field by field. */
function assertDecodeAgrees(records: Record<string, unknown>[], frames: DissectedFrame[]): void {
  const messages = records.filter((record) =>
    record.kind === "request" || record.kind === "response"
  );
  const dissected = messagesOf(frames);
  assert.equal(messages.length, dissected.length);
  const unlinked = unlinkedByDissector(messages);
  messages.forEach((record, i) => {
    const message = dissected[i] as DissectedMessage;
    const shown = (name: string): string[] => [...(message.fields.get(name) ?? [])];
    const decoded = {
      ...headerAsDissected(objectAt(record, "header")),
      ...payloadAsDissected(record, unlinked.has(Number(record.index))),
    };
    const names = Object.keys(decoded);
    assert.deepEqual(
      Object.fromEntries(names.map((name) => [name, shown(name)])),
      decoded,
      `message ${i}`,
    );
    assert.deepEqual(
      [...message.experts].sort(),
      expertsAsDissected(record),
      `message ${i} experts`,
    );
  });
}

/** `calcnet decode`'s header as the dissector's fields show it. */
function headerAsDissected(header: Record<string, unknown>): Record<string, string[]> {
  const bit = (value: unknown): string[] => [value === true ? "1" : "0"];
  const hex4 = (value: unknown): string[] => [`0x${Number(value).toString(16).padStart(4, "0")}`];
  return {
    "calcnet.timestamp": [wiresharkUtc(Number(header.timestamp))],
    "calcnet.length": [String(header.total_length)],
    "calcnet.flags": hex4(header.flags),
    "calcnet.reserved": [String(header.reserved)],
    "calcnet.flags.cache": bit(header.cache),
    "calcnet.flags.steps": bit(header.steps),
    "calcnet.flags.request": bit(header.request),
    "calcnet.status": [String(header.status)],
    "calcnet.max_age": [String(header.max_age)],
    "calcnet.padding": hex4(header.padding),
  };
}

/**
 * The records whose request/response links the dissector cannot show: a first message that is
 * not a pickle, on a port other than 9998/9999, is taken only in Wireshark's second pass, after
 * the links are made (docs/WIRESHARK.md), and so is its answer's link back.
 */
function unlinkedByDissector(records: Record<string, unknown>[]): Set<number> {
  const unlinked = new Set<number>();
  const streamsSeen = new Set<unknown>();
  for (const record of records) {
    const first = !streamsSeen.has(record.stream);
    streamsSeen.add(record.stream);
    const port = Number(String(record.dst).split(":").pop());
    const refused = objectAt(record, "payload").kind === "refused";
    if (!first || record.kind !== "request" || !refused || port === 9998 || port === 9999) continue;
    unlinked.add(Number(record.index));
    const response = objectAt(record, "response");
    if (response.index !== undefined) unlinked.add(Number(response.index));
  }
  return unlinked;
}

/** `calcnet decode`'s payload and links (unless `unlinked`) as the dissector's fields show them. */
function payloadAsDissected(
  record: Record<string, unknown>,
  unlinked: boolean,
): Record<string, string[]> {
  const payload = objectAt(record, "payload");
  const none: Record<string, unknown> = {};
  const request = unlinked ? none : objectAt(record, "request");
  const response = unlinked ? none : objectAt(record, "response");
  const links: Record<string, string[]> = {
    "calcnet.request_in": request.frame === undefined ? [] : [String(request.frame)],
    "calcnet.response_in": response.frame === undefined ? [] : [String(response.frame)],
    // tshark prints the time to the nanosecond, decode to the microsecond.
    "calcnet.time": request.delta == null ? [] : [Number(request.delta).toFixed(6) + "000"],
  };
  if (payload.kind === "expression") {
    return { ...links, "calcnet.expression": [String(payload.text)] };
  }
  if (payload.kind === "result") {
    const steps = payload.steps as string[];
    return {
      ...links,
      "calcnet.result.type": [String(payload.type)],
      "calcnet.result": [String(payload.value)],
      "calcnet.steps": [String(steps.length)],
      "calcnet.step": steps,
    };
  }
  if (payload.kind !== "error") return links;
  return {
    ...links,
    "calcnet.error.type": [String(payload.class)],
    "calcnet.error.message": [String(payload.message)],
    "calcnet.error.repr": [String(payload.repr)],
  };
}

/** The dissector's expert infos for `calcnet decode`'s anomalies and refusal, sorted. */
function expertsAsDissected(record: Record<string, unknown>): string[] {
  const anomalies = (record.anomalies as { code: string }[]).map((anomaly) =>
    anomaly.code.replaceAll("-", "_")
  );
  const payload = objectAt(record, "payload");
  const refused = payload.kind === "refused" ? [REFUSED_EXPERTS[String(payload.class)] ?? ""] : [];
  return [...anomalies, ...refused].sort();
}

Deno.test("calcnet demo --record: tshark shows experiment 3.2's miss, its trip to the server and the hit, all decoded", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/demo.pcapng`;
    const result = await runCli(["demo", "--record", path]);
    assert.equal(result.code, 0, result.stderr);
    const bytes = await Deno.readFile(path);
    const frames = await dissect(bytes);
    assertNothingUndecoded(frames);
    assertDecodedAsCalcnet(frames, capturedMessages(bytes));
    const records = await decodeJson(path);
    assertDecodeAgrees(records, frames);
    // Experiment 3.2, from its comment: the miss goes to the server, the hit does not.
    const start = records.findIndex((r) => String(r.text ?? "").startsWith("experiment 3.2"));
    const end = records.findIndex((r) => String(r.text ?? "").startsWith("experiment 3.3"));
    const flow = records.slice(start + 1, end).filter((r) => r.kind !== "comment").map((r) =>
      `${r.kind} ${String(r.dst).split(":")[1]}`
    );
    const proxy = String(records[start + 1]?.dst).split(":")[1];
    const [first, forwarded] = [flow[0], flow[1]];
    assert.equal(first, `request ${proxy}`);
    assert.match(forwarded ?? "", /^request \d+$/);
    assert.notEqual(forwarded, `request ${proxy}`, "the miss is forwarded to the server");
    // miss: 4 messages (client→proxy, proxy→server and back); hit: 2; second miss: 4.
    assert.equal(flow.length, 10, flow.join());
    // The filter the demo's help and the README give finds the experiment's connections.
    const marked = await runTshark(["-r", path, "-Y", 'frame.comment contains "3.2"']);
    const starts = records.slice(start, end).filter((r) => r.kind === "comment").length;
    assert.equal(marked.trim().split("\n").length, starts);
    assert.match(marked, /\[SYN\]/);
  });
});

Deno.test("calcnet proxy --record: the Python client through calcnet proxy to the Python server, decoded alike by tshark and calcnet decode", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/proxy.pcapng`;
    await using python = await startPythonServer();
    const proxy = await startCli([
      "proxy",
      "--port",
      "0",
      "--server",
      `127.0.0.1:${python.port}`,
      "--no-persist",
      "--record",
      path,
    ]);
    try {
      const texts = COURSE_EXAMPLES.map((example) => example.text);
      await pythonClient(proxy.port, texts, { showSteps: true });
      await pythonClient(proxy.port, texts, { showSteps: false });
      await pythonClient(proxy.port, ["1 / 0", "log(0)", "max(5)", "2 ** 10000.5"], {
        showSteps: true,
      });
      using raw = await RawClient.connect(proxy.port);
      const split = requestPacket(encodeExpr(parseExpression("7 % -3")), { showSteps: true });
      // Split after the header: on a port other than 9998/9999 the dissector's heuristic needs
      // the header to recognise the stream in Wireshark's second pass (docs/WIRESHARK.md).
      for (const piece of [split.subarray(0, 20), split.subarray(20, 60), split.subarray(60)]) {
        await raw.send(piece);
        await delay(30);
      }
      await raw.readPacket();
      const two = [
        requestPacket(encodeExpr(parseExpression("1 + 1"))),
        requestPacket(encodeExpr(parseExpression("2 + 2"))),
      ];
      await raw.send(new Uint8Array([...(two[0] as Uint8Array), ...(two[1] as Uint8Array)]));
      await raw.readPacket();
      await raw.readPacket();
      await raw.send(requestPacket(new TextEncoder().encode("not a pickle")));
      await raw.readPacket();
    } finally {
      assert.equal((await proxy.stop("SIGTERM")).code, 0);
    }
    assert.match(proxy.stderr(), /recording into/);
    const bytes = await Deno.readFile(path);
    const frames = await dissect(bytes);
    assertNothingUndecoded(frames);
    const messages = capturedMessages(bytes);
    // Each exchange twice: client–proxy and proxy–server (on a connection of its own, the
    // server's leg of the request that is not a pickle is not recognised, only its answer).
    assert.ok(messages.length > 2 * (12 + 4 + 3), `${messages.length} messages`);
    assertDecodedAsCalcnet(frames, messages);
    assertDecodeAgrees(await decodeJson(path), frames);
  });
});

Deno.test("calcnet proxy --record killed mid-run leaves a capture that tshark and calcnet decode read", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/killed.pcapng`;
    const server = await startCli(["server", "--port", "0", "--quiet"]);
    try {
      const proxy = await startCli([
        "proxy",
        "--port",
        "0",
        "--server",
        `127.0.0.1:${server.port}`,
        "--no-persist",
        "--record",
        path,
      ]);
      using client = await RawClient.connect(proxy.port);
      for (const example of COURSE_EXAMPLES) {
        await client.send(
          requestPacket(encodeExpr(parseExpression(example.text)), { showSteps: true }),
        );
        await client.readPacket();
      }
      // The proxy records an answer once its write returns, which may be after the client has
      // read it: let the recording settle, then kill.
      await settled(path);
      await proxy.stop("SIGKILL");
    } finally {
      await server.stop();
    }
    const bytes = await Deno.readFile(path);
    const frames = await dissect(bytes);
    assertNothingUndecoded(frames);
    assert.equal(messagesOf(frames).length, 24);
    assertDecodeAgrees(await decodeJson(path), frames);
    // The same file cut in the middle of a block: decode reads what is whole and says so.
    await Deno.writeFile(`${dir}/cut.pcapng`, bytes.subarray(0, bytes.length - 50));
    const cut = await runCli(["decode", `${dir}/cut.pcapng`]);
    assert.equal(cut.code, 0, cut.stderr);
    assert.match(cut.stderr, /ends in the middle of a block/);
    assert.match(cut.stdout, /Request/);
  });
});

Deno.test("calcnet proxy --record-max-bytes stops the recording at that size, says so once, and leaves a readable file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/small.pcapng`;
    const maxBytes = 4096;
    await using server = await startCli(["server", "--port", "0", "--quiet"]);
    const proxy = await startCli([
      "proxy",
      "--port",
      "0",
      "--server",
      `127.0.0.1:${server.port}`,
      "--no-persist",
      "--record",
      path,
      "--record-max-bytes",
      String(maxBytes),
    ]);
    try {
      using client = await RawClient.connect(proxy.port);
      for (const example of COURSE_EXAMPLES) {
        await client.send(
          requestPacket(encodeExpr(parseExpression(example.text)), { showSteps: true }),
        );
        await client.readPacket();
      }
    } finally {
      assert.equal((await proxy.stop("SIGTERM")).code, 0);
    }
    const stops = proxy.stderr().match(/recording into .* stopped: .*size limit of 4096 bytes/g);
    assert.equal(stops?.length, 1, proxy.stderr());
    const bytes = await Deno.readFile(path);
    assert.ok(bytes.length <= maxBytes, `${bytes.length} bytes`);
    assert.ok(messagesOf(await dissect(bytes)).length > 0);
    assertDecodeAgrees(await decodeJson(path), await dissect(bytes));
  });
});

Deno.test("calcnet proxy --record into a folder that does not exist is one line and exit 2", async () => {
  await withTempDir(async (dir) => {
    const result = await runCli([
      "proxy",
      "--port",
      "0",
      "--record",
      `${dir}/missing/proxy.pcapng`,
    ]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /^calcnet proxy: cannot record into .*missing\/proxy\.pcapng: .+\n$/,
    );
  });
});
