import assert from "node:assert/strict";
import {
  CaptureFormatError,
  decodeCapture,
  decodeHex,
  decodeMessage,
  type DecodeRecord,
  HexInputError,
  LinkType,
  type MessageRecord,
  readCapture,
  recordJson,
  recordText,
  summaryText,
} from "../src/capture/mod.ts";
import { PyException } from "../src/calc/py_exception.ts";
import {
  encodeException,
  pickleDumps,
  pyGlobal,
  pyList,
  pyReduce,
  pyTuple,
} from "../src/pickle/mod.ts";
import { encodePacket, HEADER_SIZE } from "../src/protocol/mod.ts";
import { epb, idb, recordToBytes, shb, wrapLink } from "./helpers/capture_files.ts";
import { mulberry32 } from "./helpers/random.ts";
import { exchange, PACKET_SECONDS } from "./helpers/capture_traffic.ts";
import { concat, toHex } from "./helpers/bytes.ts";
import { runCli } from "./helpers/cli.ts";
import { withTempDir } from "./helpers/fs.ts";
import { stepBombPickle } from "./helpers/hostile_pickles.ts";

const CONN = {
  client: { hostname: "127.0.0.1", port: 50000 },
  server: { hostname: "127.0.0.1", port: 9999 },
  comment: "experiment 3.1",
};
const T0 = 1_700_000_000_000;
const FUZZ_SEED = 1234567;
const ONE = exchange("max(2, 3) + 3");
const TWO = exchange("1 / 0");

/** A packet with the given raw header fields around `data`. */
function rawPacket(
  fields: { flags: number; cacheControl: number; padding?: number; length?: number },
  data: Uint8Array,
): Uint8Array {
  const packet = new Uint8Array(HEADER_SIZE + data.length);
  const view = new DataView(packet.buffer);
  view.setUint32(0, PACKET_SECONDS);
  view.setUint16(4, fields.length ?? packet.length);
  view.setUint16(6, fields.flags);
  view.setUint16(8, fields.cacheControl);
  view.setUint16(10, fields.padding ?? 0);
  packet.set(data, HEADER_SIZE);
  return packet;
}

function responseOf(data: Uint8Array, status = 200): Uint8Array {
  return encodePacket(
    {
      timestamp: PACKET_SECONDS,
      cacheResult: true,
      showSteps: false,
      isRequest: false,
      statusCode: status,
      cacheControl: 65535,
    },
    data,
  );
}

/** A capture of the conversation: ONE and TWO, ONE's request in two segments. */
function conversationCapture(): Uint8Array {
  return recordToBytes((w) => {
    w.open(CONN, T0);
    w.data(CONN, "client", ONE.request.subarray(0, 100), T0 + 1);
    w.data(CONN, "client", ONE.request.subarray(100), T0 + 2);
    w.data(CONN, "server", ONE.response, T0 + 2.5);
    w.data(CONN, "client", TWO.request, T0 + 10);
    w.data(CONN, "server", TWO.response, T0 + 11);
    w.close(CONN, "client", T0 + 12);
  });
}

function messageRecords(records: readonly DecodeRecord[]): MessageRecord[] {
  return records.filter((r): r is MessageRecord => r.kind === "request" || r.kind === "response");
}

Deno.test("decodeMessage() shows a request's header fields as sent and its expression", () => {
  const decoded = decodeMessage(ONE.request);
  assert.equal(decoded.kind, "request");
  assert.deepEqual(decoded.header, {
    timestamp: PACKET_SECONDS,
    totalLength: ONE.request.length,
    flags: 0x1c00,
    reserved: 0,
    cacheResult: true,
    showSteps: true,
    isRequest: true,
    statusCode: 0,
    cacheControl: 65535,
    padding: 0,
  });
  assert.deepEqual(decoded.anomalies, []);
  assert.deepEqual(decoded.payload, { kind: "expression", text: "max(2, 3) + 3" });
});

