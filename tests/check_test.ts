import assert from "node:assert/strict";
import { startServer } from "../src/server/server.ts";
import { startProxy } from "../src/proxy/proxy.ts";
import { ResponseCache } from "../src/proxy/cache.ts";
import { type CheckOptions, type CheckReport, runCheck, type SuiteName } from "../src/check/run.ts";
import type { CaseResult, Verdict } from "../src/check/case.ts";
import { randomExpressions } from "../src/check/random_expr.ts";
import { caseLines, reportJson, setupLines, summaryLine } from "../src/check/report.ts";
import type { SetupProblemReport } from "../src/check/setup_problem.ts";
import { startBrokenProxy, startStepsServer, startSwappingServer } from "./fakes/broken_peers.ts";
import { runCli } from "./helpers/cli.ts";

const LOCAL = "127.0.0.1";

/** A calcnet server with a short frame timeout, so lying-length cases end quickly. */
function ourServer(): ReturnType<typeof startServer> {
  return startServer({ hostname: LOCAL, port: 0, limits: { frameTimeoutMs: 200 } });
}

function check(
  server: number,
  overrides: Partial<CheckOptions> & { suites: ReadonlySet<SuiteName> },
): Promise<CheckReport> {
  return runCheck({
    server: { hostname: LOCAL, port: server },
    seed: 1234,
    randomCount: 20,
    strict: false,
    timeoutMs: 1000,
    cacheControl: 65535,
    ...overrides,
  });
}

function verdicts(report: CheckReport): Map<string, Verdict> {
  return new Map(report.results.map((result) => [result.id, result.verdict]));
}

function failing(report: CheckReport): string[] {
  return report.results.filter((result) => result.verdict !== "pass").map((result) => result.id);
}

Deno.test("check: calcnet's own server and proxy pass every case with --strict, server-down included", async () => {
  await using server = ourServer();
  await using proxy = startProxy({
    hostname: LOCAL,
    port: 0,
    servers: [{ hostname: LOCAL, port: server.addr.port }],
    cache: new ResponseCache(),
  });
  const notices: string[] = [];
  const report = await check(server.addr.port, {
    proxy: { hostname: LOCAL, port: proxy.addr.port },
    suites: new Set(["server", "robustness", "proxy"]),
    strict: true,
    stopServer: () => server.shutdown(),
    onNotice: (line) => notices.push(line),
  });
  assert.deepEqual(failing(report), []);
  assert.deepEqual(report.summary, { passed: report.results.length, failed: 0, warnings: 0 });
  assert.ok(report.ok);
  const ids = new Set(report.results.map((result) => result.id));
  for (
    const id of [
      "server/example-1-steps",
      "server/example-6-no-steps",
      "server/semantics/7 % -3",
      "server/semantics/2 ** 10000.5",
      "server/error/garbage-data",
      "server/s-flag",
      "server/random",
      "robustness/two-in-one-segment",
      "robustness/stalled-peers",
      "proxy/miss-then-hit",
      "proxy/expiry",
      "proxy-down/uncached-500",
    ]
  ) assert.ok(ids.has(id), id);
  assert.ok(notices.some((line) => line.startsWith("stopping the server")));
});

