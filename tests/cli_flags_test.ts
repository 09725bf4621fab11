import assert from "node:assert/strict";
import {
  type CommandSpec,
  flag,
  parseFlags,
  parseHost,
  parseHostPort,
  renderHelp,
} from "../src/term/flags.ts";
import { closestMatch, editDistance } from "../src/term/suggest.ts";
import { UsageError } from "../src/base/errors.ts";

const FLAGS = {
  port: flag.integer("a port", { short: "p", value: "PORT", min: 0, max: 65535, default: 9999 }),
  steps: flag.boolean("steps", { short: "s" }),
  "proxy-port": flag.integer("the proxy's port", {
    min: 1,
    max: 65535,
    aliases: ["-pp", "--proxy_port"],
  }),
  server: flag.hostPort("a server", { default: "127.0.0.1:9999" }),
  wait: flag.seconds("a wait", { default: 0.5 }),
} as const;

const SPEC: CommandSpec<typeof FLAGS> = {
  name: "demo-spec",
  summary: "a command for the tests",
  positionals: "[EXPR...]",
  flags: FLAGS,
  examples: ["calcnet demo-spec -p 1"],
  permissions: [{ flag: "--allow-net" }],
};

Deno.test("parseFlags() applies defaults and reads short and long flags into typed values", () => {
  const defaults = parseFlags(SPEC, []).flags;
  assert.equal(defaults.port, 9999);
  assert.equal(defaults.steps, false);
  assert.equal(defaults.proxyPort, undefined);
  assert.deepEqual(defaults.server, { hostname: "127.0.0.1", port: 9999 });
  assert.equal(defaults.wait, 500);
  const args = parseFlags(SPEC, [
    "-p",
    "1234",
    "--steps",
    "1 + 1",
    "--wait=2",
    "--server",
    "[::1]:80",
  ]);
  assert.equal(args.flags.port, 1234);
  assert.equal(args.flags.steps, true);
  assert.equal(args.flags.wait, 2000);
  assert.deepEqual(args.flags.server, { hostname: "::1", port: 80 });
  assert.deepEqual([...args.given].sort(), ["port", "server", "steps", "wait"]);
  assert.deepEqual(args.positionals, ["1 + 1"]);
});

Deno.test("parseFlags() reads the course's spellings of a flag (-pp 9998, --proxy_port=9998)", () => {
  assert.equal(parseFlags(SPEC, ["-pp", "9998"]).flags.proxyPort, 9998);
  assert.equal(parseFlags(SPEC, ["--proxy_port=9997"]).flags.proxyPort, 9997);
  assert.match(renderHelp(SPEC), /--proxy-port N +the proxy's port \(also -pp, --proxy_port\)/);
});

Deno.test("parseFlags() takes '-2 ** 2' and '-(1)' as expressions, not flags", () => {
  const args = parseFlags(SPEC, ["-2 ** 2", "--steps", "-(1)", "-.5"]);
  assert.deepEqual(args.positionals, ["-2 ** 2", "-(1)", "-.5"]);
  assert.ok(args.flags.steps);
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

Deno.test("parseFlags() rejects values outside the range or not whole numbers, naming the flag", () => {
  for (const text of ["70000", "-1", "1.5", "abc", ""]) {
    assert.throws(
      () => parseFlags(SPEC, [`--port=${text}`]),
      (error: unknown) => error instanceof UsageError && error.message.startsWith("--port must be"),
      text,
    );
  }
  assert.equal(parseFlags(SPEC, ["--port", "0"]).flags.port, 0);
  assert.throws(() => parseFlags(SPEC, ["--wait", "-1"]), /--wait must be a number of seconds/);
});

Deno.test("parseFlags() names a value that looks like an expression as it was typed", () => {
  // "-1" and "-2.5" look like expressions, and are kept aside from the flags until parsed.
  assert.throws(
    () => parseFlags(SPEC, ["--wait", "-1", "1 + 1"]),
    (error: unknown) =>
      error instanceof UsageError &&
      error.message === "--wait must be a number of seconds (e.g. 0.5), not '-1'",
  );
  assert.throws(() => parseFlags(SPEC, ["-p", "-2.5"]), /--port must be .*, not '-2\.5'$/);
  assert.deepEqual(parseFlags(SPEC, ["--wait", "2", "-1"]).positionals, ["-1"]);
});

Deno.test("parseHost() takes names and addresses, and tells HOST:PORT to use --port", () => {
  for (const host of ["localhost", "127.0.0.1", "my-host.example", "::1", "fe80::1"]) {
    assert.equal(parseHost(host, "--host"), host);
  }
  assert.equal(parseHost("[::1]", "--host"), "::1");
  assert.throws(
    () => parseHost("127.0.0.1:9998", "--host"),
    (error: unknown) =>
      error instanceof UsageError &&
      error.message ===
        "--host takes a host without a port, not '127.0.0.1:9998': use --host 127.0.0.1 --port 9998",
  );
  assert.throws(() => parseHost("[::1]:80", "--host"), /use --host ::1 --port 80/);
  for (const bad of ["a b", "", "host/path", "::g"]) {
    assert.throws(() => parseHost(bad, "--host"), /is not a host name or address/, bad);
  }
});

Deno.test("parseFlags() refuses positionals a command does not take", () => {
  const noPositionals: CommandSpec<typeof FLAGS> = { ...SPEC, positionals: undefined };
  assert.throws(
    () => parseFlags(noPositionals, ["stray"]),
    (error: unknown) =>
      error instanceof UsageError && /unexpected argument 'stray'/.test(error.message),
  );
});

Deno.test("parseHostPort() reads HOST:PORT, [IPv6]:PORT and a bare port", () => {
  assert.deepEqual(parseHostPort("10.0.0.1:99", "--server"), { hostname: "10.0.0.1", port: 99 });
  assert.deepEqual(parseHostPort("[::1]:9999", "--server"), { hostname: "::1", port: 9999 });
  assert.deepEqual(parseHostPort("9999", "--server"), { hostname: "127.0.0.1", port: 9999 });
  for (const bad of ["host", "host:", "host:0", "host:70000", ":x", "a b:99", "[::g]:99"]) {
    assert.throws(() => parseHostPort(bad, "--server"), UsageError, bad);
  }
});

Deno.test("renderHelp() shows every flag, its default and the examples", () => {
  const help = renderHelp(SPEC);
  assert.match(help, /-p, --port PORT +a port \(default: 9999\)/);
  assert.match(help, /-s, --steps +steps/);
  assert.match(help, /--wait SECONDS +a wait \(default: 0.5\)/);
  assert.match(help, /-h, --help/);
  assert.match(help, /\nPermissions \(deno run\): --allow-net\.\n/);
  assert.match(help, /Examples:\n {2}calcnet demo-spec -p 1$/);
});

Deno.test("editDistance() counts a swap of neighbours as one edit", () => {
  assert.equal(editDistance("stesp", "steps"), 1);
  assert.equal(editDistance("sever", "server"), 1);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(closestMatch("clent", ["server", "proxy", "client"]), "client");
  assert.equal(closestMatch("xyz", ["server", "proxy", "client"]), undefined);
});
