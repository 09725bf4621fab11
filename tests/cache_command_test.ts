import assert from "node:assert/strict";
import { formatAge } from "../src/cli/cache_command.ts";
import { RELEASE_PERMISSIONS, runCli, startCli } from "./helpers/cli.ts";
import { withTempDir } from "./helpers/fs.ts";
import { CACHE_FILE_HEADER, cacheFileText, okResponse } from "./fixtures/cache_file_text.ts";
import { encodePacket } from "../src/protocol/header.ts";

/** Runs `calcnet cache ...args` with the release binary's permissions. */
function cache(args: readonly string[], env: Record<string, string> = {}) {
  return runCli(["cache", ...args], "", { env, permissions: RELEASE_PERMISSIONS });
}

/** A cache file of five entries, one of each kind `show` must tell apart. */
function sampleText(now: number): string {
  const text = cacheFileText([
    { expression: "max(2, 3) + 3", showSteps: true, result: 6n, timestamp: now - 37 },
    { expression: "(-2) ** 2", result: 4n, timestamp: now - 3 * 3600, cacheControl: 36_000 },
    { expression: "1 / 0", response: errorResponse(now) },
    { expression: "2 + 2", result: 4n, timestamp: now - 100, cacheControl: 60 },
    {
      expression: "7",
      response: encodePacket({
        timestamp: now,
        cacheResult: true,
        showSteps: false,
        isRequest: true,
        statusCode: 999,
        cacheControl: 60,
      }, new Uint8Array(4)),
    },
  ]);
  // A request whose data is no pickle (as a broken client might send), answered 400.
  const garbage = JSON.stringify({
    key_steps: false,
    request_data: btoa("garbage"),
    response: errorResponse(now).toBase64(),
  });
  return text.replace("\n]}\n", `,\n${garbage}\n]}\n`);
}

/** A 400 answer made 5 s ago, kept forever. */
function errorResponse(now: number): Uint8Array {
  return okResponse(0n, now - 5, 65535, 400);
}

Deno.test("calcnet cache show lists age, max-age, status, S, size and the expression", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    const now = Math.floor(Date.now() / 1000);
    await Deno.writeTextFile(path, sampleText(now));
    const result = await cache(["show", "--cache-file", path]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    const lines = result.stdout.trimEnd().split("\n");
    assert.match(
      lines[0] ?? "",
      new RegExp(`^cache file ${path}: 4 entries, \\d+ bytes of requests and answers$`),
    );
    assert.equal(lines[1], "least recently used first (as of the last save):");
    assert.match(lines[2] ?? "", /^ {2}age +max-age +status +S +size +expression$/);
    assert.match(lines[3] ?? "", /^ {2}3[7-9] s +forever +200 +S +\d+ +max\(2, 3\) \+ 3$/);
    assert.match(lines[4] ?? "", /^ {2}3 h +36000 s +200 +- +\d+ +\(-2\) \*\* 2$/);
    assert.match(lines[5] ?? "", /^ {2}[5-7] s +forever +400 +- +\d+ +1 \/ 0$/);
    assert.match(lines[6] ?? "", /^ {2}[5-7] s +forever +400 +- +\d+ +\(not an expression: .+\)$/);
    assert.equal(lines[7], "1 entry expired (not listed)");
    assert.equal(
      lines[8],
      "1 entry invalid, never served (first: line 6: a request packet (T=1), not a response)",
    );
    assert.equal(lines.length, 9);
  });
});

Deno.test("calcnet cache show --json: one document with snake_case keys", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    const now = Math.floor(Date.now() / 1000);
    await Deno.writeTextFile(path, sampleText(now));
    const result = await cache(["show", "--json", "--cache-file", path]);
    assert.equal(result.code, 0, result.stderr);
    const shown = JSON.parse(result.stdout);
    assert.deepEqual(Object.keys(shown), [
      "file",
      "exists",
      "count",
      "bytes",
      "expired",
      "dropped",
      "first_problem",
      "entries",
    ]);
    assert.equal(shown.file, path);
    assert.equal(shown.count, 4);
    assert.equal(shown.expired, 1);
    assert.equal(shown.dropped, 1);
    assert.match(shown.first_problem, /a request packet/);
    const [first, second] = shown.entries;
    assert.deepEqual(Object.keys(first), [
      "age_seconds",
      "max_age_seconds",
      "expires_in_seconds",
      "status",
      "steps",
      "request_bytes",
      "response_bytes",
      "expression",
      "expression_error",
    ]);
    assert.ok(first.age_seconds >= 37 && first.age_seconds <= 39);
    assert.equal(first.max_age_seconds, 65535);
    assert.equal(first.expires_in_seconds, null);
    assert.equal(first.status, 200);
    assert.equal(first.steps, true);
    assert.equal(first.expression, "max(2, 3) + 3");
    assert.equal(first.expression_error, null);
    assert.equal(second.expires_in_seconds, 36_000 - second.age_seconds);
    assert.equal(
      shown.bytes,
      shown.entries.reduce(
        (sum: number, e: { request_bytes: number; response_bytes: number }) =>
          sum + e.request_bytes + e.response_bytes,
        0,
      ),
    );
    assert.equal(shown.entries[3].expression, null);
    assert.match(shown.entries[3].expression_error, /\S/);
  });
});

