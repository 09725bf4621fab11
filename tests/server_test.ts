import assert from "node:assert/strict";
import { decodeHeader, HEADER_SIZE } from "../src/protocol/header.ts";
import { decodeResponse, encodeExpr } from "../src/pickle/mod.ts";
import { parseExpression } from "../src/calc/parser.ts";
import { formatNumber } from "../src/calc/number_format.ts";
import {
  delay,
  RawClient,
  requestPacket,
  settlesWithin,
  type TestServerOptions,
  withServer,
} from "./helpers/net.ts";
import { startServer } from "../src/server/server.ts";
import { latin1, toHex } from "./helpers/bytes.ts";
import { COURSE_EXAMPLES } from "../src/calc/course_examples.ts";
import { EXAMPLE_ANSWERS, SEMANTICS_TABLE } from "../src/check/course_answers.ts";

/** The server of these tests: a short frame timeout, its log lines kept in `lines`. */
function serverOptions(lines: string[] = []): TestServerOptions {
  return { limits: { frameTimeoutMs: 200 }, log: (line) => lines.push(line) };
}

/**
 * A protocol-2 pickle of `-(-(...-(1)))`, `depth` deep, written by hand with
 * memo references (CPython's pickler itself stops near 1000 levels).
 */
function nestedNegations(depth: number): Uint8Array {
  const text = (value: string): string => `X${String.fromCharCode(value.length)}\0\0\0${value}`;
  const negation =
    `ccalculator\nUnaryOperator\n)\x81}(${text("symbol")}${text("-")}${text("function")}` +
    "c_operator\nneg\nub";
  const first = `ccalculator\nUnaryExpr\nq\x01)\x81}(${text("operator")}q\x02${negation}q\x00` +
    `${text("operand")}q\x03`;
  const next = "h\x01)\x81}(h\x02h\x00h\x03";
  const one = `ccalculator\nConstant\n)\x81}${text("value")}K\x01sb`;
  const body = `\x80\x02${first}${next.repeat(depth - 1)}${one}${"ub".repeat(depth)}.`;
  return latin1(body);
}

function expression(text: string): Uint8Array {
  return encodeExpr(parseExpression(text));
}

type Decoded =
  | { status: number; result: string; steps: string[]; flags: string }
  | { status: number; error: string; type: string; flags: string };

function decode(packet: Uint8Array | null): Decoded {
  assert.ok(packet, "no answer");
  const { header } = decodeHeader(packet);
  const flags = toHex(packet.subarray(6, 8));
  const body = decodeResponse(packet.subarray(HEADER_SIZE));
  if (body.kind === "result") {
    return {
      status: header.statusCode,
      result: formatNumber(body.result),
      steps: body.steps,
      flags,
    };
  }
  return { status: header.statusCode, error: body.error.str(), type: body.error.type, flags };
}

async function ask(port: number, packet: Uint8Array): Promise<Decoded> {
  using client = await RawClient.connect(port);
  await client.send(packet);
  return decode(await client.readPacket());
}

/** The six course examples with the course server's answers (text, result, steps). */
const EXAMPLES: ReadonlyArray<readonly [string, string, readonly string[]]> = COURSE_EXAMPLES.map((
  example,
  i,
) => [example.text, EXAMPLE_ANSWERS[i]?.repr ?? "", EXAMPLE_ANSWERS[i]?.steps ?? []]);

Deno.test("server answers the six course examples with and without steps", async (t) => {
  await withServer(async (port) => {
    using client = await RawClient.connect(port);
    for (const [text, result, steps] of EXAMPLES) {
      await t.step(text, async () => {
        await client.send(requestPacket(expression(text), { showSteps: true }));
        assert.deepEqual(decode(await client.readPacket()), {
          status: 200,
          result,
          steps,
          flags: "18c8",
        });
        await client.send(requestPacket(expression(text), { showSteps: false }));
        assert.deepEqual(decode(await client.readPacket()), {
          status: 200,
          result,
          steps: [],
          flags: "10c8",
        });
      });
    }
  }, serverOptions());
});