Deno.test("decodeMessage() shows a response's result with its type and steps, or its error", () => {
  assert.deepEqual(decodeMessage(ONE.response).payload, {
    kind: "result",
    type: "int",
    value: "6",
    steps: ["max(2, 3) + 3", "3 + 3", "6"],
  });
  assert.deepEqual(decodeMessage(exchange("6 / 2").response).payload, {
    kind: "result",
    type: "float",
    value: "3.0",
    steps: ["6 / 2", "3.0"],
  });
  assert.deepEqual(decodeMessage(TWO.response).payload, {
    kind: "error",
    errorClass: "ZeroDivisionError",
    module: "builtins",
    message: "division by zero",
    repr: "ZeroDivisionError('division by zero')",
  });
  const proxyError = new PyException("CalculatorServerError", [
    "Internal proxy error",
    new PyException("CalculatorServerError", [
      "Connection refused by server and the request was not in the cache/it was stale",
    ]),
  ]);
  const decoded = decodeMessage(responseOf(encodeException(proxyError), 500));
  assert.equal(decoded.header.statusCode, 500);
  assert.deepEqual(decoded.payload, {
    kind: "error",
    errorClass: "CalculatorServerError",
    module: "api",
    message: proxyError.str(),
    repr: proxyError.repr(),
  });
});

Deno.test("decodeMessage() says why calcnet refuses a pickle, never running it", () => {
  const evil = pickleDumps(pyReduce(pyGlobal("os", "system"), pyTuple(["echo hacked"])));
  const refused = decodeMessage(rawPacket({ flags: 0x1c00, cacheControl: 65535 }, evil)).payload;
  assert.ok(refused.kind === "refused" && refused.errorClass === "PickleError");
  assert.match(refused.message, /os/);
  assert.deepEqual(
    decodeMessage(rawPacket({ flags: 0x1c00, cacheControl: 65535 }, pickleDumps(42n))).payload,
    {
      kind: "refused",
      errorClass: "NotAnExpressionError",
      message: "the pickled object is int, not an expression",
    },
  );
  const complex = pickleDumps(
    pyTuple([pyReduce(pyGlobal("builtins", "complex"), pyTuple([1.5, 2.5])), pyList([])]),
  );
  const complexPayload = decodeMessage(responseOf(complex)).payload;
  assert.ok(
    complexPayload.kind === "refused" && complexPayload.errorClass === "ComplexResultError",
  );
  assert.deepEqual(
    decodeMessage(rawPacket({ flags: 0x1c00, cacheControl: 65535 }, Uint8Array.of(1, 2, 3))).payload
      .kind,
    "refused",
  );
});

Deno.test("decodeMessage() names every anomaly the reference's normalisation warns about", () => {
  const data = ONE.request.subarray(HEADER_SIZE);
  const codes = (packet: Uint8Array): string[] =>
    decodeMessage(packet).anomalies.map((a) => a.code);
  const noCacheWithAge = decodeMessage(rawPacket({ flags: 0x0c00, cacheControl: 60 }, data));
  assert.equal(noCacheWithAge.header.cacheControl, 60);
  assert.deepEqual(noCacheWithAge.anomalies.map((a) => a.code), ["cache-control-without-cache"]);
  assert.deepEqual(codes(rawPacket({ flags: 0x5c00, cacheControl: 65535 }, data)), [
    "reserved-bits",
  ]);
  assert.deepEqual(codes(rawPacket({ flags: 0x1c00 | 200, cacheControl: 65535 }, data)), [
    "status-on-request",
  ]);
  assert.deepEqual(codes(rawPacket({ flags: 0x1c00, cacheControl: 65535, padding: 7 }, data)), [
    "padding",
  ]);
  assert.deepEqual(codes(rawPacket({ flags: 0x10c8, cacheControl: 0 }, data)), [
    "response-cache-without-max-age",
  ]);
  const cut = decodeMessage(ONE.request.subarray(0, 50), false);
  assert.deepEqual(cut.anomalies.map((a) => a.code), ["length-mismatch"]);
  assert.deepEqual(cut.payload, {
    kind: "incomplete",
    have: 38,
    expected: ONE.request.length - HEADER_SIZE,
  });
});

