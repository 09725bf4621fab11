import assert from "node:assert/strict";
import { COURSE_EXAMPLES } from "../src/calc/course_examples.ts";
import { exprText } from "../src/calc/expr_text.ts";
import { parseExpression } from "../src/calc/parser.ts";
import { formatNumber } from "../src/calc/number_format.ts";
import type { PyException } from "../src/calc/py_exception.ts";
import { withRandomState } from "../src/calc/random_state.ts";
import type { Expr, PyNumber } from "../src/calc/expr.ts";
import {
  decodeExpr,
  encodeException,
  encodeExpr,
  encodeResult,
  NotAnExpressionError,
  pickleDumps,
  PickleError,
  pyGlobal,
  pyList,
  pyReduce,
  pyTuple,
} from "../src/pickle/mod.ts";
import { encodePacket, requestPacket, Status } from "../src/protocol/mod.ts";
import { answerRequest, DEFAULT_SERVER_POLICY } from "../src/server/handler.ts";
import {
  assertDecodedAsCalcnet,
  assertNothingUndecoded,
  expectedMessage,
  LINK_FIELDS,
  messagesOf,
  nodeCount,
  ownFields,
  wiresharkUtc,
} from "./helpers/dissector_expectation.ts";
import { DEFAULT_START_SECONDS, PcapWriter, type TcpConnection } from "./helpers/pcap_writer.ts";
import {
  COURSE_EXCEPTIONS,
  INT_EDGES,
  randomExpr,
  randomState,
  SeededRandom,
  treeJson,
} from "./helpers/pickle_fixture.ts";
import { runFixtureGroups } from "./helpers/python.ts";
import { concat, fromHex } from "./helpers/bytes.ts";
import { stepBombPickle } from "./helpers/hostile_pickles.ts";
import { dissect, type DissectedMessage, fieldFlags, runTshark } from "./helpers/tshark.ts";
import { DISSECTOR_LUA } from "../src/wireshark/mod.ts";

const CLIENT = { address: "127.0.0.1", port: 40000 };
const SERVER = { address: "127.0.0.1", port: 9999 };
const NOW_MS = DEFAULT_START_SECONDS * 1000;
const COURSE_FLAGS = { showSteps: true, cacheResult: true, cacheControl: 65535 };
/** The payload bytes of one TCP segment of a long message (an Ethernet MSS). */
const SEGMENT_BYTES = 1460;

/** A request packet for `expr`, time-stamped at the capture's start. */
function request(expr: Expr | string, flags = COURSE_FLAGS): Uint8Array {
  return requestPacket(
    encodeExpr(typeof expr === "string" ? parseExpression(expr) : expr),
    flags,
    NOW_MS,
  );
}

/** The calcnet server's answer to `packet`. */
function answer(packet: Uint8Array): Uint8Array {
  return answerRequest(packet, DEFAULT_SERVER_POLICY, DEFAULT_START_SECONDS).packet;
}

/** A response packet around `data` with the flags the course's server sets. */
function response(data: Uint8Array, status: number, cache = true, maxAge = 65535): Uint8Array {
  return encodePacket(
    {
      timestamp: DEFAULT_START_SECONDS,
      cacheResult: cache,
      showSteps: false,
      isRequest: false,
      statusCode: status,
      cacheControl: maxAge,
    },
    data,
  );
}

/** A request packet around raw `data` (any bytes). */
function rawRequest(data: Uint8Array): Uint8Array {
  return encodePacket(
    {
      timestamp: DEFAULT_START_SECONDS,
      cacheResult: true,
      showSteps: true,
      isRequest: true,
      statusCode: 0,
      cacheControl: 65535,
    },
    data,
  );
}

/** Sends each request and its answer on `connection`; returns the packets in order. */
function exchange(connection: TcpConnection, requests: readonly Uint8Array[]): Uint8Array[] {
  return requests.flatMap((packet) => {
    const reply = answer(packet);
    connection.send("client", packet).send("server", reply);
    return [packet, reply];
  });
}