Deno.test("check: broken servers are caught by the cases named for their fault", async (t) => {
  await t.step(
    "a server that drops the steps fails every example with steps, and only those",
    async () => {
      await using fake = startStepsServer("drop");
      const report = await check(fake.port, { suites: new Set(["server"]), randomCount: 0 });
      const byId = verdicts(report);
      for (let n = 1; n <= 6; n++) {
        assert.equal(byId.get(`server/example-${n}-steps`), "fail");
        assert.equal(byId.get(`server/example-${n}-no-steps`), "pass");
      }
      assert.equal(report.ok, false);
      const failure = report.results.find((result) => result.id === "server/example-2-steps")
        ?.failure;
      assert.match(failure?.got ?? "", /: 6 \(wrong: steps\)$/);
      assert.match(failure?.sent?.description ?? "", /max\(2, 3\) \+ 3.*S=1/);
      assert.match(failure?.sent?.hex ?? "", /^[0-9a-f]{24}/);
    },
  );

  await t.step(
    "a server that sends the steps in the wrong order fails the examples with steps",
    async () => {
      await using fake = startStepsServer("reverse");
      const report = await check(fake.port, { suites: new Set(["server"]), randomCount: 0 });
      const byId = verdicts(report);
      assert.equal(byId.get("server/example-3-steps"), "fail");
      assert.equal(byId.get("server/example-3-no-steps"), "pass");
      assert.match(
        report.results.find((result) => result.id === "server/example-3-steps")?.failure?.got ??
          "",
        /wrong: steps\)/,
      );
    },
  );

  await t.step(
    "a server that answers pipelined requests swapped: a warning, a failure with strict",
    async () => {
      await using fake = startSwappingServer();
      const lenient = await check(fake.port, { suites: new Set(["robustness"]) });
      assert.equal(verdicts(lenient).get("robustness/two-in-one-segment"), "warn");
      assert.equal(verdicts(lenient).get("robustness/split-segments"), "pass");
      assert.ok(lenient.ok, "warnings alone do not fail a run");
      const failure = lenient.results.find((result) =>
        result.id === "robustness/two-in-one-segment"
      )?.failure;
      assert.match(failure?.expected ?? "", /^answer 1 of 2/);
      const strict = await check(fake.port, { suites: new Set(["robustness"]), strict: true });
      assert.equal(verdicts(strict).get("robustness/two-in-one-segment"), "fail");
      assert.equal(strict.ok, false);
    },
  );
});

Deno.test("check: broken proxies are caught by the cases named for their fault", async (t) => {
  await using server = ourServer();
  /** The proxy suite's verdicts against a broken proxy, and what a case got. */
  const checkBroken = async (fault: "forward" | "stale") => {
    await using proxy = startBrokenProxy(fault, server.addr.port);
    const report = await check(server.addr.port, {
      proxy: { hostname: LOCAL, port: proxy.port },
      suites: new Set(["proxy"]),
    });
    const got = (id: string): string =>
      report.results.find((result) => result.id === id)?.failure?.got ?? "";
    return { byId: verdicts(report), got };
  };
  await t.step("a proxy that forwards everything fails miss-then-hit", async () => {
    const { byId, got } = await checkBroken("forward");
    assert.equal(byId.get("proxy/miss-then-hit"), "fail");
    assert.equal(byId.get("proxy/cached-error"), "fail");
    assert.equal(byId.get("proxy/expiry"), "pass");
    assert.equal(byId.get("proxy/no-store-without-c"), "pass");
    assert.match(got("proxy/miss-then-hit"), /the proxy asked the server again/);
  });

  await t.step("a proxy that ignores max-age fails expiry and the max-age 0 bypass", async () => {
    const { byId, got } = await checkBroken("stale");
    assert.equal(byId.get("proxy/expiry"), "fail");
    assert.equal(byId.get("proxy/bypass-keeps-entry"), "fail");
    assert.equal(byId.get("proxy/miss-then-hit"), "pass");
    assert.match(got("proxy/expiry"), /a cache hit/);
  });
});

