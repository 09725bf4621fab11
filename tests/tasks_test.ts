/**
 * deno.json's tasks mean what they say: `deno task <subcommand>` runs that
 * subcommand with the permissions its help lists (and they suffice), the
 * project's own jobs have their own names, `deno task install` gives a
 * `calcnet` command offline, and the release's permissions and V8 flags
 * are the same wherever they are written.
 */

import assert from "node:assert/strict";
import { COMMANDS } from "../main.ts";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import denoConfig from "../deno.json" with { type: "json" };
import type { CommandSpec } from "../src/term/flags.ts";
import { CALCNET_V8_FLAGS } from "../src/bench/service_process.ts";
import { encodeExpr } from "../src/pickle/mod.ts";
import { parseExpression } from "../src/calc/parser.ts";
import { DEFAULT_REQUEST_FLAGS, requestPacket } from "../src/protocol/mod.ts";
import { RELEASE_PERMISSIONS, runCli, startCli } from "./helpers/cli.ts";
import { withTempDir } from "./helpers/fs.ts";
import { toHex } from "./helpers/bytes.ts";
import { delay } from "./helpers/net.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Every subcommand's interface. */
const SPECS: readonly CommandSpec[] = Object.values(COMMANDS).map((command) => command.spec);

type TaskName = keyof typeof denoConfig.tasks;

/** The words of a task's command. */
function taskWords(name: string): string[] {
  const task = (denoConfig.tasks as Record<string, { command: string } | undefined>)[name];
  assert.ok(task, `deno.json has no task '${name}'`);
  return task.command.split(/\s+/);
}

/** The flags `deno run` gets in the task of subcommand `name` (between "run" and "main.ts"). */
function denoFlagsOf(name: string): string[] {
  const words = taskWords(name);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"], `task ${name}`);
  assert.deepEqual(words.slice(-2), ["main.ts", name], `task ${name} runs calcnet ${name}`);
  return words.slice(2, -2);
}

const permissionFlags = (words: readonly string[]): string[] =>
  words.filter((word) => word.startsWith("--allow-")).toSorted();

const v8Flags = (words: readonly string[]): string[] =>
  words.filter((word) => word.startsWith("--v8-flags="));