Deno.test("decodeCapture() links each response to its request, with the time between them", () => {
  const report = decodeCapture(conversationCapture(), "conv.pcapng");
  assert.equal(report.format, "pcapng");
  const [comment, ...rest] = report.records;
  assert.deepEqual(
    comment &&
      {
        kind: comment.kind,
        frame: comment.frame,
        text: comment.kind === "comment" && comment.text,
      },
    {
      kind: "comment",
      frame: 1,
      text: "experiment 3.1",
    },
  );
  const messages = messageRecords(rest);
  assert.deepEqual(messages.map((m) => [m.index, m.kind, m.firstFrame, m.frame, m.src]), [
    [2, "request", 4, 5, "127.0.0.1:50000"],
    [3, "response", 6, 6, "127.0.0.1:9999"],
    [4, "request", 7, 7, "127.0.0.1:50000"],
    [5, "response", 8, 8, "127.0.0.1:9999"],
  ]);
  assert.deepEqual(messages[1]?.request, { index: 2, frame: 5, deltaNs: 500_000n });
  assert.deepEqual(messages[0]?.response, { index: 3, frame: 6, deltaNs: 500_000n });
  assert.deepEqual(messages[3]?.request, { index: 4, frame: 7, deltaNs: 1_000_000n });
  assert.equal(
    summaryText(report),
    "conv.pcapng: pcapng, 11 packets, 1 TCP stream (1 of calculator traffic): 2 requests, 2 responses",
  );
});

Deno.test("decodeCapture() of a truncated file reports the damage and the unfinished message", () => {
  const file = conversationCapture();
  const readable = readCapture(file).packets;
  const frame7End = (readable[6]?.data.byteOffset ?? 0) + 20;
  const report = decodeCapture(file.subarray(0, frame7End), "cut.pcapng");
  assert.match(report.problems[0] ?? "", /ends in the middle of a block/);
  const messages = messageRecords(report.records);
  assert.deepEqual(messages.map((m) => [m.kind, m.complete]), [["request", true], [
    "response",
    true,
  ]]);
  assert.equal(messages[0]?.response?.index, 3);
});

Deno.test("decodeHex() reads messages copied as a hex stream, white space and colons allowed", () => {
  const hex = toHex(concat([ONE.request, ONE.response]));
  const spaced = hex.replace(/(.{32})/g, "$1\n  ").replace(/(..)(..)/, "$1:$2");
  for (const text of [hex, spaced, `0x${hex.toUpperCase()}`]) {
    const report = decodeHex(text, "hex");
    assert.equal(report.format, "hex (messages)");
    const messages = messageRecords(report.records);
    assert.deepEqual(messages.map((m) => [m.kind, m.payload.kind, m.stream, m.frame]), [
      ["request", "expression", null, null],
      ["response", "result", null, null],
    ]);
    assert.equal(messages[1]?.request?.index, 1);
  }
});

Deno.test("decodeHex() unwraps a whole Ethernet frame or IP packet to its TCP payload", () => {
  const [, , , data] = readCapture(recordToBytes((w) => {
    w.open(CONN, T0);
    w.data(CONN, "client", TWO.request, T0);
  })).packets;
  const ip = data?.data as Uint8Array;
  const viaEthernet = decodeHex(toHex(wrapLink(1, ip)), "hex");
  assert.equal(viaEthernet.format, "hex (ethernet)");
  const [message] = messageRecords(viaEthernet.records);
  assert.deepEqual([message?.src, message?.dst, message?.payload], [
    "127.0.0.1:50000",
    "127.0.0.1:9999",
    {
      kind: "expression",
      text: "1 / 0",
    },
  ]);
  assert.equal(decodeHex(toHex(ip), "hex").format, "hex (ip)");
  const partial = decodeHex(toHex(ONE.request.subarray(0, 40)), "hex");
  assert.deepEqual(messageRecords(partial.records).map((m) => m.complete), [false]);
});

