import assert from "node:assert/strict";
import { Histogram } from "../src/bench/histogram.ts";
import { type LoadResult, runLoad } from "../src/bench/load_generator.ts";
import { startEchoServer } from "../src/bench/echo_server.ts";
import { formatBytes, formatReport } from "../src/bench/report.ts";
import { progressLine } from "../src/bench/progress_line.ts";
import { benchRequest, courseExample } from "../src/bench/request_packet.ts";
import { exampleOneVariants } from "../src/bench/memory_scenario.ts";
import { checkBudget } from "../src/bench/budget.ts";
import type { SuiteResult } from "../src/bench/suite.ts";
import {
  median,
  SUITE_MODES,
  type SuiteMode,
  type SuiteRow,
  suiteRow,
  type SuiteTarget,
} from "../src/bench/suite_row.ts";
import { suiteTables } from "../src/bench/benchmarks_doc.ts";
import type { PacketHandler } from "../src/net/mod.ts";
import { startServer } from "../src/server/server.ts";
import { encodePacket } from "../src/protocol/header.ts";
import { encodeExpr } from "../src/pickle/mod.ts";
import { parseExpression } from "../src/calc/parser.ts";
import { delay, withService } from "./helpers/net.ts";
import { runCli } from "./helpers/cli.ts";

/** The limits of the services these tests load: a short grace at shutdown. */
const QUICK_STOP = { shutdownGraceMs: 200 };

/** A response packet with `status` and `data`. */
function response(status: number, data = new Uint8Array(4)): Uint8Array {
  return encodePacket(
    {
      timestamp: 0,
      cacheResult: true,
      showSteps: false,
      isRequest: false,
      statusCode: status,
      cacheControl: 65535,
    },
    data,
  );
}

const REQUEST = benchRequest("max(2, 3) + 3", { steps: true });

Deno.test("Histogram: percentiles within 1/64 of the true value, exact max and mean", () => {
  const histogram = new Histogram();
  for (let i = 1; i <= 10_000; i++) histogram.record(i / 100);
  assert.equal(histogram.count, 10_000);
  for (const [fraction, truth] of [[0.5, 50], [0.9, 90], [0.99, 99]] as const) {
    const value = histogram.percentile(fraction);
    assert.ok(Math.abs(value - truth) / truth <= 1 / 64, `p${fraction * 100} = ${value}`);
  }
  assert.equal(histogram.max, 100);
  assert.ok(Math.abs(histogram.mean - 50.005) < 1e-9);
  histogram.record(0.0004);
  histogram.record(-1);
  assert.equal(histogram.percentile(0), 0);
  histogram.reset();
  assert.equal(histogram.count, 0);
  assert.equal(histogram.percentile(0.5), 0);
});

Deno.test("Histogram: small values are exact to the microsecond, huge ones are clamped", () => {
  const histogram = new Histogram();
  histogram.record(0.042);
  assert.equal(histogram.percentile(1), 0.042);
  histogram.record(1e12);
  assert.equal(histogram.max, 1e12);
  assert.ok(histogram.percentile(1) > 4e6);
});

Deno.test("runLoad: a fixed number of requests against the echo server", async () => {
  const controller = new AbortController();
  const echo = startEchoServer({ hostname: "127.0.0.1", port: 0, signal: controller.signal });
  try {
    const result = await runLoad({
      hostname: "127.0.0.1",
      port: echo.addr.port,
      connections: 4,
      requests: 1000,
      packets: [REQUEST],
      echo: true,
    });
    assert.equal(result.ok, 1000);
    assert.equal(result.errorCount, 0);
    assert.equal(result.bytesSent, 1000 * REQUEST.length);
    assert.equal(result.bytesReceived, 1000 * REQUEST.length);
    assert.ok(result.requestsPerSecond > 0);
    assert.ok(result.latencyMs.p50 <= result.latencyMs.p99);
    assert.ok(result.latencyMs.p99 <= result.latencyMs.max);
  } finally {
    controller.abort();
    await echo.finished;
  }
});

