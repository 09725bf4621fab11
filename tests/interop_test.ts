/**
 * calcnet with stand-ins for the course's Python programs
 * (tests/fixtures/course_programs.py: CPython's own pickle, the course's
 * classes, one recv per message), in every mix.
 */

import assert from "node:assert/strict";
import { startProxy } from "../src/proxy/proxy.ts";
import { ResponseCache } from "../src/proxy/cache.ts";
import { parseExpression } from "../src/calc/parser.ts";
import { COURSE_EXAMPLES } from "../src/calc/course_examples.ts";
import { encodeExpr } from "../src/pickle/mod.ts";
import {
  EXAMPLE_ANSWERS,
  type ExampleAnswer,
  SEMANTICS_TABLE,
} from "../src/check/course_answers.ts";
import { runFixture } from "./helpers/python.ts";
import { treeJson } from "./helpers/pickle_fixture.ts";
import { pythonClient, startPythonServer } from "./helpers/course_programs.ts";
import { toHex } from "./helpers/bytes.ts";
import { withServer } from "./helpers/net.ts";
import { runCli } from "./helpers/cli.ts";
import { requestData } from "../src/client/expression.ts";
import { CalcConnection } from "../src/client/connection.ts";
import { DEFAULT_REQUEST_FLAGS } from "../src/protocol/request_packet.ts";
import { answerLines, readAnswer } from "../src/client/answer.ts";
import { runCheck } from "../src/check/run.ts";

/** The course server's answer to the course example `text` (its result and steps). */
function exampleAnswer(text: string): ExampleAnswer {
  const answer = EXAMPLE_ANSWERS[COURSE_EXAMPLES.findIndex((example) => example.text === text)];
  if (answer === undefined) throw new Error(`not a course example: ${text}`);
  return answer;
}

/** The course client's printout of a result with steps (written out here, independently). */
function printout(result: string, steps: readonly string[]): string {
  if (steps.length === 0) return `Result: ${result}\n`;
  const [first, ...rest] = steps;
  return `Result: ${result}\nSteps:\n${first} = ${rest[0]}\n` +
    rest.slice(1).map((step) => `${" ".repeat((first ?? "").length)} = ${step}\n`).join("");
}

/** Lines the client prints that are not the `{peer} ...` connection chatter. */
function answers(output: string): string {
  return output.split("\n").filter((line) =>
    !/^\{[^}]+\} (Connection|Sending|Got response)/.test(line)
  )
    .map((line) => line.replace(/^\{[^}]+\} /, "")).join("\n");
}

Deno.test("interop: the Python client gets the course's answers from calcnet server", async (t) => {
  await withServer(async (port) => {
    await t.step("the six examples with steps, over one connection", async () => {
      const texts = COURSE_EXAMPLES.map((example) => example.text);
      const output = await pythonClient(port, texts, { showSteps: true });
      for (const example of COURSE_EXAMPLES) {
        assert.ok(output.includes(`Result: ${example.repr}\n`), example.text);
        const { repr, steps } = exampleAnswer(example.text);
        assert.ok(output.includes(printout(repr, steps)), example.text);
      }
      assert.equal(
        output.match(/Sending request of length (\d+)/g)?.join(),
        [687, 376, 548, 487, 506, 595].map((n) => `Sending request of length ${n}`).join(),
      );
    });
    await t.step("the six examples from a Python that pickles enums by name", async () => {
      // CPython 3.11.0-3.11.4 (Debian 12's python3 is 3.11.2) write
      // `getattr(Associativity, 'LEFT')` where later versions write
      // `Associativity(0)`; a course client on either must be understood.
      const texts = COURSE_EXAMPLES.map((example) => example.text);
      const output = await pythonClient(port, texts, { showSteps: false }, "name");
      assert.equal(
        answers(output).trim(),
        COURSE_EXAMPLES.map((example) => `Result: ${example.repr}`).join("\n"),
      );
    });
    await t.step(
      "named constants in operands: the course server's steps, byte for byte",
      async () => {
        const rows = SEMANTICS_TABLE.filter((row) =>
          row.answer.kind === "result" && /\b(pi|tau|e)\b/.test(row.text)
        );
        const output = await pythonClient(port, rows.map((row) => row.text), { showSteps: true });
        const expected = rows.map((row) =>
          row.answer.kind === "result" ? printout(row.answer.repr, row.answer.steps) : ""
        ).join("");
        assert.equal(answers(output).replace(/\n+$/, "\n"), expected);
      },
    );
    await t.step("results and errors as the course server gives them", async () => {
      const cases: Array<[string, string]> = [
        ["6 / 2", "Result: 3.0"],
        ["0.1 + 0.2", "Result: 0.30000000000000004"],
        ["7 % -3", "Result: -2"],
        ["-7.5 % 2", "Result: 0.5"],
        ["2 ** 100", "Result: 1267650600228229401496703205376"],
        ["max(2, 2.0)", "Result: 2"],
        ["pow(2, -1, 5)", "Result: 3"],
        ["1e308 * 10", "Result: inf"],
        ["1 / 0", "Got error: division by zero"],
        ["log(0)", "Got error: math domain error"],
        ["2 ** 10000.5", "Got error: (34, 'Numerical result out of range')"],
        ["max(5)", "Got error: 'int' object is not iterable"],
        ["10 ** 400 / 1", "Got error: integer division result too large for a float"],
      ];
      const output = answers(
        await pythonClient(port, cases.map(([text]) => text), { showSteps: false }),
      );
      assert.equal(output.trim(), cases.map(([, line]) => line).join("\n"));
    });
  });
});