Deno.test("decodeHex() refuses text that is not hex, with a reason", () => {
  assert.throws(
    () => decodeHex("12 3g", "hex"),
    (e) => e instanceof HexInputError && /"g" at digit 4/.test(e.message),
  );
  assert.throws(() => decodeHex("123", "hex"), /odd number of hex digits \(3\)/);
  assert.throws(() => decodeHex(" \n", "hex"), /no hex digits/);
});

Deno.test("recordText() shows the fields, their meaning and the payload, one block per message", () => {
  const records = decodeCapture(conversationCapture(), "conv.pcapng").records;
  assert.equal(
    recordText(records[1] as DecodeRecord),
    [
      "#2  stream 0  frames 4–5  2023-11-14 22:13:20.002000  127.0.0.1:50000 → 127.0.0.1:9999",
      `Request, ${ONE.request.length} bytes`,
      "  time stamp    1700000000 (2023-11-14 22:13:20 UTC)",
      `  total length  ${ONE.request.length}`,
      "  flags         0x1c00: reserved 0, C=1 (may be cached), S=1 (steps wanted), T=1 (request), status 0 (none)",
      "  max-age       65535 (forever)",
      "  padding       0x0000",
      "  expression    max(2, 3) + 3",
      "  response in   #3, frame 6 (0.500 ms later)",
    ].join("\n"),
  );
  const response = recordText(records[2] as DecodeRecord);
  assert.match(response, /^Response 200 \(OK\), 60 bytes$/m);
  assert.match(
    response,
    /^ {2}result {8}6 \(int\)\n {2}steps {9}max\(2, 3\) \+ 3\n {16}3 \+ 3\n {16}6$/m,
  );
  assert.match(
    recordText(records[4] as DecodeRecord),
    /error {9}ZeroDivisionError \(builtins\): division by zero/,
  );
  const anomalous = decodeHex(
    toHex(rawPacket({ flags: 0x4c00 | 200, cacheControl: 60 }, ONE.request.subarray(12))),
    "hex",
  );
  const text = recordText(anomalous.records[0] as DecodeRecord);
  assert.match(text, /^ {2}! reserved-bits: Reserved bits are set \(2\)$/m);
  assert.match(text, /^ {2}! status-on-request: A request carries status code 200$/m);
  assert.match(text, /^ {2}! cache-control-without-cache: /m);
});

Deno.test("recordJson() gives one object per record with the documented snake_case keys", async () => {
  const records = decodeCapture(conversationCapture(), "conv.pcapng").records;
  const response = recordJson(records[2] as DecodeRecord);
  assert.deepEqual(response, {
    source: "conv.pcapng",
    index: 3,
    kind: "response",
    stream: 0,
    src: "127.0.0.1:9999",
    dst: "127.0.0.1:50000",
    first_frame: 6,
    frame: 6,
    time: 1700000000.0025,
    time_utc: "2023-11-14 22:13:20.002500",
    length: 60,
    complete: true,
    note: null,
    header: {
      timestamp: PACKET_SECONDS,
      timestamp_utc: "2023-11-14 22:13:20",
      total_length: 60,
      flags: 0x18c8,
      reserved: 0,
      cache: true,
      steps: true,
      request: false,
      status: 200,
      status_text: "OK",
      max_age: 65535,
      padding: 0,
    },
    anomalies: [],
    payload: { kind: "result", type: "int", value: "6", steps: ["max(2, 3) + 3", "3 + 3", "6"] },
    request: { index: 2, frame: 5, delta: 0.0005 },
    response: null,
  });
  // Every key any record can have is in docs/DECODE.md.
  const doc = await Deno.readTextFile(new URL("../docs/DECODE.md", import.meta.url));
  const fragment = decodeHex(toHex(Uint8Array.of(1, 2, 3)), "hex").records;
  const incomplete = decodeHex(toHex(ONE.request.subarray(0, 40)), "hex").records;
  const error = recordJson(records[4] as DecodeRecord);
  const keys = new Set<string>();
  const collect = (value: unknown): void => {
    if (value === null || typeof value !== "object") return;
    for (const [key, inner] of Object.entries(value)) {
      if (!Array.isArray(value)) keys.add(key);
      collect(inner);
    }
  };
  for (const record of [...records, ...fragment, ...incomplete]) collect(recordJson(record));
  collect(error);
  for (const key of keys) {
    assert.match(doc, new RegExp(`\`${key}\``), `docs/DECODE.md lacks ${key}`);
  }
});