Deno.test("runLoad: a new connection per request, a duration and a warm-up", async () => {
  await withService(
    {
      handle: () => ({ packet: response(200) }),
      unframeable: () => null,
      internalError: () => null,
    },
    async (port) => {
      const progress: string[] = [];
      const result = await runLoad({
        hostname: "127.0.0.1",
        port,
        connections: 2,
        durationMs: 300,
        warmupMs: 100,
        newConnection: true,
        packets: [REQUEST],
        onProgress: (p) => progress.push(p.phase),
        progressIntervalMs: 50,
      });
      assert.ok(result.newConnection);
      assert.ok(result.ok > 10, `only ${result.ok} answered`);
      assert.equal(result.errorCount, 0);
      assert.ok(result.elapsedMs >= 300 && result.elapsedMs < 1000, `${result.elapsedMs} ms`);
      assert.ok(progress.includes("warmup") && progress.includes("measuring"));
    },
    QUICK_STOP,
  );
});

Deno.test("runLoad: answers other than 200 count by status and keep the connection", async () => {
  let count = 0;
  const handler: PacketHandler = {
    handle: () => ({ packet: response(++count % 2 === 0 ? 400 : 200) }),
    unframeable: () => null,
    internalError: () => null,
  };
  await withService(handler, async (port) => {
    const result = await runLoad({
      hostname: "127.0.0.1",
      port,
      connections: 1,
      requests: 10,
      packets: [REQUEST],
    });
    assert.equal(result.ok, 5);
    assert.deepEqual(result.errors, { "status 400": 5 });
  }, QUICK_STOP);
});

Deno.test("runLoad: refused, closed, timeout and bad-frame are counted by kind", async (t) => {
  await t.step("refused", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const result = await runLoad({
      hostname: "127.0.0.1",
      port,
      connections: 2,
      requests: 4,
      packets: [REQUEST],
    });
    assert.deepEqual(result.errors, { refused: 4 });
    assert.equal(result.ok, 0);
  });
  await t.step("closed before answering", async () => {
    await withService({
      handle: () => ({ packet: new Uint8Array(0), close: true }),
      unframeable: () => null,
      internalError: () => null,
    }, async (port) => {
      const result = await runLoad({
        hostname: "127.0.0.1",
        port,
        connections: 1,
        requests: 3,
        packets: [REQUEST],
      });
      assert.deepEqual(result.errors, { closed: 3 });
    }, QUICK_STOP);
  });
  await t.step("no answer in time", async () => {
    await withService({
      handle: async () => {
        await delay(400);
        return { packet: response(200) };
      },
      unframeable: () => null,
      internalError: () => null,
    }, async (port) => {
      const started = performance.now();
      const result = await runLoad({
        hostname: "127.0.0.1",
        port,
        connections: 1,
        requests: 1,
        timeoutMs: 100,
        packets: [REQUEST],
      });
      assert.deepEqual(result.errors, { timeout: 1 });
      assert.ok(performance.now() - started < 400);
    }, QUICK_STOP);
  });
  await t.step("a total length below 12, a request for an answer, and unasked bytes", async () => {
    const answers = [
      new Uint8Array([0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0]),
      REQUEST,
      new Uint8Array([...response(200), ...response(200)]),
    ];
    let next = 0;
    await withService({
      handle: () => ({ packet: answers[next++ % answers.length] ?? REQUEST }),
      unframeable: () => null,
      internalError: () => null,
    }, async (port) => {
      const result = await runLoad({
        hostname: "127.0.0.1",
        port,
        connections: 1,
        requests: 3,
        packets: [REQUEST],
      });
      assert.deepEqual(result.errors, { "bad-frame": 3 });
    }, QUICK_STOP);
  });
});

Deno.test("runLoad: checks its options", () => {
  const base = { hostname: "127.0.0.1", port: 1, connections: 1, packets: [REQUEST] };
  assert.throws(() => runLoad(base), RangeError);
  assert.throws(() => runLoad({ ...base, requests: 1, durationMs: 1 }), RangeError);
  assert.throws(() => runLoad({ ...base, requests: 1, packets: [] }), RangeError);
  assert.throws(() => runLoad({ ...base, requests: 1, connections: 0 }), RangeError);
});

Deno.test("runLoad: aborting stops the load early", async () => {
  const controller = new AbortController();
  const echo = startEchoServer({ hostname: "127.0.0.1", port: 0, signal: controller.signal });
  try {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    const result = await runLoad({
      hostname: "127.0.0.1",
      port: echo.addr.port,
      connections: 2,
      durationMs: 60_000,
      packets: [REQUEST],
      echo: true,
      signal: stop.signal,
    });
    assert.ok(result.elapsedMs < 2000);
    assert.ok(result.ok > 0);
  } finally {
    controller.abort();
    await echo.finished;
  }
});