Deno.test("dissector: the six course examples, with and without steps, show what calcnet decodes", async () => {
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  const requests = COURSE_EXAMPLES.flatMap(({ text }) => [
    request(text),
    request(text, { showSteps: false, cacheResult: true, cacheControl: 65535 }),
  ]);
  const packets = exchange(connection, requests);
  connection.close();
  const frames = await dissect(writer.bytes());
  assertDecodedAsCalcnet(frames, packets);
  assertNothingUndecoded(frames);
  const example2 = frames.filter((frame) => frame.messages.length > 0).slice(4, 6);
  assert.deepEqual(example2.map((frame) => frame.info), [
    "Request max(2, 3) + 3 [S C max-age 65535]",
    "Response 200: 6, 3 steps [S C max-age 65535]",
  ]);
  assert.deepEqual(example2.map((frame) => frame.protocol), ["CALCNET", "CALCNET"]);
  assert.equal(
    expectedMessage(packets[0] as Uint8Array).fields["calcnet.timestamp"]?.[0],
    wiresharkUtc(DEFAULT_START_SECONDS),
  );
});

Deno.test("dissector: each response links to its request, with the time between them", async () => {
  const writer = new PcapWriter(DEFAULT_START_SECONDS, 1000);
  const connection = writer.connect(CLIENT, SERVER);
  const first = request("1 + 2");
  const sentAt = writer.nowMicros;
  connection.send("client", first);
  writer.at(sentAt + 250_000);
  connection.send("server", answer(first));
  const second = request("3 * 4");
  connection.send("client", second).send("server", answer(second));
  connection.close();
  const frames = (await dissect(writer.bytes())).filter((frame) => frame.messages.length > 0);
  const links = frames.map((frame) =>
    Object.fromEntries(LINK_FIELDS.map((name) => [name, frame.messages[0]?.fields.get(name)?.[0]]))
  );
  const numbers = frames.map((frame) => String(frame.number));
  assert.deepEqual(links, [
    {
      "calcnet.request_in": undefined,
      "calcnet.response_in": numbers[1],
      "calcnet.time": undefined,
    },
    {
      "calcnet.request_in": numbers[0],
      "calcnet.response_in": undefined,
      "calcnet.time": "0.250000000",
    },
    {
      "calcnet.request_in": undefined,
      "calcnet.response_in": numbers[3],
      "calcnet.time": undefined,
    },
    {
      "calcnet.request_in": numbers[2],
      "calcnet.response_in": undefined,
      "calcnet.time": "0.001000000",
    },
  ]);
});

Deno.test("dissector: every error kind, from the server and the proxy, shows class and message", async () => {
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  const failing = ["1 / 0", "7 % 0", "sqrt(-1)", "2 ** 10000.5", "max()", "max(5)", "0 ** -1"].map((
    text,
  ) => request(text));
  const notAPickle = rawRequest(new TextEncoder().encode("not a pickle"));
  const notAnExpression = rawRequest(pickleDumps(42n));
  const packets = exchange(connection, [...failing, notAPickle, notAnExpression]);
  const proxyError = response(
    encodeException(COURSE_EXCEPTIONS[9] as PyException),
    Status.ServerError,
    false,
    0,
  );
  const others = COURSE_EXCEPTIONS.map((error) =>
    response(encodeException(error), Status.ClientError)
  );
  for (const packet of [proxyError, ...others]) connection.send("server", packet);
  connection.close();
  const frames = await dissect(writer.bytes());
  assertDecodedAsCalcnet(frames, [...packets, proxyError, ...others]);
  assertNothingUndecoded(frames);
  const types = messagesOf(frames).map((message) => message.fields.get("calcnet.error.type")?.[0]);
  for (
    const type of [
      "ZeroDivisionError",
      "ValueError",
      "OverflowError",
      "TypeError",
      "CalculatorServerError",
    ]
  ) {
    assert.ok(types.includes(type), type);
  }
  const proxyFrame = frames.find((frame) => frame.info.startsWith("Response 500"));
  assert.equal(
    proxyFrame?.info,
    "Response 500: CalculatorServerError: ('Internal proxy error', CalculatorServerError(" +
      "'Connection refused by server and the request was not in the cache/it was stale')) [max-age 0]",
  );
});

Deno.test("dissector: the server's 500 for a packet shorter than a header decodes", async () => {
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  const short = new Uint8Array([1, 2, 3, 4, 5]);
  const reply = answer(short);
  connection.send("client", short).send("server", reply);
  connection.close();
  const frames = await dissect(writer.bytes());
  assertDecodedAsCalcnet(frames, [reply]);
  assert.equal(
    messagesOf(frames)[0]?.fields.get("calcnet.error.type")?.[0],
    "CalculatorClientError",
  );
});

