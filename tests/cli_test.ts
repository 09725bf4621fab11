import assert from "node:assert/strict";
import { runCli, startCli } from "./helpers/cli.ts";

Deno.test("calcnet --help lists every subcommand; --version prints the version", async () => {
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  for (const name of ["server", "proxy", "client", "demo"]) {
    assert.match(help.stdout, new RegExp(`\\n  ${name} `));
  }
  const version = await runCli(["--version"]);
  assert.match(version.stdout, /^calcnet \d+\.\d+\.\d+\n$/);
});

Deno.test("calcnet <subcommand> -h shows every flag with its default and an example", async () => {
  const help = await runCli(["client", "-h"]);
  assert.equal(help.code, 0);
  for (const flag of ["--host", "--port", "--steps", "--no-cache", "--max-age", "--json"]) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  assert.match(help.stdout, /\(default: 9999\)/);
  assert.match(help.stdout, /Examples:\n {2}calcnet client/);
});

Deno.test("calcnet help client shows the client's help; help alone the top-level help", async () => {
  const client = await runCli(["help", "client"]);
  assert.equal(client.code, 0);
  assert.equal(client.stdout, (await runCli(["client", "--help"])).stdout);
  assert.match(client.stdout, /^calcnet client — /);
  const top = await runCli(["help"]);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^calcnet \d+\.\d+\.\d+ — /);
  assert.match(top.stdout, /\nExit status: 0 done, 1 /);
});

Deno.test("calcnet with no subcommand prints the help on stderr and exits 2", async () => {
  const result = await runCli([]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^calcnet \d+\.\d+\.\d+ — .*\nUsage: calcnet <command>/s);
});

Deno.test("an unknown subcommand is a usage error that suggests the closest", async () => {
  const result = await runCli(["sever"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown command 'sever' \(did you mean 'server'\?\)/);
});

Deno.test("an unknown flag is a usage error that suggests the closest", async () => {
  const result = await runCli(["client", "--stesp", "1 + 1"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown flag --stesp .*did you mean --steps\?/);
  assert.equal(result.stderr.trim().split("\n").length, 1);
});

Deno.test("client: a parse error exits 2 with a caret under the column", async () => {
  const result = await runCli(["client", "--port", "1", "1 + * 2"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /\^/);
  assert.doesNotMatch(result.stderr, / {4}at /);
});

Deno.test("client: a refused connection exits 3 with one line, no stack trace", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const result = await runCli(["client", "--port", String(port), "1 + 1"]);
  assert.equal(result.code, 3);
  assert.match(result.stderr, /^calcnet client: cannot connect to 127\.0\.0\.1:\d+: .*\n$/);
});

Deno.test("server and client: the course's printout, exit codes, --json, and a clean SIGTERM", async (t) => {
  await using server = await startCli(["server", "--port", "0"]);
  const port = String(server.port);
  await t.step("steps as the course client prints them", async () => {
    const result = await runCli(["client", "-p", port, "--steps", "max(2, 3) + 3"]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "Result: 6\nSteps:\nmax(2, 3) + 3 = 3 + 3\n              = 6\n");
    assert.match(result.stderr, /Connection established\n.*Sending request of length 376 bytes/);
  });
  await t.step("a server error exits 1", async () => {
    const result = await runCli(["client", "-p", port, "-q", "2 + 2", "1 / 0"]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "Result: 4\nGot error: division by zero\n");
    assert.equal(result.stderr, "");
  });
  await t.step("--json prints one object per answer", async () => {
    const result = await runCli(["client", "-p", port, "--json", "2 ** 100", "-2 ** 2"]);
    const records = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(records.map((r) => [r.result, r.type, r.status]), [
      ["1267650600228229401496703205376", "int", 200],
      ["-4", "int", 200],
    ]);
  });
  await t.step("the interactive session takes examples as #N until exit", async () => {
    const result = await runCli(["client", "-p", port, "-q"], "#2\n1 + 2\nexit\n6\n");
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "Result: 6\nResult: 3\n");
  });
  await t.step("SIGTERM stops the server with status 0", async () => {
    const status = await server.stop("SIGTERM");
    assert.equal(status.code, 0);
    assert.match(server.stderr(), /request \d+ B -> 200/);
  });
});

Deno.test("server --quiet answers but logs no request lines", async () => {
  await using server = await startCli(["server", "--port", "0", "--quiet", "--max-depth", "3"]);
  const port = String(server.port);
  const result = await runCli(["client", "-p", port, "-q", "2 + 2", "- - - - 1"]);
  assert.equal(
    result.stdout,
    "Result: 4\nGot error: Received data could not be deserialized\n",
    "--max-depth reaches the decoder",
  );
  const status = await server.stop("SIGTERM");
  assert.equal(status.code, 0);
  assert.doesNotMatch(server.stderr(), /request \d+ B/);
  assert.doesNotMatch(server.stderr(), /server stopped/);
});

Deno.test("server: a port in use is a one-line error, exit 3", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const result = await runCli(["server", "--port", String((listener.addr as Deno.NetAddr).port)]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /^calcnet server: cannot listen on 127\.0\.0\.1:\d+: .*\n$/);
  } finally {
    listener.close();
  }
});