Deno.test("calcnet cache show finds the default file of --server, and tells a missing one", async () => {
  await withTempDir(async (dir) => {
    const env = { XDG_CACHE_HOME: dir, HOME: dir };
    const path = `${dir}/calcnet/cache-127.0.0.1-9999.json`;
    const missing = await cache(["show"], env);
    assert.equal(missing.code, 0);
    assert.equal(missing.stdout, `cache file ${path}: no such file (no entries)\n`);
    await Deno.mkdir(`${dir}/calcnet`);
    await Deno.writeTextFile(path, cacheFileText([{ expression: "1 + 1" }]));
    for (const args of [["show"], ["show", "--server", "127.0.0.1:9999"]]) {
      const shown = await cache(args, env);
      assert.match(shown.stdout, new RegExp(`^cache file ${path}: 1 entry, `));
    }
    const other = await cache(["show", "--server", "[::1]:9999", "--json"], env);
    assert.equal(JSON.parse(other.stdout).file, `${dir}/calcnet/cache-__1-9999.json`);
    assert.deepEqual(
      [...Deno.readDirSync(`${dir}/calcnet`)].map((entry) => entry.name),
      ["cache-127.0.0.1-9999.json"],
      "show writes nothing",
    );
  });
});

Deno.test("calcnet cache clear empties the file, and refuses while a proxy holds it", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    await Deno.writeTextFile(path, cacheFileText([{ expression: "1 + 1" }, { expression: "2" }]));
    {
      await using proxy = await startCli(["proxy", "--port", "0", "--cache-file", path]);
      const refused = await cache(["clear", "--cache-file", path]);
      assert.equal(refused.code, 2);
      assert.match(
        refused.stderr,
        new RegExp(
          `^calcnet cache: cache file ${path} is in use by another calcnet proxy ` +
            `\\(pid ${proxy.child.pid}[^)]*\\); stop that proxy first or name another --cache-file\n$`,
        ),
      );
      assert.equal(refused.stdout, "");
      const shown = await cache(["show", "--cache-file", path]);
      assert.match(shown.stdout, /: 2 entries, /, "show works while the proxy runs");
    }
    const cleared = await cache(["clear", "--cache-file", path]);
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.equal(cleared.stdout, `cache file ${path}: cleared 2 entries\n`);
    const after = await cache(["show", "--json", "--cache-file", path]);
    assert.equal(JSON.parse(after.stdout).count, 0);
    const json = await cache(["clear", "--json", "--cache-file", path]);
    assert.deepEqual(JSON.parse(json.stdout), { file: path, existed: true, cleared: 0 });
    assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name), ["cache.json"]);
  });
});

Deno.test("calcnet cache refuses what it cannot use with one line, exit 2", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/notes.txt`, "notes\n");
    await Deno.writeTextFile(`${dir}/damaged.json`, `${CACHE_FILE_HEADER}\n{"trunc`);
    const cases: [args: string[], message: RegExp][] = [
      [[], /^calcnet cache: say what to do: 'calcnet cache show' or 'calcnet cache clear'$/],
      [
        ["shw"],
        /^calcnet cache: unknown action 'shw' \(did you mean 'show'\?\); use show or clear$/,
      ],
      [["show", "extra"], /^calcnet cache: unexpected argument 'extra'$/],
      [
        ["show", "--cache-file", "x.json", "--server", "127.0.0.1:1"],
        /^calcnet cache: give --cache-file or --server, not both$/,
      ],
      [["show", "--server", "nonsense"], /^calcnet cache: --server must be HOST:PORT/],
      [["show", "--cache-file", `${dir}/notes.txt`], /is not a calcnet cache file/],
      [["clear", "--cache-file", `${dir}/notes.txt`], /is not a calcnet cache file/],
      [["show", "--cache-file", dir], /is a directory; name a file/],
      [["show", "--cache-file", `${dir}/damaged.json`], /is damaged \(line 2: /],
    ];
    for (const [args, message] of cases) {
      const result = await cache(args);
      assert.equal(result.code, 2, args.join(" "));
      assert.match(result.stderr.trimEnd(), message);
      assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    }
    assert.equal(await Deno.readTextFile(`${dir}/notes.txt`), "notes\n");
  });
});

Deno.test("calcnet cache is listed in the help, with its own help", async () => {
  const top = await runCli(["--help"]);
  assert.match(top.stdout, /\n {2}cache +show or empty a proxy's cache file\n/);
  const own = await runCli(["cache", "--help"]);
  assert.equal(own.code, 0);
  assert.match(own.stdout, /^Usage: calcnet cache \[options\] show\|clear$/m);
});

Deno.test("formatAge() keeps ages short", () => {
  const cases: [seconds: number, text: string][] = [
    [0, "0 s"],
    [37, "37 s"],
    [119, "119 s"],
    [120, "2 min"],
    [7199, "119 min"],
    [7200, "2 h"],
    [3 * 86400 + 5, "3 d"],
    [-4, "-4 s"],
  ];
  for (const [seconds, text] of cases) assert.equal(formatAge(seconds), text);
});