Deno.test("check: a server that does not go down is one setup problem, not proxy-down failures", async () => {
  await using server = ourServer();
  await using proxy = startProxy({
    hostname: LOCAL,
    port: 0,
    servers: [{ hostname: LOCAL, port: server.addr.port }],
    cache: new ResponseCache(),
  });
  const told: unknown[] = [];
  const report = await runCheck({
    server: { hostname: LOCAL, port: server.addr.port },
    proxy: { hostname: LOCAL, port: proxy.addr.port },
    suites: new Set(["proxy"]),
    seed: 1,
    randomCount: 0,
    strict: false,
    timeoutMs: 300,
    cacheControl: 65535,
    stopServer: () => Promise.resolve(),
    onSetupProblem: (problem) => told.push(problem),
  });
  assert.deepEqual(report.results.filter((result) => result.id.startsWith("proxy-down/")), []);
  assert.equal(report.summary.failed, 0);
  assert.equal(report.ok, false);
  assert.equal(report.setupProblems.length, 1);
  const [problem] = report.setupProblems;
  assert.match(
    problem?.message ?? "",
    /^the server at 127\.0\.0\.1:\d+ still accepts connections 0\.6 s after it was to stop: the server-down cases were not run$/,
  );
  assert.match(problem?.hint ?? "", /kill <pid>/);
  assert.equal(problem?.skipped, 4);
  assert.deepEqual(told, [problem]);
  const lines = setupLines(problem as SetupProblemReport).map((line) =>
    line.map(([text]) => text).join("")
  );
  assert.match(lines[0] ?? "", /^SETUP {2}the server at .* \(4 cases not run\)$/);
  assert.match(lines[1] ?? "", /^ {6}hint: stop it with 'kill <pid>'/);
  assert.equal(
    summaryLine(report.summary, 1),
    `${report.summary.passed} passed, 0 failed, 0 warnings, 1 setup problem`,
  );
});

Deno.test("check: random expressions replay from their seed", () => {
  const a = randomExpressions(99, 30);
  const b = randomExpressions(99, 30);
  assert.deepEqual(
    a.map((item) => [item.text, item.showSteps, item.repr]),
    b.map((item) => [item.text, item.showSteps, item.repr]),
  );
  assert.notDeepEqual(
    a.map((item) => item.text),
    randomExpressions(100, 30).map((item) => item.text),
  );
  assert.ok(a.some((item) => item.showSteps) && a.some((item) => !item.showSteps));
});

Deno.test("check: report lines show what was sent, expected and got; JSON is one document", () => {
  const result: CaseResult = {
    id: "server/example-2-steps",
    title: "course example 2 with steps",
    kind: "conformance",
    verdict: "fail",
    ms: 3.21,
    failure: {
      sent: {
        description: "`max(2, 3) + 3` (S=1 C=1 max-age 65535)",
        hex: "6b0243e9",
        length: 376,
      },
      expected: "200, S=1: 6",
      got: "200, S=0: 6 (wrong: steps, S flag)",
    },
  };
  const text = caseLines(result).map((line) => line.map(([piece]) => piece).join(""));
  assert.deepEqual(text, [
    "FAIL  server/example-2-steps  course example 2 with steps (3 ms)",
    "      sent:     `max(2, 3) + 3` (S=1 C=1 max-age 65535), 376 bytes: 6b0243e9",
    "      expected: 200, S=1: 6",
    "      got:      200, S=0: 6 (wrong: steps, S flag)",
  ]);
  assert.equal(summaryLine({ passed: 3, failed: 1, warnings: 1 }), "3 passed, 1 failed, 1 warning");
  const report: CheckReport = {
    seed: 7,
    server: "127.0.0.1:9999",
    strict: false,
    results: [result],
    summary: { passed: 0, failed: 1, warnings: 0 },
    setupProblems: [],
    ok: false,
  };
  const json = JSON.parse(reportJson(report, "0.1.0", 1));
  assert.equal(json.exit_code, 1);
  assert.equal(json.proxy, null);
  assert.equal(json.cases[0].failure.sent.length, 376);
});