Deno.test("echo server: echoes split and joined packets, closes on a bad length", async () => {
  const controller = new AbortController();
  const echo = startEchoServer({ hostname: "127.0.0.1", port: 0, signal: controller.signal });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: echo.addr.port });
    const two = new Uint8Array([...REQUEST, ...REQUEST]);
    await conn.write(two.subarray(0, 5));
    await delay(20);
    await conn.write(two.subarray(5));
    const received = new Uint8Array(two.length);
    let got = 0;
    while (got < two.length) got += await conn.read(received.subarray(got)) ?? 0;
    assert.deepEqual(received, two);
    await conn.write(new Uint8Array([0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0]));
    assert.equal(await conn.read(new Uint8Array(16)), null);
    conn.close();
  } finally {
    controller.abort();
    await echo.finished;
  }
});

Deno.test("formatReport: throughput, percentiles, errors by kind and bytes", () => {
  const result: LoadResult = {
    target: "127.0.0.1:9998",
    connections: 32,
    window: 1,
    newConnection: false,
    elapsedMs: 2000,
    ok: 200_000,
    okByPacket: [200_000],
    requestsPerSecond: 100_000,
    latencyMs: { p50: 0.25, p90: 0.4, p99: 1.5, max: 12.25, mean: 0.3 },
    errors: { refused: 2, "status 400": 3 },
    errorCount: 5,
    bytesSent: 75_201_880,
    bytesReceived: 12_000_300,
  };
  const text = formatReport(result, "max(2, 3) + 3 with steps (376 B)");
  assert.match(text, /100,000 requests\/s \(200,000 answered in 2\.00 s\)/);
  assert.match(text, /p50 0\.250 ms, p90 0\.400 ms, p99 1\.50 ms, max 12\.3 ms/);
  assert.match(text, /errors +refused 2, status 400 3/);
  assert.match(text, /sent +75\.2 MB \(376 B per request\)/);
  assert.equal(formatBytes(999), "999 B");
});

Deno.test("progressLine: silent off a terminal, rewrites one line on a terminal", () => {
  const written: string[] = [];
  const sink = (terminal: boolean) => ({
    isTerminal: () => terminal,
    writeSync: (bytes: Uint8Array) => {
      written.push(new TextDecoder().decode(bytes));
      return bytes.length;
    },
  });
  const off = progressLine(sink(false), "of 10 s");
  off.update({ phase: "measuring", elapsedMs: 500, ok: 100, errors: 0 });
  off.clear();
  assert.deepEqual(written, []);
  const on = progressLine(sink(true), "of 10 s");
  on.update({ phase: "warmup", elapsedMs: 0, ok: 0, errors: 0 });
  on.update({ phase: "measuring", elapsedMs: 500, ok: 1000, errors: 2 });
  on.clear();
  assert.equal(
    written[1],
    "\r\x1b[K0.5 s of 10 s: 2,000 requests/s, 1,000 answered, 2 errors",
  );
  assert.equal(written[2], "\r\x1b[K");
});

Deno.test("memory scenario: the variants have example 1's exact size and are distinct", () => {
  const example = encodeExpr(parseExpression(courseExample(1)));
  const variants = exampleOneVariants(0, 1000);
  assert.ok(variants.every((data) => data.length === example.length));
  assert.equal(new Set(variants.map((data) => data.join(","))).size, 1000);
  const [own] = exampleOneVariants(2 | 5 << 8 | 13 << 16, 1);
  assert.deepEqual(own, example);
});

