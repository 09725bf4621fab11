import assert from "node:assert/strict";
import { encodePacket } from "../src/protocol/header.ts";
import { RELEASE_PERMISSIONS, runCli, startCli } from "./helpers/cli.ts";
import { delay } from "./helpers/net.ts";
import { exists, withTempDir } from "./helpers/fs.ts";
import { cacheFileText } from "./fixtures/cache_file_text.ts";
import { encodeExpr } from "../src/pickle/mod.ts";
import { parseExpression } from "../src/calc/parser.ts";

/** The course proxy's answer when the server is down and nothing fresh is cached. */
const SERVER_DOWN =
  "Got error: ('Internal proxy error', CalculatorServerError('Connection refused by server and the request was not in the cache/it was stale'))\n";

/**
 * How to run a proxy that must refuse to start: with the release binary's
 * permissions, killed after 5 s should it start serving instead.
 */
const START_REFUSED = { permissions: RELEASE_PERMISSIONS, timeoutMs: 5000 };

/** A port on 127.0.0.1 where nothing listens (it was free a moment ago). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** How many times `pattern` occurs in `text`. */
function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, "g"))?.length ?? 0;
}

/** Waits up to `ms` for `condition`. */
async function eventually(condition: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await delay(20);
  }
  return true;
}

Deno.test("calcnet proxy: the cache survives SIGKILL and serves with the server gone", async () => {
  await withTempDir(async (dir) => {
    const cacheFile = `${dir}/cache.json`;
    const server = await startCli(["server", "--port", "0", "--quiet"]);
    let killedPid: number;
    {
      await using proxy = await startCli([
        "proxy",
        "--port",
        "0",
        "--server",
        `127.0.0.1:${server.port}`,
        "--cache-file",
        cacheFile,
      ]);
      killedPid = proxy.child.pid;
      const first = await runCli([
        "client",
        "-p",
        String(proxy.port),
        "-q",
        "--steps",
        "max(2, 3) + 3",
      ]);
      assert.equal(first.code, 0);
      await delay(1600);
      await proxy.stop("SIGKILL");
    }
    await server.stop();
    const info = await Deno.stat(cacheFile);
    if (Deno.build.os !== "windows") assert.equal((info.mode ?? 0) & 0o777, 0o600);
    assert.ok(await exists(`${cacheFile}.lock`), "a killed proxy leaves its lock file");
    await using restarted = await startCli([
      "proxy",
      "--port",
      "0",
      "--server",
      `127.0.0.1:${server.port}`,
      "--cache-file",
      cacheFile,
    ]);
    assert.match(restarted.stderr(), new RegExp(`cache ${cacheFile} \\(1 entry loaded\\)`));
    assert.match(
      restarted.stderr(),
      new RegExp(
        `calcnet proxy: took over the lock of cache file ${cacheFile} from pid ${killedPid}( on host \\S+)?, ` +
          "which ended without releasing it\n",
      ),
    );
    const again = await runCli([
      "client",
      "-p",
      String(restarted.port),
      "-q",
      "--steps",
      "max(2, 3) + 3",
    ]);
    assert.equal(again.code, 0);
    assert.match(
      again.stdout,
      /^Result: 6 {3}\(cached, \d+ s old\)\nSteps:\nmax\(2, 3\) \+ 3 = 3 \+ 3\n {14}= 6\n$/,
    );
    const uncached = await runCli(["client", "-p", String(restarted.port), "-q", "1 + 1"]);
    assert.equal(uncached.code, 1);
    assert.equal(uncached.stdout, SERVER_DOWN);
    // The counters on demand (SIGUSR2: POSIX only; Windows prints them at exit only).
    if (Deno.build.os !== "windows") {
      restarted.child.kill("SIGUSR2");
      assert.ok(await eventually(() => /calcnet proxy: hits 1/.test(restarted.stderr()), 1000));
      assert.match(restarted.stderr(), /calcnet proxy: hits 1, misses 0/);
    }
    const status = await restarted.stop("SIGTERM");
    assert.equal(status.code, 0);
    assert.match(
      restarted.stderr(),
      /hits 1, misses 0, stale 0, bypasses 0, coalesced 0, errors 1/,
    );
    assert.equal(await exists(`${cacheFile}.lock`), false, "the lock is released at exit");
  });
});

