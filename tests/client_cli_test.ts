import assert from "node:assert/strict";
import { encodePacket } from "../src/protocol/header.ts";
import { requestPacket } from "../src/protocol/request_packet.ts";
import { DEFAULT_REQUEST_FLAGS } from "../src/protocol/mod.ts";
import { startServer } from "../src/server/server.ts";
import { startProxy } from "../src/proxy/proxy.ts";
import { ResponseCache } from "../src/proxy/cache.ts";
import { freshnessOf } from "../src/client/freshness.ts";
import type { Exchange } from "../src/client/connection.ts";
import { cachedNote } from "../src/cli/client_output.ts";
import { readPromptLine } from "../src/cli/client_prompt.ts";
import { delay } from "./helpers/net.ts";
import { runCli } from "./helpers/cli.ts";
import { fromHex } from "./helpers/bytes.ts";
import { fixturePath, runPython } from "./helpers/python.ts";
import { indentBombPickle, stepBombPickle } from "./helpers/hostile_pickles.ts";
import { type ScriptedServer, startScriptedServer } from "./fakes/scripted_server.ts";
import { MAX_PRINTED_STEPS } from "../src/client/answer.ts";

const LOCAL = "127.0.0.1";

/** Waits until the clock is into the next whole second (and a little). */
async function nextSecond(): Promise<void> {
  await delay(1000 - Date.now() % 1000 + 50);
}

/** An exchange whose request was stamped `sent` and whose answer `made` (Unix seconds). */
function exchangeAt(sent: number, made: number): Exchange {
  const request = requestPacket(new Uint8Array(0), DEFAULT_REQUEST_FLAGS, sent * 1000 + 999);
  const header = {
    timestamp: made,
    cacheResult: true,
    showSteps: false,
    isRequest: false,
    statusCode: 200,
    cacheControl: 65535,
  };
  const response = encodePacket(header, new Uint8Array(0));
  return {
    request,
    response,
    header: { ...header, totalLength: 12, reserved: 0 },
    roundTripMs: 1,
  };
}

Deno.test("freshnessOf() calls an answer cached when it was made before the second it was asked in", () => {
  assert.deepEqual(freshnessOf(exchangeAt(1000, 1000)), { cached: false, ageSeconds: 0 });
  assert.deepEqual(freshnessOf(exchangeAt(1000, 963)), { cached: true, ageSeconds: 37 });
  // A server whose clock is ahead: fresh, and no negative age.
  assert.deepEqual(freshnessOf(exchangeAt(1000, 1002)), { cached: false, ageSeconds: 0 });
  const note = (sent: number, made: number): string =>
    cachedNote(freshnessOf(exchangeAt(sent, made))).map(([text]) => text).join("");
  assert.equal(note(1000, 963), "   (cached, 37 s old)");
  assert.equal(note(10_000, 10_000 - 600), "   (cached, 10 min old)");
  assert.equal(note(1000, 1000), "");
});

Deno.test("client: through a proxy the first answer is fresh and the second says it is cached", async () => {
  await using server = startServer({ hostname: LOCAL, port: 0 });
  await using proxy = startProxy({
    hostname: LOCAL,
    port: 0,
    servers: [{ hostname: LOCAL, port: server.addr.port }],
    cache: new ResponseCache(),
  });
  const port = String(proxy.addr.port);
  const ask = (...args: string[]) => runCli(["client", "-p", port, "-q", ...args]);
  const steps = "Steps:\nmax(2, 3) + 3 = 3 + 3\n              = 6\n";
  const fresh = await ask("--steps", "max(2, 3) + 3");
  assert.equal(fresh.stdout, `Result: 6\n${steps}`, "a fresh answer prints as the course's");
  const json = await ask("--json", "7 * 6");
  assert.deepEqual(
    [JSON.parse(json.stdout).cached, JSON.parse(json.stdout).age_seconds],
    [false, 0],
  );
  await nextSecond();
  const cached = await ask("--steps", "max(2, 3) + 3");
  assert.match(cached.stdout, /^Result: 6 {3}\(cached, [12] s old\)\n/);
  assert.ok(cached.stdout.endsWith(`\n${steps}`), cached.stdout);
  assert.equal(cached.code, 0);
  const record = JSON.parse((await ask("--json", "7 * 6")).stdout);
  assert.equal(record.cached, true);
  assert.ok(record.age_seconds === 1 || record.age_seconds === 2, String(record.age_seconds));
});