Deno.test("server records named constants' steps as the course server and answers a bare one with S=0", async (t) => {
  const rows = SEMANTICS_TABLE.filter((row) =>
    row.answer.kind === "result" && /\b(pi|tau|e|PI)\b/.test(row.text)
  );
  assert.ok(rows.length >= 10, `${rows.length} rows`);
  await withServer(async (port) => {
    using client = await RawClient.connect(port);
    for (const row of rows) {
      if (row.answer.kind !== "result") continue;
      const { repr, steps } = row.answer;
      await t.step(row.text, async () => {
        await client.send(requestPacket(encodeExpr(row.expr), { showSteps: true }));
        assert.deepEqual(decode(await client.readPacket()), {
          status: 200,
          result: repr,
          steps,
          // S is set only when there are steps: a bare constant has none.
          flags: steps.length > 0 ? "18c8" : "10c8",
        });
      });
    }
  }, serverOptions());
});

Deno.test("server answers the course's response sizes for the examples", async () => {
  const sizes = [[687, 564], [376, 60], [548, 222], [487, 164], [506, 236], [595, 232]];
  await withServer(async (port) => {
    using client = await RawClient.connect(port);
    for (const [i, [text]] of EXAMPLES.entries()) {
      const packet = requestPacket(expression(text), { showSteps: true });
      await client.send(packet);
      const reply = await client.readPacket();
      assert.deepEqual([packet.length, reply?.length], sizes[i]);
    }
  }, serverOptions());
});

Deno.test("server answers errors with the course's exceptions and texts", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["1 / 0", "ZeroDivisionError", "division by zero"],
    ["7 % 0", "ZeroDivisionError", "integer modulo by zero"],
    ["sqrt(-1)", "ValueError", "math domain error"],
    ["log(0)", "ValueError", "math domain error"],
    ["max()", "TypeError", "max expected at least 1 argument, got 0"],
    ["max(5)", "TypeError", "'int' object is not iterable"],
    ["2 ** 10000.5", "OverflowError", "(34, 'Numerical result out of range')"],
    ["0 ** -1", "ZeroDivisionError", "0.0 cannot be raised to a negative power"],
    ["sin(2 ** 1024)", "OverflowError", "int too large to convert to float"],
  ];
  await withServer(async (port) => {
    for (const [text, type, error] of cases) {
      await t.step(text, async () => {
        assert.deepEqual(await ask(port, requestPacket(expression(text))), {
          status: 400,
          type,
          error,
          flags: "1190",
        });
      });
    }
  }, serverOptions());
});

Deno.test("server answers bad packets as §6 says", async (t) => {
  await withServer(async (port) => {
    await t.step("a response instead of a request", async () => {
      const packet = requestPacket(expression("1 + 2"));
      packet[6] = 0x18;
      const answer = await ask(port, packet);
      assert.deepEqual(answer, {
        status: 400,
        type: "TypeError",
        error: "Received a response instead of a request",
        flags: "1190",
      });
    });
    await t.step("data that is not a pickle", async () => {
      const answer = await ask(port, requestPacket(new TextEncoder().encode("garbage!")));
      assert.equal("error" in answer && answer.error, "Received data could not be deserialized");
    });
    await t.step("no data", async () => {
      const answer = await ask(port, requestPacket(new Uint8Array(0)));
      assert.equal("error" in answer && answer.error, "Received data is not an Expression2");
    });
    await t.step("a pickle of 42", async () => {
      const answer = await ask(port, requestPacket(Uint8Array.from([0x80, 4, 0x4b, 42, 0x2e])));
      assert.equal("error" in answer && answer.error, "Received data is not an Expression2");
    });
    await t.step("a pickle naming os.system is refused, not run", async () => {
      const hostile = new TextEncoder().encode("cos\nsystem\n(S'touch /tmp/calcnet-pwned'\ntR.");
      const answer = await ask(port, requestPacket(hostile));
      assert.equal("error" in answer && answer.error, "Received data could not be deserialized");
    });
    await t.step("a 5-byte packet", async () => {
      using client = await RawClient.connect(port);
      await client.send(new Uint8Array(5));
      assert.deepEqual(decode(await client.readPacket()), {
        status: 500,
        type: "CalculatorClientError",
        error:
          "Error while unpacking request: The data is too short (5 bytes) to be a valid header",
        // Answered at the frame deadline: an answer caused by time is never cacheable.
        flags: "01f4",
      });
      assert.ok(await client.closedByPeer());
    });
    await t.step("a length that claims more than was sent", async () => {
      using client = await RawClient.connect(port);
      const packet = requestPacket(expression("1 + 2"));
      packet[4] = 0xff;
      await client.send(packet);
      const answer = decode(await client.readPacket());
      assert.equal(answer.status, 200);
      assert.ok(await client.closedByPeer());
    });
    await t.step("reserved bits only warn", async () => {
      const packet = requestPacket(expression("1 + 2"));
      packet[6] = (packet[6] as number) | 0xe0;
      assert.equal((await ask(port, packet)).status, 200);
    });
  }, serverOptions());
});