Deno.test("dissector: a rand request shows rand(a, b); the answer decodes", async () => {
  const rng = new SeededRandom(12);
  const expr = withRandomState(parseExpression("rand(1, 2) * 3 + rand(4.5, 5)"), randomState(rng));
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  const packets = exchange(connection, [request(expr)]);
  connection.close();
  const frames = await dissect(writer.bytes());
  assertDecodedAsCalcnet(frames, packets);
  assert.equal(
    messagesOf(frames)[0]?.fields.get("calcnet.expression")?.[0],
    "rand(1, 2) * 3 + rand(4.5, 5)",
  );
});

Deno.test("dissector: messages split over many segments and several in one segment", async () => {
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  const requests = ["max(2, 3) + 3", "6 / 2", "2 ** 100", "-(-((1 + (2 + 3)) ** -(4 + 5)))"].map((
    text,
  ) => request(text));
  const replies = requests.map(answer);
  // The first request byte by byte through its header, then in chunks.
  connection.sendSplit("client", requests[0] as Uint8Array, [
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    100,
    100,
  ]);
  connection.send("server", replies[0] as Uint8Array);
  // Three requests in one stream cut at points that fall mid-header and mid-pickle.
  const rest = concat(requests.slice(1));
  connection.sendSplit("client", rest, [5, 300, 7, 400]);
  // Three answers in one segment.
  connection.send("server", concat(replies.slice(1)));
  connection.close();
  const frames = await dissect(writer.bytes());
  const inOrder = [
    requests[0],
    replies[0],
    ...requests.slice(1),
    ...replies.slice(1),
  ] as Uint8Array[];
  assertDecodedAsCalcnet(frames, inOrder);
  assertNothingUndecoded(frames);
  const lastFrame = frames.filter((frame) => frame.messages.length > 0).at(-1);
  assert.equal(lastFrame?.messages.length, 3);
  assert.equal(
    lastFrame?.info,
    "Response 200: 3.0, 2 steps [S C max-age 65535]; Response 200: 1267650600228229401496703205376, " +
      "2 steps [S C max-age 65535]; Response 200: 9.92290301275212e-08, 8 steps [S C max-age 65535]",
  );
});

/** `packet` with the header bytes at `offset` replaced. */
function patched(packet: Uint8Array, offset: number, bytes: readonly number[]): Uint8Array {
  const copy = packet.slice();
  copy.set(bytes, offset);
  return copy;
}

Deno.test("dissector: every anomaly the reference's normalisation names is an expert info", async () => {
  const base = request("1 + 2");
  const reply = answer(base);
  const anomalies = [
    patched(base, 6, [0x04, 0x00, 0x00, 0x1e]), // C=0 with max-age 30
    patched(reply, 6, [0x10, 0xc8, 0x00, 0x00]), // a response with C=1 and max-age 0
    patched(base, 6, [0xfc, 0x00]), // reserved bits
    patched(base, 6, [0x1c, 0xc8]), // a status on a request
    patched(base, 10, [0xab, 0xcd]), // padding
    patched(reply, 6, [0x03, 0xe7]), // status 999 "unknown", C=0 with max-age
  ];
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  for (const packet of anomalies) connection.send("client", packet);
  const invalidLength = patched(base, 4, [0x00, 0x05]);
  connection.send("client", invalidLength);
  connection.close();
  const frames = await dissect(writer.bytes());
  const messages = messagesOf(frames);
  assertDecodedAsCalcnet(frames, [...anomalies, invalidLength]);
  assert.deepEqual(messages.map((message) => [...message.experts].sort()), [
    ["cache_control_without_cache"],
    ["response_cache_without_max_age"],
    ["reserved_bits"],
    ["status_on_request"],
    ["padding"],
    ["cache_control_without_cache"],
    ["length_mismatch"],
  ]);
  assert.match(messages.at(-1)?.expertMessages[0] ?? "", /Invalid total length: 5/);
});