Deno.test("calcnet decode prints a capture file as text and as JSON Lines", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/conv.pcapng`;
    await Deno.writeFile(path, conversationCapture());
    const text = await runCli(["decode", path]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stderr, "");
    assert.match(text.stdout, /^ {2}expression {4}max\(2, 3\) \+ 3$/m);
    assert.match(text.stdout, /2 requests, 2 responses\n$/);
    const json = await runCli(["decode", "--json", path]);
    const lines = json.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(lines.map((line) => line.kind), [
      "comment",
      "request",
      "response",
      "request",
      "response",
    ]);
    assert.equal(lines[4].payload.class, "ZeroDivisionError");
  });
});

Deno.test("calcnet decode reads hex from standard input and from its arguments with --hex", async () => {
  const hex = toHex(concat([TWO.request, TWO.response]));
  const stdin = await runCli(["decode", "--json"], `${hex.slice(0, 40)}\n${hex.slice(40)}\n`);
  assert.equal(stdin.code, 0, stdin.stderr);
  assert.deepEqual(stdin.stdout.trimEnd().split("\n").map((line) => JSON.parse(line).source), [
    "-",
    "-",
  ]);
  const args = await runCli(["decode", "--hex", toHex(TWO.request), toHex(TWO.response)]);
  assert.equal(args.code, 0, args.stderr);
  assert.match(args.stdout, /hex: hex \(messages\): 1 request, 0 responses\n/);
  assert.match(args.stdout, /hex: hex \(messages\): 0 requests, 1 response\n/);
});

Deno.test("calcnet decode reports the review's step bomb as not decoded, in a few lines", async () => {
  // 64 KiB whose steps would read as 533 million characters (one str used again and again).
  const header = {
    timestamp: 1_767_225_600,
    cacheResult: true,
    showSteps: true,
    isRequest: false,
    statusCode: 200,
    cacheControl: 65535,
  };
  const hex = toHex(encodePacket(header, stepBombPickle()));
  const result = await runCli(["decode", "--hex", hex], undefined, { timeoutMs: 30_000 });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /data +not decoded: PickleError: pickle needs more than \d+ units of work \(16 per byte of its 65523\)\n/,
  );
  assert.ok(result.stdout.length < 2000, `${result.stdout.length} characters`);
});

Deno.test("calcnet decode explains bad input in one line, without a stack trace", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/notes.txt`, "hello, world\n");
    await Deno.writeFile(`${dir}/binary.bin`, Uint8Array.of(0xff, 0xfe, 0, 1));
    const cases: [string[], RegExp][] = [
      [["decode", `${dir}/missing.pcapng`], /^calcnet decode: .*missing\.pcapng: no such file\n$/],
      [
        ["decode", `${dir}/notes.txt`],
        /^calcnet decode: .*notes\.txt: not a pcap or pcapng file, nor hex text \(not hex: "h" at digit 1 \(expected 0-9, a-f\)\)\n$/,
      ],
      [
        ["decode", `${dir}/binary.bin`],
        /^calcnet decode: .*binary\.bin: not a pcap or pcapng file, nor hex text\n$/,
      ],
      [["decode", "--hex", "abc"], /^calcnet decode: hex: an odd number of hex digits \(3\)\n$/],
      [["decode", dir], /^calcnet decode: .*: cannot read it \(/],
      [["decode", "--jsn"], /unknown flag --jsn .*did you mean --json\?/],
    ];
    for (const [args, expected] of cases) {
      const result = await runCli(args);
      assert.equal(result.code, 2, args.join(" "));
      assert.match(result.stderr, expected);
      assert.equal(result.stderr.split("\n").length, 2, result.stderr);
    }
  });
});