Deno.test("server refuses work beyond its limits at once", async (t) => {
  await withServer(async (port) => {
    await t.step("9 ** 9 ** 9", async () => {
      const started = performance.now();
      const answer = await ask(port, requestPacket(expression("9 ** 9 ** 9")));
      assert.equal(answer.status, 400);
      assert.ok(performance.now() - started < 500);
    });
    await t.step("thousands of nested operators", async () => {
      const answer = await ask(port, requestPacket(nestedNegations(3000)));
      assert.deepEqual(answer, {
        status: 400,
        type: "ValueError",
        error: "Received data could not be deserialized",
        flags: "1190",
      });
    });
  }, serverOptions());
});

Deno.test("server handles a byte at a time, two frames in one write, and stalled peers", async () => {
  await withServer(async (port) => {
    const stalled = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(port)));
    try {
      await Promise.all(stalled.map((peer) => peer.send(new Uint8Array([0, 0]))));
      using client = await RawClient.connect(port);
      const packet = requestPacket(expression("max(2, 3) + 3"));
      for (const byte of packet.subarray(0, 40)) {
        await client.send(new Uint8Array([byte]));
      }
      await client.send(packet.subarray(40));
      assert.equal((decode(await client.readPacket()) as { result: string }).result, "6");
      await client.send(
        new Uint8Array([
          ...requestPacket(expression("1 + 1")),
          ...requestPacket(expression("2 + 2")),
        ]),
      );
      assert.equal((decode(await client.readPacket()) as { result: string }).result, "2");
      assert.equal((decode(await client.readPacket()) as { result: string }).result, "4");
    } finally {
      for (const peer of stalled) peer[Symbol.dispose]();
    }
    await delay(10);
  }, serverOptions());
});

Deno.test("server logs one line per request with peer, sizes, status and time", async () => {
  const lines: string[] = [];
  await withServer(async (port) => {
    await ask(port, requestPacket(expression("1 / 0")));
    const line = lines.find((l) => l.includes("request"));
    assert.match(
      line ?? "",
      /^127\.0\.0\.1:\d+ request \d+ B -> 400, response 80 B, [\d.]+ ms: division by zero$/,
    );
  }, serverOptions(lines));
});

Deno.test("startServer() shuts down when options.signal aborts", async () => {
  const stop = new AbortController();
  await using server = startServer({ hostname: "127.0.0.1", port: 0, signal: stop.signal });
  const answer = await ask(server.addr.port, requestPacket(expression("1 + 2")));
  assert.equal((answer as { result: string }).result, "3");
  stop.abort();
  assert.ok(await settlesWithin(server.finished, 2000), "still running after the abort");
  await assert.rejects(() => Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
});