Deno.test("budget and tables: median rates and ratios to the echo server in the same column", () => {
  const row = (
    target: SuiteTarget,
    column: number,
    rate: number,
    p99: number,
    ratio: number,
  ): SuiteRow => ({
    target,
    mode: SUITE_MODES[column] ?? SUITE_MODES[0] as SuiteMode,
    result: {
      target: "",
      connections: 1,
      window: 1,
      newConnection: false,
      elapsedMs: 1000,
      ok: rate,
      okByPacket: [rate],
      requestsPerSecond: rate,
      latencyMs: { p50: p99 / 2, p90: p99, p99, max: p99, mean: p99 / 2 },
      errors: {},
      errorCount: 0,
      bytesSent: 0,
      bytesReceived: 0,
    },
    latencyMs: { p50: p99 / 2, p99 },
    rates: [rate, rate, rate],
    errors: target === "server" ? { "status 400": 2 } : {},
    ratio,
  });
  const suite: SuiteResult = {
    request: "max(2, 3) + 3 with steps",
    rows: [
      row("echo", 0, 20_000, 0.1, 1),
      row("echo", 1, 100_000, 1, 1),
      row("echo", 2, 10_000, 5, 1),
      row("proxy-hit", 1, 80_000, 1.5, 0.8),
      row("proxy-hit", 2, 6_000, 6, 0.6),
      row("server", 1, 45_000, 2, 0.45),
    ],
  };
  const checks = checkBudget(suite, undefined);
  assert.deepEqual(checks.map((check) => check.met), [true, false, true, true]);
  assert.equal(checks[1]?.measured, "0.60");
  const tables = suiteTables(suite);
  assert.match(tables, /the median of 3 runs/);
  assert.match(
    tables,
    /\| calcnet proxy, cache hits \| – \| 80,000\/s \(0\.80\) \| 6,000\/s \(0\.60\) \|/,
  );
  assert.match(tables, /- calcnet server, 32 connections: status 400 2/);
});

Deno.test("suiteRow: median rate, median of the per-round ratios, median latencies, all errors", () => {
  const run = (rate: number, p99: number, errors: LoadResult["errors"] = {}): LoadResult => ({
    target: "",
    connections: 32,
    window: 1,
    newConnection: false,
    elapsedMs: 1000,
    ok: rate,
    okByPacket: [rate],
    requestsPerSecond: rate,
    latencyMs: { p50: p99 / 4, p90: p99 / 2, p99, max: p99 * 2, mean: p99 / 4 },
    errors,
    errorCount: 0,
    bytesSent: 0,
    bytesReceived: 0,
  });
  const mode = SUITE_MODES[1] as SuiteMode;
  const echo = [run(100, 1), run(50, 2), run(100, 1)];
  const row = suiteRow("server", mode, [run(40, 3), run(30, 9, { refused: 1 }), run(45, 2)], echo);
  assert.equal(row.result.requestsPerSecond, 40);
  assert.deepEqual(row.rates, [40, 30, 45]);
  // Round ratios 0.40, 0.60, 0.45: the slow second round of both cancels out.
  assert.equal(row.ratio, 0.45);
  assert.deepEqual(row.latencyMs, { p50: 0.75, p99: 3 });
  assert.deepEqual(row.errors, { refused: 1 });
  assert.equal(median([]), 0);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => suiteRow("echo", mode, [], []), RangeError);
});

Deno.test("calcnet bench: a report and JSON against a live server; usage errors", async () => {
  const controller = new AbortController();
  const server = startServer({ hostname: "127.0.0.1", port: 0, signal: controller.signal });
  try {
    const target = `127.0.0.1:${server.addr.port}`;
    const text = await runCli([
      "bench",
      "--target",
      target,
      "--conns",
      "2",
      "--requests",
      "200",
      "--steps",
    ]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /max\(2, 3\) \+ 3 with steps \(376 B\)/);
    assert.match(text.stdout, /errors +none/);
    const json = await runCli([
      "bench",
      "--target",
      target,
      "--duration",
      "0.3",
      "--new-connection",
      "--json",
    ]);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.new_connection, true);
    assert.equal(parsed.error_count, 0);
    assert.ok(parsed.ok > 0);
    assert.equal(parsed.bytes_sent, parsed.ok * parsed.request.bytes);
    assert.ok(parsed.requests_per_second > 0);
    assert.ok(parsed.latency_ms.p50 > 0);
    // snake_case keys everywhere, as every calcnet JSON has them.
    const keys = (value: unknown): string[] =>
      typeof value === "object" && value !== null
        ? Object.entries(value).flatMap(([key, inner]) => [key, ...keys(inner)])
        : [];
    assert.deepEqual(keys(parsed).filter((key) => /[A-Z]/.test(key)), []);
    const both = await runCli(["bench", "--target", target, "--duration", "1", "--requests", "5"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--duration or --requests, not both/);
    const bad = await runCli(["bench", "--target", target, "--requests", "5", "--expr", "2 +"]);
    assert.equal(bad.code, 2);
  } finally {
    controller.abort();
    await server.finished;
  }
  const refused = await runCli(["bench", "--target", "127.0.0.1:1", "--requests", "1"]);
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /cannot connect to 127\.0\.0\.1:1/);
});
