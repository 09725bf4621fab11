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
import { processCpuMs, projectFile } from "../src/bench/service_process.ts";
import { startProxy } from "../src/proxy/proxy.ts";
import { ResponseCache } from "../src/proxy/cache.ts";
import { median, type SuiteRow, suiteRow } from "../src/bench/suite_row.ts";
import {
  scenarioKey,
  SUITE_SETTINGS,
  type SuiteModeName,
  suiteScenarios,
  type SuiteSetting,
  type SuiteTarget,
} from "../src/bench/suite_plan.ts";
import { BY_HAND_SECTIONS, suiteTables } from "../src/bench/benchmarks_doc.ts";
import { ECHO_SPEC } from "../src/bench/echo_main.ts";
import { BENCH_SPEC } from "../src/cli/bench_command.ts";
import { PROXY_SPEC } from "../src/cli/proxy_command.ts";
import { SERVER_SPEC } from "../src/cli/server_command.ts";
import { type CommandSpec, parseFlags } from "../src/term/flags.ts";
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

const REQUEST = benchRequest("max(2, 3) + 3", { showSteps: true });

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
  await using echo = startEchoServer({ hostname: "127.0.0.1", port: 0 });
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
  await using echo = startEchoServer({ hostname: "127.0.0.1", port: 0 });
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
});

Deno.test("echo server: shutdown() closes its listener and connections, then finishes", async () => {
  const echo = startEchoServer({ hostname: "127.0.0.1", port: 0 });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: echo.addr.port });
  await conn.write(REQUEST);
  const back = new Uint8Array(REQUEST.length);
  let got = 0;
  while (got < back.length) got += await conn.read(back.subarray(got)) ?? 0;
  await echo.shutdown();
  assert.equal(await conn.read(new Uint8Array(16)), null);
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: echo.addr.port }));
  // Disposing of a stopped server changes nothing.
  await echo[Symbol.asyncDispose]();
});

Deno.test("echo server: echoes split and joined packets, closes on a bad length", async () => {
  await using echo = startEchoServer({ hostname: "127.0.0.1", port: 0 });
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
});