Deno.test("interop: calcnet client's requests are byte-identical to CPython's for the course server", async () => {
  await using python = await startPythonServer();
  const texts = COURSE_EXAMPLES.map((example) => example.text);
  const result = await runCli(["client", "-p", String(python.port), "-q", ...texts]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    COURSE_EXAMPLES.map((example) => `Result: ${example.repr}\n`).join(""),
  );
  const cpython = (await runFixture("encode-expr", {
    items: texts.map((text) => treeJson(parseExpression(text))),
  })) as { hex: string[] };
  assert.deepEqual(python.requests, cpython.hex);
  assert.deepEqual(python.requests, texts.map((text) => toHex(encodeExpr(parseExpression(text)))));
});

Deno.test("interop: Python client through calcnet proxy to the Python server: a miss, then a hit", async () => {
  await using python = await startPythonServer();
  await using proxy = startProxy({
    hostname: "127.0.0.1",
    port: 0,
    servers: [{ hostname: "127.0.0.1", port: python.port }],
    cache: new ResponseCache(),
  });
  const text = "max(2, 3) + 3";
  const first = await pythonClient(proxy.addr.port, [text], { showSteps: true });
  const second = await pythonClient(proxy.addr.port, [text], { showSteps: true });
  assert.equal(answers(first), answers(second));
  const { repr, steps } = exampleAnswer(text);
  assert.ok(first.includes(printout(repr, steps)));
  assert.equal(python.requests.length, 1);
  assert.equal(proxy.stats.hits, 1);
});

Deno.test("interop: a rand request from calcnet gets the same answer from both servers", async () => {
  await using python = await startPythonServer();
  await withServer(async (port) => {
    const data = requestData("rand(1, 2) + rand(10, 20)");
    const answers: string[] = [];
    for (const target of [port, python.port]) {
      using conn = await CalcConnection.open("127.0.0.1", target);
      const exchange = await conn.request(data, DEFAULT_REQUEST_FLAGS);
      const answer = readAnswer(exchange);
      assert.equal(answer.kind, "result");
      answers.push(answerLines(answer).join("\n"));
    }
    assert.equal(answers[0], answers[1]);
    const value = Number(/Result: (\S+)/.exec(answers[0] ?? "")?.[1]);
    assert.ok(value >= 11 && value <= 22, String(value));
  });
});

Deno.test("interop: check passes the Python stand-in's conformance and reports its robustness gaps", async () => {
  await using python = await startPythonServer();
  const report = await runCheck({
    server: { hostname: "127.0.0.1", port: python.port },
    suites: new Set(["server", "robustness"]),
    seed: 7,
    randomCount: 20,
    strict: false,
    timeoutMs: 1000,
    cacheControl: 65535,
  });
  const failed = report.results.filter((result) => result.verdict === "fail").map((result) =>
    result.id
  );
  assert.deepEqual(failed, []);
  const warned = report.results.filter((result) => result.verdict === "warn").map((result) =>
    result.id
  );
  assert.ok(warned.includes("robustness/split-segments"), warned.join());
  assert.ok(warned.includes("robustness/two-in-one-segment"), warned.join());
});