Deno.test("calcnet decode warns about a truncated capture and still prints what it read", async () => {
  await withTempDir(async (dir) => {
    const file = conversationCapture();
    await Deno.writeFile(`${dir}/cut.pcapng`, file.subarray(0, file.length - 10));
    const result = await runCli(["decode", `${dir}/cut.pcapng`]);
    assert.equal(result.code, 0);
    assert.match(
      result.stderr,
      /^calcnet decode: .*cut\.pcapng: warning: the file ends in the middle of a block/,
    );
    assert.match(result.stdout, /2 requests, 2 responses\n$/);
  });
});

Deno.test("decodeCapture() warns about link types it cannot read and counts packets that are not TCP", () => {
  const [syn] = readCapture(recordToBytes((w) => w.open(CONN, T0))).packets;
  const udp = Uint8Array.of(
    0x45,
    0,
    0,
    28,
    0,
    0,
    0x40,
    0,
    64,
    17,
    0,
    0,
    127,
    0,
    0,
    1,
    127,
    0,
    0,
    1,
    0,
    53,
    0,
    53,
    0,
    8,
    0,
    0,
  );
  const file = concat([
    shb(true),
    idb(LinkType.Raw, true),
    idb(147, true),
    epb({ data: syn?.data as Uint8Array, timeNs: 0n }, 0n, true),
    epb({ data: udp, timeNs: 0n }, 0n, true),
    epb({ data: Uint8Array.of(1, 2, 3), timeNs: 0n }, 0n, true, 1),
  ]);
  const report = decodeCapture(file, "mixed.pcapng");
  assert.deepEqual(report.problems, [
    "packets of link type 147 were skipped: calcnet reads LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, " +
    "LINKTYPE_LOOP, LINKTYPE_LINUX_SLL, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL2",
  ]);
  assert.equal(
    summaryText(report),
    "mixed.pcapng: pcapng, 3 packets (2 not TCP), 1 TCP stream (0 of calculator traffic): 0 requests, 0 responses",
  );
});

Deno.test(`decodeCapture() and decodeHex() survive damaged input: 3,000 random mutations (seed ${FUZZ_SEED})`, () => {
  const random = mulberry32(FUZZ_SEED);
  const pick = (n: number): number => Math.floor(random() * n);
  const original = conversationCapture();
  for (let i = 0; i < 3000; i++) {
    const bytes = original.slice(0, original.length - pick(40));
    for (let flips = 1 + pick(8); flips > 0; flips--) bytes[pick(bytes.length)] = pick(256);
    try {
      const report = decodeCapture(bytes, "fuzz");
      for (const record of report.records) {
        recordText(record);
        JSON.stringify(recordJson(record));
      }
    } catch (error: unknown) {
      assert.ok(error instanceof CaptureFormatError, `mutation ${i}: ${error}`);
    }
    const payload = bytes.subarray(200 + pick(200), 400 + pick(600));
    for (const record of decodeHex(toHex(payload), "fuzz").records) recordText(record);
  }
});

Deno.test("calcnet decode stops quietly when its reader goes away (calcnet decode … | head)", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/many.pcapng`;
    await Deno.writeFile(
      path,
      recordToBytes((w) => {
        w.open(CONN, T0);
        for (let i = 0; i < 2000; i++) {
          w.data(CONN, "client", ONE.request, T0 + i);
          w.data(CONN, "server", ONE.response, T0 + i);
        }
      }),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname, "decode", path],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /^#1 {2}frame 1/);
    await reader.cancel();
    assert.equal((await child.status).code, 0);
    assert.equal(await stderr, "");
  });
});