Deno.test("dissector: a status the course does not use, and a complex result, are flagged", async () => {
  const odd = patched(answer(request("1 + 2")), 6, [0x10, 0x7b]); // status 123
  const complex = response(
    pickleDumps(
      pyTuple([pyReduce(pyGlobal("builtins", "complex"), pyTuple([1.5, -2])), pyList([])]),
    ),
    200,
  );
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  connection.send("server", odd).send("server", complex);
  connection.close();
  const frames = await dissect(writer.bytes());
  const [oddMessage, complexMessage] = messagesOf(frames);
  assert.deepEqual(oddMessage?.experts, ["unknown_status"]);
  assert.equal(oddMessage?.fields.get("calcnet.result")?.[0], "3");
  assert.deepEqual(complexMessage?.experts, expectedMessage(complex).experts);
  assert.deepEqual(complexMessage?.experts, ["complex_result"]);
  const complexFrame = frames.find((frame) =>
    frame.messages.includes(complexMessage as DissectedMessage)
  );
  assert.match(complexFrame?.info ?? "", /^Response 200: a complex result/);
});

Deno.test("dissector: a pickle calcnet refuses is an expert info, never a Lua error", async () => {
  const course = encodeExpr(parseExpression("1 + 2"));
  const hostile = [
    pickleDumps(pyReduce(pyGlobal("os", "system"), pyTuple(["echo hi"]))),
    pickleDumps(pyTuple([pyGlobal("calculator", "Constant")])),
    course.subarray(0, course.length - 5),
    new Uint8Array([0x80, 0x04, 0x42, 0x01, 0x00, 0x00, 0x00, 0x41, 0x2e]), // BINBYTES
    new Uint8Array([0x80, 0x04, 0x68, 0x07, 0x2e]), // memo reference to nothing
    new Uint8Array([0x80, 0x04, 0x8b, 0xff, 0xff, 0xff, 0x7f, 0x2e]), // LONG4 of 2 GiB
    new Uint8Array([0x80, 0x06, 0x4e, 0x2e]), // protocol 6
    new Uint8Array([...Array(3000).fill(0x5d), ...Array(2999).fill(0x61), 0x2e]), // lists nested 3000 deep
    pickleDumps(pyList([1n, 2n])),
    new Uint8Array(),
    patched(course, course.indexOf(0x2b), [0x2d]), // '+' with _operator.add
  ];
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  const packets = hostile.map(rawRequest);
  const badResponses = [pickleDumps(pyList([])), new Uint8Array([0x80, 0x04, 0x2e])].map((data) =>
    response(data, 200)
  );
  for (const packet of packets) connection.send("client", packet);
  for (const packet of badResponses) connection.send("server", packet);
  connection.close();
  const frames = await dissect(writer.bytes());
  assertDecodedAsCalcnet(frames, [...packets, ...badResponses]);
  for (const message of messagesOf(frames)) {
    assert.equal(message.experts.length, 1);
    assert.ok(["malformed_pickle", "not_expression"].includes(message.experts[0] as string));
  }
});

Deno.test("dissector: mutated course pickles get calcnet's verdict (a seeded fuzz)", async () => {
  const rng = new SeededRandom(2024);
  const seeds = COURSE_EXAMPLES.map(({ text }) => encodeExpr(parseExpression(text)));
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < 300; i++) {
    const data = rng.pick(seeds).slice();
    for (let k = rng.int(3) + 1; k > 0; k--) data[rng.int(data.length)] = rng.int(256);
    payloads.push(data);
  }
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  const packets = payloads.map(rawRequest);
  for (const packet of packets) connection.send("client", packet);
  connection.close();
  const frames = await dissect(writer.bytes());
  assertDecodedAsCalcnet(frames, packets);
  const verdicts = payloads.map((data) => {
    try {
      decodeExpr(data);
      return "ok";
    } catch (error: unknown) {
      if (error instanceof NotAnExpressionError) return "not an expression";
      if (error instanceof PickleError) return "refused";
      throw error;
    }
  });
  // The fuzz reaches all three verdicts.
  assert.deepEqual(new Set(verdicts), new Set(["ok", "not an expression", "refused"]));
});