/** The course server's answer to `(-8) ** (1 / 3)`: a complex result, as CPython pickles it. */
const COMPLEX_ANSWER = fromHex(
  "80049532000000000000008c086275696c74696e73948c07636f6d706c6578949394473ff0000000000001" +
    "473ffbb67ae8584caa869452945d9486942e",
);

/** A server whose first answer is a complex result, second a garbage pickle, then real ones. */
function oddAnswersServer(): ScriptedServer {
  return startScriptedServer((count) =>
    count === 1 ? COMPLEX_ANSWER : count === 2 ? fromHex("8004ffff") : undefined
  );
}

Deno.test("client: a batch reports an answer it cannot print in one line and sends the next, exit 1", async () => {
  await using server = oddAnswersServer();
  const result = await runCli([
    "client",
    "-p",
    String(server.port),
    "-q",
    "(-8) ** (1/3)",
    "1 + 1",
    "rand(1, 10)",
  ]);
  const lines = result.stdout.split("\n");
  assert.equal(lines.length, 4, result.stdout);
  assert.match(lines[0] ?? "", /^Unexpected error: .*complex/);
  assert.match(lines[1] ?? "", /^Unexpected error: Received data is not a valid result/);
  assert.match(lines.slice(2).join("\n"), /^Result: [\d.]+\n$/, "rand(1, 10) was sent");
  assert.equal(result.stderr, "");
  assert.equal(result.code, 1);
});

Deno.test("client: a batch's unprintable answers are JSON lines of their own", async () => {
  await using server = oddAnswersServer();
  const result = await runCli(["client", "-p", String(server.port), "--json", "1", "2", "3"]);
  const records = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(records.map((r) => [r.expression, r.error?.type ?? r.result]), [
    ["1", "InvalidResponse"],
    ["2", "InvalidResponse"],
    ["3", "3"],
  ]);
  assert.equal(result.code, 1);
});

Deno.test("client: the review's step bomb is one line and the next expression is still sent, exit 1", async () => {
  // 64 KiB whose steps would read as 533 million characters (one str used again and again).
  await using server = startScriptedServer((count) => count === 1 ? stepBombPickle() : undefined);
  const result = await runCli(["client", "-p", String(server.port), "-q", "1 + 1", "2 + 2"]);
  assert.match(
    result.stdout,
    /^Unexpected error: Received data is not a valid result \(pickle needs more than \d+ units of work \(16 per byte of its 65523\)\)\nResult: 4\n$/,
  );
  assert.equal(result.stderr, "");
  assert.equal(result.code, 1);
  assert.equal(server.requests(), 2);
});

Deno.test("client: steps that would print 533 million characters are one line; the next is sent", async () => {
  // Cheap to read (17,754 empty steps after one of 30,000 characters), but the
  // course client indents every step by the first's length.
  await using server = startScriptedServer((count) =>
    count % 2 === 1 ? indentBombPickle() : undefined
  );
  const port = String(server.port);
  const result = await runCli(["client", "-p", port, "-q", "--steps", "1 + 1", "2 + 2"]);
  assert.equal(
    result.stdout,
    "Unexpected error: Received answer cannot be printed (RangeError: its steps would print " +
      `${17_754 * 30_004 - 1} characters, more than ${MAX_PRINTED_STEPS})\n` +
      "Result: 4\nSteps:\n2 + 2 = 4\n",
  );
  assert.equal(result.code, 1);
  // JSON Lines carry the steps as they came, not indented: 84 KB.
  const json = await runCli(["client", "-p", port, "-q", "--json", "1 + 1"]);
  assert.ok(json.stdout.length < 90_000, `${json.stdout.length}`);
  assert.equal(JSON.parse(json.stdout).steps.length, 17_755);
  assert.equal(json.code, 0);
});