Deno.test("calcnet proxy: a damaged cache file is set aside and the proxy still starts", async () => {
  await withTempDir(async (dir) => {
    const cacheFile = `${dir}/cache.json`;
    await Deno.writeTextFile(
      cacheFile,
      '{"format":"calcnet-cache","version":1,"saved_at":1,"entries":[\n{"trunc',
    );
    await using proxy = await startCli(["proxy", "--port", "0", "--cache-file", cacheFile]);
    assert.match(
      proxy.stderr(),
      /calcnet proxy: cache file \S+ is damaged \(line 2: .*\); moved it to \S+\.corrupt-\d+; starting with an empty cache\n/,
    );
    const names = [...Deno.readDirSync(dir)].map((entry) => entry.name);
    assert.ok(names.some((name) => name.startsWith("cache.json.corrupt-")), names.join());
  });
});

Deno.test("calcnet proxy: the default cache file is one per server, and says so at start", async () => {
  await withTempDir(async (dir) => {
    const env = { XDG_CACHE_HOME: dir, HOME: dir };
    const [first, second] = [closedPort(), closedPort()];
    const expected = (port: number): string => `${dir}/calcnet/cache-127.0.0.1-${port}.json`;
    for (const port of [first, second]) {
      // The release binary's permissions: no --allow-sys, --allow-run or /proc.
      await using proxy = await startCli(
        ["proxy", "--port", "0", "--server", `127.0.0.1:${port}`],
        { env, permissions: RELEASE_PERMISSIONS },
      );
      assert.match(
        proxy.stderr(),
        new RegExp(
          `, server 127\\.0\\.0\\.1:${port}, cache ${expected(port)} \\(0 entries loaded\\)\n`,
        ),
      );
      const holder = JSON.parse(await Deno.readTextFile(`${expected(port)}.lock`));
      assert.equal(holder.pid, proxy.child.pid);
      assert.equal(typeof holder.host, "string");
    }
    assert.deepEqual(
      [...Deno.readDirSync(`${dir}/calcnet`)].map((entry) => entry.name).sort(),
      [],
      "the locks are released and nothing was cached",
    );
  });
});

Deno.test("calcnet proxy: a second proxy on the same cache file stops at once, naming the pid", async () => {
  await withTempDir(async (dir) => {
    const cacheFile = `${dir}/cache.json`;
    await using first = await startCli(
      ["proxy", "--port", "0", "--server", `127.0.0.1:${closedPort()}`, "--cache-file", cacheFile],
      { permissions: RELEASE_PERMISSIONS },
    );
    const second = await runCli(
      ["proxy", "--port", "0", "--server", `127.0.0.1:${closedPort()}`, "--cache-file", cacheFile],
      "",
      START_REFUSED,
    );
    assert.equal(second.code, 2);
    assert.match(
      second.stderr,
      new RegExp(
        `^calcnet proxy: cache file ${cacheFile} is in use by another calcnet proxy ` +
          `\\(pid ${first.child.pid}( on host \\S+)?; lock file ${cacheFile}\\.lock\\); ` +
          "stop that proxy first or name another --cache-file\n$",
      ),
    );
    assert.doesNotMatch(first.stderr(), /took over/);
  });
});

