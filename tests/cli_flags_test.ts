import assert from "node:assert/strict";
import {
  type CommandSpec,
  integerFlag,
  parseFlags,
  parseHostPort,
  renderHelp,
} from "../src/cli/flags.ts";
import { closestMatch, editDistance } from "../src/cli/suggest.ts";
import { UsageError } from "../src/errors.ts";

const SPEC: CommandSpec = {
  name: "demo-spec",
  summary: "a command for the tests",
  positionals: "[EXPR...]",
  flags: {
    port: { type: "string", short: "p", value: "PORT", description: "a port", default: "9999" },
    steps: { type: "boolean", short: "s", description: "steps" },
  },
  examples: ["calcnet demo-spec -p 1"],
};

Deno.test("parseFlags() applies defaults and reads short and long flags", () => {
  assert.equal(parseFlags(SPEC, []).strings.get("port"), "9999");
  const args = parseFlags(SPEC, ["-p", "1234", "--steps", "1 + 1"]);
  assert.equal(args.strings.get("port"), "1234");
  assert.ok(args.booleans.has("steps"));
  assert.deepEqual(args.positionals, ["1 + 1"]);
});

Deno.test("parseFlags() takes '-2 ** 2' and '-(1)' as expressions, not flags", () => {
  const args = parseFlags(SPEC, ["-2 ** 2", "--steps", "-(1)", "-.5"]);
  assert.deepEqual(args.positionals, ["-2 ** 2", "-(1)", "-.5"]);
  assert.ok(args.booleans.has("steps"));
});

Deno.test("parseFlags() rejects an unknown flag with the closest one", () => {
  assert.throws(
    () => parseFlags(SPEC, ["--prot", "1"]),
    (error: unknown) =>
      error instanceof UsageError &&
      /unknown flag --prot .*did you mean --port\?/.test(error.message),
  );
  assert.throws(
    () => parseFlags(SPEC, ["--zzzzzz"]),
    (error: unknown) => error instanceof UsageError && !error.message.includes("did you mean"),
  );
});

Deno.test("integerFlag() rejects values outside the range or not whole numbers", () => {
  for (const text of ["70000", "-1", "1.5", "abc", ""]) {
    assert.throws(
      () => integerFlag(parseFlags(SPEC, ["--port", text]), "port", 0, 65535),
      UsageError,
      text,
    );
  }
  assert.equal(integerFlag(parseFlags(SPEC, ["--port", "0"]), "port", 0, 65535), 0);
});

Deno.test("parseHostPort() reads HOST:PORT, [IPv6]:PORT and a bare port", () => {
  assert.deepEqual(parseHostPort("10.0.0.1:99", "--server"), { hostname: "10.0.0.1", port: 99 });
  assert.deepEqual(parseHostPort("[::1]:9999", "--server"), { hostname: "::1", port: 9999 });
  assert.deepEqual(parseHostPort("9999", "--server"), { hostname: "127.0.0.1", port: 9999 });
  for (const bad of ["host", "host:", "host:0", "host:70000", ":x"]) {
    assert.throws(() => parseHostPort(bad, "--server"), UsageError, bad);
  }
});

Deno.test("renderHelp() shows every flag, its default and the examples", () => {
  const help = renderHelp(SPEC);
  assert.match(help, /-p, --port PORT +a port \(default: 9999\)/);
  assert.match(help, /-s, --steps +steps/);
  assert.match(help, /-h, --help/);
  assert.match(help, /Examples:\n {2}calcnet demo-spec -p 1$/);
});

Deno.test("editDistance() counts a swap of neighbours as one edit", () => {
  assert.equal(editDistance("stesp", "steps"), 1);
  assert.equal(editDistance("sever", "server"), 1);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(closestMatch("clent", ["server", "proxy", "client"]), "client");
  assert.equal(closestMatch("xyz", ["server", "proxy", "client"]), undefined);
});