Deno.test("calcnet check (CLI): exit codes, --json, usage errors", async (t) => {
  await t.step("usage errors exit 2", async () => {
    const noProxy = await runCli(["check", "--server-down"]);
    assert.equal(noProxy.code, 2);
    assert.match(noProxy.stderr, /need --proxy/);
    const badSuite = await runCli(["check", "--only", "sever"]);
    assert.equal(badSuite.code, 2);
    assert.match(
      badSuite.stderr,
      /--only takes suites from server, robustness, proxy, not 'sever'/,
    );
  });

  await t.step("nothing listening exits 3; with --json the document says so", async () => {
    const listener = Deno.listen({ hostname: LOCAL, port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const result = await runCli(["check", "--server", `${LOCAL}:${port}`]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /cannot connect/);
    const json = await runCli(["check", "--server", `${LOCAL}:${port}`, "--json", "--seed", "5"]);
    assert.equal(json.code, 3);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.exit_code, 3);
    assert.equal(doc.ok, false);
    assert.equal(doc.seed, 5);
    assert.match(doc.error, /^cannot connect to 127\.0\.0\.1:\d+/);
    assert.deepEqual(doc.cases, []);
    assert.match(json.stderr, /^calcnet check: cannot connect .*\n$/);
  });

  await t.step("a usage error after parsing is a JSON document with exit_code 2", async () => {
    const result = await runCli(["check", "--only", "sever", "--json"]);
    assert.equal(result.code, 2);
    assert.equal(JSON.parse(result.stdout).exit_code, 2);
  });

  await t.step("--server-down without a terminal needs --stop-server-cmd, at once", async () => {
    const listener = Deno.listen({ hostname: LOCAL, port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const result = await runCli(["check", "--proxy", `${LOCAL}:${port}`, "--server-down"]);
    assert.equal(result.code, 2, "a usage error before trying to connect");
    assert.match(result.stderr, /needs a terminal; without one, give --stop-server-cmd/);
  });

  await t.step("a server the stop command leaves running: SETUP with a hint, exit 1", async () => {
    await using server = ourServer();
    await using proxy = startProxy({
      hostname: LOCAL,
      port: 0,
      servers: [{ hostname: LOCAL, port: server.addr.port }],
      cache: new ResponseCache(),
    });
    const args = [
      "check",
      "--server",
      `${LOCAL}:${server.addr.port}`,
      "--proxy",
      `${LOCAL}:${proxy.addr.port}`,
      "--only",
      "proxy",
      "--timeout",
      "0.3",
      "--stop-server-cmd",
      "true",
    ];
    const result = await runCli(args);
    assert.equal(result.code, 1);
    assert.doesNotMatch(result.stdout, /FAIL/);
    assert.match(
      result.stdout,
      /\nSETUP {2}the server at .* still accepts connections .*\(4 cases not run\)\n {6}hint: stop it with 'kill <pid>'/,
    );
    assert.match(result.stdout, /, 1 setup problem\n$/);
    const json = JSON.parse((await runCli([...args, "--json"])).stdout);
    assert.equal(json.exit_code, 1);
    assert.equal(json.setup_problems.length, 1);
    assert.match(json.setup_problems[0].hint, /kill <pid>/);
  });

  await t.step(
    "a server that drops the steps: exit 1, the failing cases named in the JSON",
    async () => {
      await using fake = startStepsServer("drop");
      const result = await runCli([
        "check",
        "--server",
        `${LOCAL}:${fake.port}`,
        "--only",
        "server",
        "--random",
        "5",
        "--seed",
        "42",
        "--json",
      ]);
      assert.equal(result.code, 1);
      const json = JSON.parse(result.stdout);
      assert.equal(json.seed, 42);
      const failed = json.cases.filter((c: { verdict: string }) => c.verdict === "fail").map((
        c: { id: string },
      ) => c.id);
      assert.ok(failed.includes("server/example-2-steps"));
      assert.equal(json.summary.failed, failed.length);
    },
  );

  await t.step("calcnet's server: exit 0, the seed and the summary printed", async () => {
    await using server = ourServer();
    const result = await runCli([
      "check",
      "--server",
      `${LOCAL}:${server.addr.port}`,
      "--only",
      "server",
      "--random",
      "5",
    ]);
    assert.equal(result.code, 0, result.stdout);
    assert.match(
      result.stdout,
      /^calcnet check: server 127\.0\.0\.1:\d+, seed (\d+) \(replay with --seed \1\)\n/,
    );
    assert.match(result.stdout, /\nPASS {2}server\/example-1-steps {2}/);
    assert.match(result.stdout, /\n\d+ passed, 0 failed, 0 warnings\n$/);
  });
});