Deno.test("calcnet proxy: an unusable cache path stops it at start with one line, exit 2", async (t) => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/folder`);
    await Deno.writeTextFile(`${dir}/notes.txt`, "not a cache\n");
    await Deno.writeTextFile(`${dir}/plain`, "x");
    const cases: [name: string, path: string, message: RegExp][] = [
      ["a directory", `${dir}/folder`, /is a directory; name a file, e\.g\. /],
      ["a file that is not JSON", `${dir}/notes.txt`, /is not a calcnet cache file \(line 1: /],
      ["a folder that is a file", `${dir}/plain/cache.json`, /cannot create the directory: /],
      ...(Deno.build.os === "linux"
        ? [
          [
            "an unwritable folder",
            "/sys/calcnet.json",
            // Deno itself refuses /sys without --allow-all; a non-root user's own
            // read-only folder gives "Permission denied" on the same line.
            /^calcnet proxy: cannot use cache file \/sys\/calcnet\.json: /,
          ] as [
            string,
            string,
            RegExp,
          ],
        ]
        : []),
    ];
    for (const [name, path, message] of cases) {
      await t.step(name, async () => {
        const result = await runCli(
          ["proxy", "--port", "0", "--cache-file", path],
          "",
          START_REFUSED,
        );
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, /^calcnet proxy: [^\n]+\n$/);
        assert.match(result.stderr, message);
        assert.doesNotMatch(result.stderr, /listening/);
      });
    }
    assert.equal(await Deno.readTextFile(`${dir}/notes.txt`), "not a cache\n");
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((entry) => entry.name).sort(),
      ["folder", "notes.txt", "plain"],
    );
  });
});

Deno.test("calcnet proxy: an entry that is a request with status 999 is dropped, never served", async () => {
  await withTempDir(async (dir) => {
    const cacheFile = `${dir}/cache.json`;
    const data = encodeExpr(parseExpression("1 + 1"));
    const bogus = (steps: boolean): Uint8Array =>
      encodePacket({
        timestamp: Math.floor(Date.now() / 1000),
        cacheResult: true,
        showSteps: steps,
        isRequest: true,
        statusCode: 999,
        cacheControl: 65535,
      }, data);
    await Deno.writeTextFile(
      cacheFile,
      cacheFileText([
        { expression: "1 + 1", response: bogus(false) },
        { expression: "1 + 1", showSteps: true, response: bogus(true) },
        { expression: "2 + 2", result: 4n, timestamp: Math.floor(Date.now() / 1000) - 60 },
      ]),
    );
    await using proxy = await startCli([
      "proxy",
      "--port",
      "0",
      "--server",
      `127.0.0.1:${closedPort()}`,
      "--cache-file",
      cacheFile,
    ]);
    for (const flags of [[], ["--steps"]]) {
      const asked = await runCli(["client", "-p", String(proxy.port), "-q", ...flags, "1 + 1"]);
      assert.equal(asked.code, 1);
      assert.equal(asked.stdout, SERVER_DOWN);
    }
    assert.match(
      proxy.stderr(),
      new RegExp(
        `calcnet proxy: cache file ${cacheFile}: dropped 2 invalid entries, never to be served ` +
          "\\(first: line 2: a request packet \\(T=1\\), not a response\\)\n",
      ),
    );
    assert.match(proxy.stderr(), /\(1 entry loaded\)/);
    const valid = await runCli(["client", "-p", String(proxy.port), "-q", "2 + 2"]);
    assert.match(valid.stdout, /^Result: 4 {3}\(cached, \d+ s old\)\n$/);
  });
});

Deno.test("calcnet proxy --fresh: starts empty, keeps the previous file as .old and says so", async () => {
  await withTempDir(async (dir) => {
    const cacheFile = `${dir}/cache.json`;
    // A stored answer the server would never give: seeing it means it came from the file.
    const aMinuteAgo = Math.floor(Date.now() / 1000) - 60;
    const text = cacheFileText([{ expression: "1 + 1", result: 42n, timestamp: aMinuteAgo }]);
    await Deno.writeTextFile(cacheFile, text);
    await using server = await startCli(["server", "--port", "0", "--quiet"]);
    const args = [
      "proxy",
      "--port",
      "0",
      "--server",
      `127.0.0.1:${server.port}`,
      "--cache-file",
      cacheFile,
    ];
    {
      await using proxy = await startCli(args);
      const asked = await runCli(["client", "-p", String(proxy.port), "-q", "1 + 1"]);
      assert.match(
        asked.stdout,
        /^Result: 42 {3}\(cached, \d+ s old\)\n$/,
        "without --fresh the file's answer is served",
      );
    }
    await using fresh = await startCli([...args, "--fresh"]);
    assert.match(
      fresh.stderr(),
      new RegExp(
        `cache ${cacheFile} \\(fresh start; the previous 1 entry kept in ${cacheFile}\\.old\\)\n`,
      ),
    );
    const asked = await runCli(["client", "-p", String(fresh.port), "-q", "1 + 1"]);
    assert.equal(asked.stdout, "Result: 2\n");
    assert.equal(await Deno.readTextFile(`${cacheFile}.old`), text);
  });
});

Deno.test({
  name: "calcnet proxy --quiet: a failing save is logged once, and once more when it recovers",
  // POSIX only: its save failure (a rename over a non-empty directory) is unchecked on Windows.
  ignore: Deno.build.os === "windows",
  async fn() {
    await withTempDir(async (dir) => {
      const cacheFile = `${dir}/cache.json`;
      await using server = await startCli(["server", "--port", "0", "--quiet"]);
      await using proxy = await startCli([
        "proxy",
        "--port",
        "0",
        "--quiet",
        "--server",
        `127.0.0.1:${server.port}`,
        "--cache-file",
        cacheFile,
      ]);
      // A non-empty directory where the file goes: every save fails at its rename.
      await Deno.mkdir(cacheFile);
      await Deno.writeTextFile(`${cacheFile}/inside`, "x");
      const failing = /cache file: cannot save the cache to \S+: cannot replace the file: /;
      assert.equal((await runCli(["client", "-p", String(proxy.port), "-q", "1 + 1"])).code, 0);
      assert.ok(await eventually(() => failing.test(proxy.stderr())), proxy.stderr());
      await delay(2500); // two more failed saves
      assert.equal(count(proxy.stderr(), failing), 1, proxy.stderr());

      await Deno.remove(cacheFile, { recursive: true });
      const recovered = /cache file: cache saves to \S+ work again/;
      assert.ok(await eventually(() => recovered.test(proxy.stderr())), proxy.stderr());
      await delay(1200);
      assert.equal(count(proxy.stderr(), recovered), 1);
      assert.doesNotMatch(proxy.stderr(), /MISS|HIT/, "--quiet still drops per-request lines");
      assert.ok(await exists(cacheFile));
    });
  },
});

Deno.test({
  name: "calcnet proxy on a symbolic link saves through it to its target, and says so at start",
  ignore: Deno.build.os === "windows", // creating symbolic links needs extra rights on Windows
  async fn() {
    await withTempDir(async (dir) => {
      await Deno.mkdir(`${dir}/real`);
      const target = `${dir}/real/cache.json`;
      const link = `${dir}/link.json`;
      await Deno.writeTextFile(target, cacheFileText([{ expression: "2 + 2", result: 4n }]));
      await Deno.symlink("real/cache.json", link);
      await using server = await startCli(["server", "--port", "0", "--quiet"]);
      {
        await using proxy = await startCli([
          "proxy",
          "--port",
          "0",
          "--server",
          `127.0.0.1:${server.port}`,
          "--cache-file",
          link,
        ]);
        assert.match(
          proxy.stderr(),
          new RegExp(`cache ${link} -> ${target} \\(1 entry loaded\\)\n`),
        );
        assert.equal((await runCli(["client", "-p", String(proxy.port), "-q", "1 + 1"])).code, 0);
      }
      assert.equal(await Deno.readLink(link), "real/cache.json");
      const shown = await runCli(["cache", "show", "--json", "--cache-file", target]);
      assert.deepEqual(
        JSON.parse(shown.stdout).entries.map((entry: { expression: string }) => entry.expression),
        ["2 + 2", "1 + 1"],
      );
      assert.deepEqual([...Deno.readDirSync(`${dir}/real`)].map((entry) => entry.name), [
        "cache.json",
      ]);
    });
  },
});