Deno.test("readPromptLine() takes #N for a course example and a bare number as an expression", () => {
  assert.deepEqual(readPromptLine(" #2 "), { kind: "send", text: "max(2, 3) + 3" });
  assert.deepEqual(readPromptLine("2"), { kind: "send", text: "2" });
  assert.deepEqual(readPromptLine("7"), { kind: "send", text: "7" });
  assert.deepEqual(readPromptLine("#7"), {
    kind: "mistake",
    message: "no example #7: the course examples are #1 to #6",
  });
  assert.deepEqual(readPromptLine("#x"), {
    kind: "mistake",
    message: "'#x': the course examples are #1 to #6",
  });
  assert.deepEqual(readPromptLine("quit"), { kind: "exit" });
  assert.deepEqual(readPromptLine("?"), { kind: "help" });
  assert.deepEqual(readPromptLine("   "), { kind: "nothing" });
});

Deno.test("client: at the prompt #2 is course example 2 and 7 is seven; the menu says so", async () => {
  await using server = startServer({ hostname: LOCAL, port: 0 });
  const result = await runCli(
    ["client", "-p", String(server.addr.port), "-q"],
    "#2\n7\n#9\nexit\n",
  );
  assert.equal(result.stdout, "Result: 6\nResult: 7\n");
  assert.match(result.stderr, /or #1 to #6 to send a course example:\n {2}#1 {2}\(sin/);
  assert.match(result.stderr, /\nno example #9: the course examples are #1 to #6\n/);
  assert.equal(result.code, 0);
});

Deno.test("client --json: a refused connection is a JSON line too, and one line on stderr", async () => {
  const listener = Deno.listen({ hostname: LOCAL, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const result = await runCli(["client", "-p", String(port), "--json", "1 + 1"]);
  assert.equal(result.code, 3);
  const record = JSON.parse(result.stdout);
  assert.equal(record.expression, null);
  assert.equal(record.error.type, "ConnectionError");
  assert.match(record.error.message, /^cannot connect to 127\.0\.0\.1:\d+/);
  assert.equal(record.exit_code, 3);
  assert.match(result.stderr, /^calcnet client: cannot connect to .*\n$/);
  const help = await runCli(["client", "--help"]);
  assert.match(help.stdout, /--json +print JSON Lines/);
});

Deno.test("client --timeout -1 names the value as typed", async () => {
  const result = await runCli(["client", "--timeout", "-1", "1 + 1"]);
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    "calcnet client: --timeout must be a number of seconds (e.g. 0.5), not '-1'\n",
  );
});

/** ESC [ … letter: the cursor and colour sequences readline writes on a terminal. */
const TERMINAL_SEQUENCE = new RegExp(String.raw`\x1b\[[0-9;]*[A-Za-z]`, "g");

Deno.test({
  name: "client: Ctrl-C at the prompt ends the line and exits 130",
  ignore: Deno.build.os === "windows", // no pseudo-terminals for python's pty module
  async fn() {
    await using server = startServer({ hostname: LOCAL, port: 0 });
    const main = new URL("../main.ts", import.meta.url).pathname;
    const spec = {
      argv: [Deno.execPath(), "run", "-A", main, "client", "-q", "-p", String(server.addr.port)],
      env: { NO_COLOR: "1" },
      timeout: 20,
      steps: [
        { expect: "calc> " },
        { send: "1 + 1\r" },
        { expect: "Result: 2" },
        { expect: "calc> " },
        { send: "\u0003" },
      ],
    };
    const run = await runPython([fixturePath("pty_session.py"), JSON.stringify(spec)], "", {
      timeoutMs: 30_000,
    });
    const { output, exit, failed } = JSON.parse(run);
    assert.equal(failed, null, output);
    assert.equal(exit, 130, output);
    const afterPrompt = output.slice(output.lastIndexOf("calc> ") + "calc> ".length);
    assert.equal(afterPrompt.replace(TERMINAL_SEQUENCE, ""), "\r\n");
  },
});