Deno.test("dissector: CPython's pickles of protocols 2 to 5 decode as calcnet decodes them", async () => {
  const rng = new SeededRandom(77);
  const exprs = Array.from({ length: 12 }, () => randomExpr(rng, 5));
  const items = [2, 3, 4, 5].flatMap((protocol) =>
    exprs.map((expr, i) => ({
      ...treeJson(expr),
      module: i % 2 === 0 ? "calculator" : "api",
      protocol,
    }))
  );
  const [byValue] = await runFixtureGroups("encode-expr", [items]);
  const [byName] = await runFixtureGroups("encode-expr", [items.slice(0, 12)], "name");
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  const packets = [...byValue, ...byName].map((hex) => rawRequest(fromHex(hex)));
  for (const packet of packets) connection.send("client", packet);
  connection.close();
  const frames = await dissect(writer.bytes());
  assertDecodedAsCalcnet(frames, packets);
  for (const message of messagesOf(frames)) assert.deepEqual(message.experts, []);
});

Deno.test("dissector: results print as Python prints them (floats, ints of any size, bools)", async () => {
  const rng = new SeededRandom(5);
  const numbers: PyNumber[] = [
    ...INT_EDGES,
    2n ** 32000n - 1n,
    true,
    false,
    0.1 + 0.2,
    1e20,
    1e16,
    1e-5,
    1e-4,
    9007199254740992,
    5e-324,
    2 ** -1022,
    1e23,
    Number.MAX_VALUE,
    -0,
    NaN,
    Infinity,
    -Infinity,
    ...Array.from({ length: 400 }, () => rng.float()),
    // Powers of two: there a double's rounding interval is lopsided.
    ...Array.from({ length: 2098 }, (_, i) => 2 ** (i - 1074)),
    ...Array.from({ length: 100 }, () => (rng.uint32() - 2 ** 31) * 2 ** (rng.int(2100) - 1075)),
  ];
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  const packets = numbers.map((value) => response(encodeResult(value, []), 200));
  for (const packet of packets) connection.send("server", packet);
  connection.close();
  const frames = await dissect(writer.bytes());
  assertDecodedAsCalcnet(frames, packets);
  const shown = messagesOf(frames).map((message) => message.fields.get("calcnet.result")?.[0]);
  assert.deepEqual(shown, numbers.map((value) => formatNumber(value)));
});

Deno.test("dissector: huge and deep expressions stay bounded and match calcnet", async () => {
  let shared: Expr = parseExpression("1 + 2");
  for (let i = 0; i < 14; i++) {
    shared = { kind: "binary", operator: "*", left: shared, right: shared };
  }
  let deep: Expr = { kind: "constant", value: 1n };
  for (let i = 1; i < 1000; i++) deep = { kind: "unary", operator: "-", operand: deep };
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  const packets = [request(shared), request(deep)];
  for (const packet of packets) connection.send("client", packet);
  connection.close();
  const frames = await dissect(writer.bytes());
  assertDecodedAsCalcnet(frames, packets);
  const [cut, deepest] = messagesOf(frames);
  assert.deepEqual(cut?.experts, ["text_cut"]);
  assert.equal(cut?.fields.get("calcnet.expression.nodes")?.[0], String(nodeCount(shared)));
  assert.equal(deepest?.fields.get("calcnet.expression")?.[0], exprText(deep));
});

Deno.test("dissector: a truncated capture is flagged, never a Lua error", async () => {
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  const packet = request("max(2, 3) + 3");
  connection.send("client", packet, { capturedPayload: 100 });
  connection.send("server", answer(packet));
  const unfinished = request("1 + 2");
  connection.send("client", unfinished.subarray(0, 50)); // the capture ends mid-message
  const frames = await dissect(writer.bytes());
  const [cut, reply] = messagesOf(frames);
  assert.deepEqual(cut?.experts, ["length_mismatch"]);
  assert.match(cut?.expertMessages[0] ?? "", /total length is 376 bytes but only 100 are here/);
  assert.deepEqual(ownFields(reply as DissectedMessage), expectedMessage(answer(packet)).fields);
  assert.equal(frames.at(-1)?.messages.length, 0);
  assertNothingUndecoded(frames);
});