/** Runs `deno task ...args` in the project and returns what it printed. */
async function denoTask(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", ...args],
    cwd: ROOT,
    stdin: "null",
    env: { ...env, NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("every subcommand has a task that runs it with exactly the permissions its help lists", async () => {
  const help = await runCli(["--help"]);
  const listed = [...help.stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((match) => match[1]);
  assert.deepEqual(
    listed.toSorted(),
    SPECS.map((spec) => spec.name).toSorted(),
    "the specs are every subcommand",
  );
  for (const spec of SPECS) {
    assert.deepEqual(
      permissionFlags(denoFlagsOf(spec.name)),
      spec.permissions.map((need) => need.flag).toSorted(),
      `deno task ${spec.name}`,
    );
  }
  const check = await runCli(["check", "--help"]);
  assert.match(
    check.stdout,
    /\nPermissions \(deno run\): --allow-net, --allow-run \(for --stop-server-cmd\)\.\n/,
  );
});

Deno.test("deno task <subcommand> passes its flags through to that subcommand", async () => {
  const results = await Promise.all(SPECS.map((spec) => denoTask([spec.name, "--help"])));
  results.forEach((result, i) => {
    const name = SPECS[i]?.name;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.startsWith(`calcnet ${name} — `), `deno task ${name} --help`);
  });
});

Deno.test("the project's own jobs have their own names; CI calls deno task verify", async () => {
  assert.deepEqual(taskWords("verify").join(" ").split(" && "), [
    "deno fmt --check",
    "deno lint",
    "deno check main.ts src/ tests/",
    "deno doc --lint main.ts src/",
  ]);
  assert.match(taskWords("bench-suite").join(" "), /src\/bench\/suite_main\.ts$/);
  assert.match(taskWords("test").join(" "), /^deno test /);
  const ci = await Deno.readTextFile(join(ROOT, ".github/workflows/ci.yml"));
  assert.match(ci, /run: deno task verify\n/);
  assert.doesNotMatch(ci, /deno task check/);
});

/** The words of the release workflow's `deno compile` command. */
async function releaseCompileWords(): Promise<string[]> {
  const workflow = await Deno.readTextFile(join(ROOT, ".github/workflows/release.yml"));
  const command = /deno compile[^]*?main\.ts/.exec(workflow)?.[0];
  assert.ok(command, "release.yml compiles main.ts");
  return command.split(/\s+/);
}

Deno.test("the release's permissions and V8 flags are the same in every place they are written", async () => {
  const release = await releaseCompileWords();
  const expected = RELEASE_PERMISSIONS.toSorted();
  for (
    const [place, words] of [
      ["release.yml", release],
      ["task compile", taskWords("compile")],
      ["task install", taskWords("install")],
    ] as const
  ) {
    assert.deepEqual(permissionFlags(words), expected, place);
    assert.deepEqual(v8Flags(words), [CALCNET_V8_FLAGS], place);
  }
  for (const name of ["server", "proxy"] satisfies TaskName[]) {
    assert.deepEqual(v8Flags(denoFlagsOf(name)), [CALCNET_V8_FLAGS], `task ${name}`);
  }
});

Deno.test("deno task install gives a calcnet command that works offline", async () => {
  await using server = await startCli(["server", "--port", "0"]);
  await withTempDir(async (root) => {
    // Offline: any download would go to a proxy that is not there.
    const offline = { HTTP_PROXY: "http://127.0.0.1:9", HTTPS_PROXY: "http://127.0.0.1:9" };
    const install = await denoTask(["install"], { DENO_INSTALL_ROOT: root, ...offline });
    assert.equal(install.code, 0, install.stderr);
    const windows = Deno.build.os === "windows";
    const calcnet = join(root, "bin", windows ? "calcnet.cmd" : "calcnet");
    const shim = await Deno.readTextFile(calcnet);
    for (const word of [...RELEASE_PERMISSIONS, CALCNET_V8_FLAGS]) {
      assert.ok(shim.includes(word), word);
    }
    const env = {
      ...offline,
      NO_COLOR: "1",
      PATH: `${dirname(Deno.execPath())}${delimiter}${Deno.env.get("PATH") ?? ""}`,
    };
    const run = async (...args: string[]): Promise<string> => {
      const output = await new Deno.Command(calcnet, { args, env, stdin: "null" }).output();
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      return new TextDecoder().decode(output.stdout);
    };
    assert.equal(await run("--version"), `calcnet ${denoConfig.version}\n`);
    assert.equal(
      await run("client", "-p", String(server.port), "-q", "max(2, 3) + 3"),
      "Result: 6\n",
    );
  }, "calcnet-install-");
});

Deno.test("each subcommand does its work with only its task's permissions", async (t) => {
  await withTempDir(async (dir) => {
    const env = { XDG_CACHE_HOME: join(dir, "cache"), HOME: dir, APPDATA: dir };
    const as = (name: string) => ({ permissions: denoFlagsOf(name), env, timeoutMs: 60_000 });
    const ok = async (args: string[]): Promise<string> => {
      const result = await runCli(args, "", as(args[0] ?? ""));
      assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
      return result.stdout;
    };
    await using server = await startCli(["server", "--port", "0"], as("server"));
    const serverAt = `127.0.0.1:${server.port}`;
    await using proxy = await startCli(["proxy", "--port", "0", "--server", serverAt], as("proxy"));
    const proxyAt = `127.0.0.1:${proxy.port}`;
    await t.step("server, proxy and client", async () => {
      assert.equal(await ok(["client", "-p", String(proxy.port), "-q", "1 + 1"]), "Result: 2\n");
    });
    await t.step("demo", async () => void await ok(["demo"]));
    await t.step(
      "bench",
      async () => void await ok(["bench", "--target", proxyAt, "--requests", "20"]),
    );
    await t.step("decode", async () => {
      const hex = join(dir, "request.hex");
      const packet = requestPacket(encodeExpr(parseExpression("1 + 2")), DEFAULT_REQUEST_FLAGS);
      await Deno.writeTextFile(hex, toHex(packet));
      assert.match(await ok(["decode", hex]), /1 \+ 2/);
    });
    await t.step("wireshark", async () => void await ok(["wireshark", "install"]));
    await t.step("check, stopping the server with --stop-server-cmd", async () => {
      const pid = server.child.pid;
      const stop = Deno.build.os === "windows" ? `taskkill /F /PID ${pid}` : `kill ${pid}`;
      const out = await ok([
        "check",
        "--proxy",
        proxyAt,
        "--server",
        serverAt,
        "--only",
        "proxy",
        "--stop-server-cmd",
        stop,
      ]);
      assert.match(out, /PASS {2}proxy-down\/cached-served/);
    });
    await t.step("cache", async () => {
      // The proxy saves its cache within about a second of a change.
      const deadline = Date.now() + 5000;
      let shown = await ok(["cache", "show", "--server", serverAt]);
      while (shown.includes("no such file") && Date.now() < deadline) {
        await delay(100);
        shown = await ok(["cache", "show", "--server", serverAt]);
      }
      assert.match(shown, /: \d+ entr(y|ies), /);
      assert.match(
        await ok(["cache", "clear", "--cache-file", join(dir, "lab.json")]),
        /no such file/,
      );
    });
  }, "calcnet-tasks-");
});