Deno.test("formatReport: throughput, percentiles, errors by kind and bytes", () => {
  const result: LoadResult = {
    target: "127.0.0.1:9998",
    byTarget: [{ target: "127.0.0.1:9998", ok: 200_000, errorCount: 5 }],
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
  // One target: no line by target.
  assert.doesNotMatch(text, /by target/);
  assert.match(text, /^target +127\.0\.0\.1:9998, 32 connections \(persistent\)$/m);
});

Deno.test("formatReport: with several targets, each one's answered requests beside the totals", () => {
  const result: LoadResult = {
    target: "127.0.0.1:9998, 127.0.0.1:9997",
    byTarget: [
      { target: "127.0.0.1:9998", ok: 1000, errorCount: 0 },
      { target: "127.0.0.1:9997", ok: 998, errorCount: 2 },
    ],
    connections: 4,
    window: 1,
    newConnection: false,
    elapsedMs: 1000,
    ok: 1998,
    okByPacket: [1998],
    requestsPerSecond: 1998,
    latencyMs: { p50: 0.25, p90: 0.4, p99: 1.5, max: 12.25, mean: 0.3 },
    errors: { reset: 2 },
    errorCount: 2,
    bytesSent: 0,
    bytesReceived: 0,
  };
  const text = formatReport(result, "1 + 1 (40 B)");
  assert.match(
    text,
    /^targets +127\.0\.0\.1:9998, 127\.0\.0\.1:9997, 4 connections \(persistent, spread round robin\)$/m,
  );
  assert.match(text, /1,998 answered in 1\.00 s/);
  assert.match(
    text,
    /^by target +127\.0\.0\.1:9998 1,000 answered, 127\.0\.0\.1:9997 998 answered \(2 errors\)$/m,
  );
});

Deno.test("runLoad: connections spread round robin over several targets, counted by target", async () => {
  const peers = [new Set<string>(), new Set<string>()];
  const serve = (seen: Set<string>) =>
    startServer({
      hostname: "127.0.0.1",
      port: 0,
      observe: (event) => seen.add(event.peer),
      limits: QUICK_STOP,
    });
  await using one = serve(peers[0] as Set<string>);
  await using two = serve(peers[1] as Set<string>);
  const result = await runLoad({
    hostname: "127.0.0.1",
    port: one.addr.port,
    moreTargets: [{ hostname: "127.0.0.1", port: two.addr.port }],
    connections: 3,
    requests: 300,
    packets: [REQUEST],
  });
  assert.equal(result.ok, 300, JSON.stringify(result.errors));
  assert.equal(result.target, `127.0.0.1:${one.addr.port}, 127.0.0.1:${two.addr.port}`);
  // Connections 0 and 2 load the first target, connection 1 the second.
  assert.deepEqual(peers.map((seen) => seen.size), [2, 1]);
  const [first, second] = result.byTarget;
  assert.equal(first?.target, `127.0.0.1:${one.addr.port}`);
  assert.equal(second?.target, `127.0.0.1:${two.addr.port}`);
  assert.ok((first?.ok ?? 0) > 0 && (second?.ok ?? 0) > 0, JSON.stringify(result.byTarget));
  assert.equal((first?.ok ?? 0) + (second?.ok ?? 0), 300);
  assert.deepEqual([first?.errorCount, second?.errorCount], [0, 0]);
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

/** A load result with `rate` requests per second over a second (`hits` of them answers to packet 0). */
function loadResult(rate: number, p99 = 1, hits = rate): LoadResult {
  return {
    target: "",
    byTarget: [{ target: "", ok: rate, errorCount: 0 }],
    connections: 32,
    window: 1,
    newConnection: false,
    elapsedMs: 1000,
    ok: rate,
    okByPacket: [hits, rate - hits],
    requestsPerSecond: rate,
    latencyMs: { p50: p99 / 4, p90: p99 / 2, p99, max: p99 * 2, mean: p99 / 4 },
    errors: {},
    errorCount: 0,
    bytesSent: 0,
    bytesReceived: 0,
  };
}

/** A row of the shipped setting made from runs at `rates` (CPU `cpuMs` each) against the echo's. */
function rowOf(
  target: SuiteTarget,
  mode: SuiteModeName,
  rates: readonly number[],
  echoRates: readonly number[],
  setting: SuiteSetting["name"] = "shipped",
  cpuMs?: number,
): SuiteRow {
  const runs = rates.map((rate) => ({ result: loadResult(rate, 1, rate), cpuMs }));
  const echo = echoRates.map((rate) => ({ result: loadResult(rate), cpuMs }));
  return suiteRow({ setting, target, mode }, runs, echo);
}

Deno.test("checkBudget(): the issue's lines, each from ratios of runs made moments apart", () => {
  const echo = [100_000, 90_000, 110_000];
  const suite: SuiteResult = {
    requests: { 1: "example 1", 2: "example 2" },
    settings: SUITE_SETTINGS,
    rows: [
      rowOf("echo", "many", echo, echo),
      rowOf("proxy-hit", "many", [88_000, 80_000, 90_000], echo),
      rowOf("proxy-hit", "many", [96_000, 85_000, 100_000], echo, "quiet", 1600),
      rowOf("echo", "many", echo, echo, "quiet", 1500),
      rowOf("server", "many", [45_000, 40_000, 60_000], echo),
      rowOf("echo", "perRequest", [5_000], [5_000], "shipped", 500),
      rowOf("proxy-hit", "perRequest", [5_000], [5_000], "shipped", 540),
      rowOf("proxy-hit", "window64", [200_000, 150_000, 230_000], echo),
      rowOf("proxy-mixed", "window64", [90_000, 80_000, 100_000], echo),
    ],
  };
  const checks = checkBudget(suite, undefined);
  assert.deepEqual(checks.map((check) => check.met), [true, false, false, true, true, false]);
  // Hits: 0.88, 0.89, 0.82 of the echo in their rounds.
  assert.equal(checks[0]?.measured, "0.88 (0.82–0.89)");
  assert.equal(
    checks[1]?.measured,
    "0.94 (0.91–0.96); CPU per request 16.7 µs vs the echo's 15.0 µs",
  );
  assert.equal(checks[3]?.measured, "108.0 µs vs 100.0 µs (1.08 ×)");
  // Window 64 over 32 connections: 2.27, 1.88, 2.56.
  assert.equal(checks[4]?.measured, "2.27 (1.88–2.56)");
  assert.equal(checks[5]?.measured, "0.45 (0.43–0.53)");
  const empty = checkBudget({ ...suite, rows: [] }, undefined);
  assert.ok(empty.every((check) => check.met === undefined && check.measured === "not measured"));
});

Deno.test("suiteTables(): a table per setting with rates, ratios and their spread, CPU and latency", () => {
  const echo = [100_000, 50_000, 100_000];
  const suite: SuiteResult = {
    requests: { 1: "example 1", 2: "max(2, 3) + 3 with steps (request 376 B)" },
    settings: SUITE_SETTINGS.filter((setting) => setting.name === "quiet"),
    rows: [
      rowOf("echo", "many", echo, echo, "quiet", 1000),
      rowOf("proxy-hit", "many", [80_000, 45_000, 90_000], echo, "quiet", 1500),
    ],
  };
  const tables = suiteTables(suite);
  assert.match(tables, /the median of 3 runs/);
  assert.match(tables, /### With --quiet/);
  assert.match(tables, /Request: max\(2, 3\) \+ 3 with steps \(request 376 B\)\./);
  assert.match(
    tables,
    /\| calcnet proxy, cache hits \| 80,000\/s 0\.90 \(0\.80–0\.90\) \| – \|/,
  );
  // 1.5 s of CPU over 45,000 to 90,000 requests: the median is 1500 ms / 80,000.
  assert.match(tables, /\| calcnet proxy, cache hits \| 18\.8 µs \| – \|/);
  assert.match(tables, /No request failed\./);
});

Deno.test("suiteRow(): median rate, per-round ratios with their range, CPU per request, all errors", () => {
  const echo = [100, 50, 100].map((rate) => ({ result: loadResult(rate), cpuMs: 1 }));
  const runs = [
    { result: loadResult(40, 3), cpuMs: 4 },
    { result: { ...loadResult(30, 9), errors: { refused: 1 } }, cpuMs: 6 },
    { result: loadResult(45, 2), cpuMs: undefined },
  ];
  const row = suiteRow({ setting: "shipped", target: "server", mode: "many" }, runs, echo);
  assert.equal(row.result.requestsPerSecond, 40);
  assert.deepEqual(row.rates, [40, 30, 45]);
  assert.equal(row.rate, 40);
  // Round ratios 0.40, 0.60, 0.45: the slow second round of both cancels out.
  assert.equal(row.ratio, 0.45);
  assert.deepEqual(row.ratioRange, [0.4, 0.6]);
  // 4 ms over 40 requests and 6 ms over 30: 100 and 200 µs, the median of the two measured.
  assert.equal(row.cpuUs, 150);
  assert.deepEqual(row.latencyMs, { p50: 0.75, p99: 3 });
  assert.deepEqual(row.errors, { refused: 1 });
  assert.equal(median([]), 0);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(
    () => suiteRow({ setting: "shipped", target: "echo", mode: "many" }, [], []),
    RangeError,
  );
});

Deno.test("suiteRow(): hits mixed with misses count the hits only", () => {
  const runs = [{ result: loadResult(1000, 1, 400), cpuMs: undefined }];
  const row = suiteRow({ setting: "shipped", target: "proxy-mixed", mode: "window64" }, runs, runs);
  assert.equal(row.rate, 400);
  assert.equal(row.ratio, 0.4);
  assert.equal(row.cpuUs, undefined);
});

Deno.test("suiteScenarios(): every setting's targets in its modes, the mixed load at window 64 only", () => {
  const scenarios = suiteScenarios();
  const names = scenarios.map((s) => scenarioKey(s.setting.name, s.target, s.mode));
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual(
    names.filter((name) => name.includes("proxy-mixed")),
    ["shipped proxy-mixed window64"],
  );
  for (const setting of SUITE_SETTINGS) {
    for (const mode of setting.modes) {
      assert.ok(names.includes(scenarioKey(setting.name, "echo", mode)), `${setting.name} ${mode}`);
    }
  }
  assert.ok(names.includes("shipped server perRequest"));
  assert.ok(names.includes("example1 proxy-miss many"));
});

Deno.test("calcnet bench: a report and JSON against a live server; usage errors", async () => {
  await using server = startServer({ hostname: "127.0.0.1", port: 0 });
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
  // One target: the report as it always was, no line by target.
  assert.match(text.stdout, /^target +127\.0\.0\.1:\d+, 2 connections \(persistent\)$/m);
  assert.doesNotMatch(text.stdout, /by target/);
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
  assert.equal(parsed.target, target);
  assert.equal(parsed.by_target, undefined);
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
  const refused = await runCli(["bench", "--target", "127.0.0.1:1", "--requests", "1"]);
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /cannot connect to 127\.0\.0\.1:1/);
});

Deno.test("calcnet bench --window and --mixed: pipelined hits mixed with misses through a proxy", async () => {
  await using server = startServer({ hostname: "127.0.0.1", port: 0 });
  await using proxy = startProxy({
    hostname: "127.0.0.1",
    port: 0,
    servers: [{ hostname: "127.0.0.1", port: server.addr.port }],
    cache: new ResponseCache(),
  });
  const target = `127.0.0.1:${proxy.addr.port}`;
  const json = await runCli([
    "bench",
    "--target",
    target,
    "--conns",
    "1",
    "--window",
    "16",
    "--mixed",
    "--steps",
    "--requests",
    "400",
    "--json",
  ]);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.window, 16);
  assert.equal(parsed.ok, 400);
  assert.equal(parsed.request.mixed, true);
  // Half the requests are hits (the first one stores the answer): half the rate.
  assert.ok(
    Math.abs(parsed.hits_per_second - parsed.requests_per_second / 2) <
      parsed.requests_per_second * 0.01,
    `${parsed.hits_per_second} of ${parsed.requests_per_second}`,
  );
  // Every other request bypasses the cache; the rest are hits but for the first ones, which
  // arrive together and share one trip to the server.
  const { bypasses, hits, misses, coalesced } = proxy.stats;
  assert.deepEqual([bypasses, hits + misses + coalesced, misses], [200, 200, 1]);
  const text = await runCli(["bench", "--target", target, "--max-age", "0", "--requests", "50"]);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(proxy.stats.bypasses, 250);
  const both = await runCli(["bench", "--target", target, "--window", "4", "--new-connection"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /not with --new-connection/);
});

/** Runs a script of the project with all permissions (Deno lets only those read /proc). */
async function runAll(script: string, args: readonly string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", projectFile(script), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("processCpuMs() reads a process's CPU time from /proc, growing as it works", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/cpu.ts`;
    await Deno.writeTextFile(
      script,
      `import { processCpuMs } from ${JSON.stringify(projectFile("src/bench/service_process.ts"))};
const before = await processCpuMs(Deno.pid);
const until = performance.now() + 60;
while (performance.now() < until) Math.sqrt(Math.random());
console.log(JSON.stringify([before, await processCpuMs(Deno.pid)]));`,
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script],
      stdout: "piped",
    }).output();
    const [before, after] = JSON.parse(new TextDecoder().decode(output.stdout));
    assert.ok(typeof before === "number" && before >= 0, String(before));
    assert.ok(typeof after === "number" && after > before, `${before} -> ${after}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // Without --allow-all (as here, in `deno task test`) or without /proc: no figure, no failure.
  const here = await processCpuMs(Deno.pid);
  assert.ok(here === undefined || here >= 0);
});

Deno.test("the echo server's, the suite's and the calibration's entry points take typed flags and say what is wrong", async () => {
  const badPort = await runAll("src/bench/echo_main.ts", ["--port", "x"]);
  assert.equal(badPort.code, 2);
  const line = new TextDecoder().decode(badPort.stderr);
  assert.match(line, /^echo_main\.ts: --port must be a whole number from 0 to 65535, not 'x'\n$/);
  const badRounds = await runAll("src/bench/suite_main.ts", ["--rounds", "0"]);
  assert.equal(badRounds.code, 2);
  assert.match(new TextDecoder().decode(badRounds.stderr), /^bench-suite: --rounds must be/);
  const help = await runAll("src/bench/suite_main.ts", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(new TextDecoder().decode(help.stdout), /--no-memory/);
  const badRuns = await runAll("src/bench/meter_calibration_main.ts", ["--runs", "0"]);
  assert.equal(badRuns.code, 2);
  assert.match(
    new TextDecoder().decode(badRuns.stderr),
    /^meter_calibration_main\.ts: --runs must be a whole number from 1 to 100, not '0'\n$/,
  );
  const unknown = await runAll("src/bench/meter_calibration_main.ts", ["--round", "2"]);
  assert.equal(unknown.code, 2);
});

Deno.test("bench-suite: a short round of one setting, with ratios, spread and CPU per request", async () => {
  const output = await runAll("src/bench/suite_main.ts", [
    "--rounds",
    "1",
    "--duration",
    "0.15",
    "--warmup",
    "0.05",
    "--settings",
    "quiet",
    "--no-memory",
    "--no-write",
  ]);
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  assert.match(stderr, /round 1 of 1 done/);
  assert.match(stdout, /### With --quiet/);
  assert.doesNotMatch(stdout, /### As users run them/);
  assert.match(stdout, /\| echo server \(ceiling\) \| [\d,]+\/s 1\.00 \(1\.00–1\.00\) \|/);
  assert.match(stdout, /\| calcnet proxy, cache hits \| [\d,]+\/s \d\.\d\d \(/);
  // The CPU table: a figure for every cell, read from /proc.
  assert.match(stdout, /\| calcnet server \| [\d.]+ µs \| [\d.]+ µs \|/);
  assert.match(stdout, /No request failed\./);
  // The settings not measured are not measured.
  assert.match(stdout, /– proxy hits ≥ 0\.85 × echo, 32 connections, logging on: not measured/);
  const bad = await runAll("src/bench/suite_main.ts", ["--settings", "quiet,loud"]);
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stderr), /'loud' is none of all, shipped, quiet/);
});

Deno.test("BY_HAND_SECTIONS: every command line it shows is accepted as written", () => {
  const specs: ReadonlyMap<string, CommandSpec> = new Map([
    ["deno task server", SERVER_SPEC as CommandSpec],
    ["deno task proxy", PROXY_SPEC as CommandSpec],
    ["deno task bench", BENCH_SPEC as CommandSpec],
    ["deno run --allow-net src/bench/echo_main.ts", ECHO_SPEC as CommandSpec],
  ]);
  const lines = BY_HAND_SECTIONS.filter((line) => line.startsWith("deno "));
  assert.equal(lines.length, 8);
  for (const line of lines) {
    const command = line.replace(/\s+#.*$/, "");
    const prefix = [...specs.keys()].find((key) => command.startsWith(key));
    assert.ok(prefix !== undefined, line);
    const args = command.slice(prefix.length).trim().split(/\s+/).filter((word) => word !== "");
    assert.doesNotThrow(() => parseFlags(specs.get(prefix) as CommandSpec, args), line);
  }
});

Deno.test("calcnet bench --echo counts the echo server's answers; without it they are errors", async () => {
  await using echo = startEchoServer({ hostname: "127.0.0.1", port: 0 });
  const target = `127.0.0.1:${echo.addr.port}`;
  const args = ["bench", "--target", target, "--conns", "2", "--requests", "100", "--json"];
  const counted = await runCli([...args, "--echo"]);
  assert.equal(counted.code, 0, counted.stderr);
  const parsed = JSON.parse(counted.stdout);
  assert.equal(parsed.ok, 100);
  assert.equal(parsed.error_count, 0);
  const refused = await runCli(args);
  assert.equal(refused.code, 1);
  assert.equal(JSON.parse(refused.stdout).ok, 0);
});