Deno.test("dissector: other ports are recognised by the header; other traffic is left alone", async () => {
  const writer = new PcapWriter();
  const calc = writer.connect({ address: "10.0.0.1", port: 40100 }, {
    address: "10.0.0.2",
    port: 5555,
  });
  const packet = request("max(2, 3) + 3");
  const reply = answer(packet);
  calc.sendSplit("client", packet, [20, 100]);
  calc.send("server", reply);
  calc.close();
  const other = writer.connect({ address: "10.0.0.1", port: 40200 }, {
    address: "10.0.0.2",
    port: 5556,
  });
  other.send("client", new Uint8Array(40).fill(0x11));
  other.close();
  const frames = await dissect(writer.bytes());
  assertDecodedAsCalcnet(frames, [packet, reply]);
  assert.ok(
    frames.some((frame) => frame.protocols.endsWith(":data")),
    "the other stream stays data",
  );
});

Deno.test("dissector: on another port, a first message sent in pieces shorter than a header is recognised (one pass)", async () => {
  const writer = new PcapWriter();
  const calc = writer.connect({ address: "10.0.0.1", port: 40300 }, {
    address: "10.0.0.2",
    port: 5557,
  });
  const packet = request("7 % -3");
  calc.sendSplit("client", packet, [5, 40]);
  calc.send("server", answer(packet));
  calc.close();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/split.pcap`, writer.bytes());
    await Deno.writeTextFile(`${dir}/calcnet.lua`, DISSECTOR_LUA);
    const fields = await runTshark([
      "-X",
      `lua_script:${dir}/calcnet.lua`,
      "-r",
      `${dir}/split.pcap`,
      ...fieldFlags("calcnet.expression", "calcnet.result"),
    ]);
    assert.deepEqual(fields.trim().split("\n").filter((line) => line.trim() !== ""), [
      "7 % -3\t",
      "\t-2",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dissector: without TCP reassembly a split message is flagged, as one recv() would see it", async () => {
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  connection.sendSplit("client", request("1 + 2"), [100]);
  connection.close();
  const frames = await dissect(writer.bytes(), {
    tsharkArgs: ["-o", "tcp.desegment_tcp_streams:FALSE"],
  });
  const [first] = messagesOf(frames);
  assert.deepEqual(first?.experts, ["length_mismatch"]);
});

Deno.test("dissector: the review's step bomb runs out of the work budget, quickly", async () => {
  // 64 KiB whose steps use one 30,000-character str 17,755 times: 533 million characters.
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  const header = {
    timestamp: DEFAULT_START_SECONDS,
    cacheResult: true,
    showSteps: true,
    isRequest: false,
    statusCode: Status.Ok,
    cacheControl: 65535,
  };
  const response = encodePacket(header, stepBombPickle());
  for (let at = 0; at < response.length; at += SEGMENT_BYTES) {
    connection.send("server", response.subarray(at, at + SEGMENT_BYTES));
  }
  connection.close();
  const started = performance.now();
  const [message] = messagesOf(await dissect(writer.bytes()));
  assert.ok(performance.now() - started < 20_000, "dissected within 20 s");
  assert.deepEqual(message?.experts, ["malformed_pickle"]);
  assert.match(message?.expertMessages[0] ?? "", /takes more work than the dissector allows/);
});

Deno.test("dissector: a pickle made to take long runs out of its work budget, quickly", async () => {
  // A dict of 2,000 attributes merged into one object 16,000 times (32M merges).
  const bytes: number[] = [0x80, 0x04, 0x7d, 0x94, 0x28];
  for (let i = 0; i < 2000; i++) {
    const name = new TextEncoder().encode(`a${i}`);
    bytes.push(0x8c, name.length, ...name, 0x4b, 1);
  }
  bytes.push(0x75, 0x8c, 10, ...new TextEncoder().encode("calculator"));
  bytes.push(0x8c, 8, ...new TextEncoder().encode("Constant"), 0x93, 0x29, 0x81);
  for (let i = 0; i < 16000; i++) bytes.push(0x68, 0, 0x62);
  bytes.push(0x2e);
  const writer = new PcapWriter();
  const connection = writer.connect(CLIENT, SERVER);
  connection.send("client", rawRequest(new Uint8Array(bytes)));
  connection.close();
  const started = performance.now();
  const [message] = messagesOf(await dissect(writer.bytes()));
  assert.ok(performance.now() - started < 20_000, "dissected within 20 s");
  assert.deepEqual(message?.experts, ["malformed_pickle"]);
  assert.match(message?.expertMessages[0] ?? "", /takes more work than the dissector allows/);
});
