/**
 * Every failure a user can cause, through the CLI as the release runs it
 * (its permissions, not -A): one line on stderr, no stack trace, the
 * documented exit code.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { RELEASE_PERMISSIONS, runCli } from "./helpers/cli.ts";
import { withTempDir } from "./helpers/fs.ts";

/** One failure: the command line, how it is run, and what it must end with. */
interface Row {
  readonly args: readonly string[];
  /** Deno's permission flags (default: the release's). */
  readonly permissions?: readonly string[];
  readonly code: number;
  /** The one line on stderr, after "calcnet <command>: ". */
  readonly message: RegExp;
}

/** A port nothing listens on. */
function closedPort(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return String(port);
}

/** The table, with files made in `dir`: a folder, a file that is no cache, a missing file. */
function rows(dir: string): Row[] {
  const folder = join(dir, "a-folder");
  const notCache = join(dir, "notes.txt");
  const missing = join(dir, "missing.pcap");
  const closed = closedPort();
  const none: readonly string[] = [];
  return [
    {
      args: ["client", "--host", "nohost", "1 + 1"],
      code: 3,
      message: /cannot connect to nohost:9999: failed to lookup/,
    },
    {
      args: ["client", "--host", "127.0.0.1:9998", "1 + 1"],
      code: 2,
      message:
        /--host takes a host without a port, not '127\.0\.0\.1:9998': use --host 127\.0\.0\.1 --port 9998/,
    },
    {
      args: ["client", "--host", "a b", "1 + 1"],
      code: 2,
      message: /--host: 'a b' is not a host name or address/,
    },
    {
      args: ["client", "--timeout", "-1", "1 + 1"],
      code: 2,
      message: /--timeout must be a number of seconds \(e\.g\. 0\.5\), not '-1'/,
    },
    {
      args: ["client", "1 + 1"],
      permissions: none,
      code: 2,
      message: /missing permission: .*--allow-net/,
    },
    {
      args: ["check", "--server", "nohost:9999"],
      code: 3,
      message: /cannot connect to nohost:9999: .*failed to lookup/,
    },
    {
      args: ["check", "--server", "a b:9999"],
      code: 2,
      message: /--server: 'a b' is not a host name or address/,
    },
    {
      args: ["check", "--proxy", `127.0.0.1:${closed}`, "--stop-server-cmd", "true"],
      code: 2,
      message: /--stop-server-cmd needs --allow-run, which calcnet was not given/,
    },
    {
      args: ["check", "--proxy", `127.0.0.1:${closed}`, "--server-down"],
      code: 2,
      message: /--server-down .* needs a terminal; without one, give --stop-server-cmd/,
    },
    {
      args: ["check", "--server", `127.0.0.1:${closed}`],
      permissions: none,
      code: 2,
      message: /missing permission: .*--allow-net/,
    },
    {
      args: ["bench", "--target", "nohost:9999"],
      code: 3,
      message: /cannot connect to nohost:9999: failed to lookup/,
    },
    {
      args: ["bench", "--target", `127.0.0.1:${closed}`],
      permissions: none,
      code: 2,
      message: /missing permission: .*--allow-net/,
    },
    {
      args: ["server", "--host", "nohost", "--port", "0"],
      code: 3,
      message: /cannot listen on nohost:0: failed to lookup/,
    },
    {
      args: ["server", "--host", "127.0.0.1:9999"],
      code: 2,
      message: /--host takes a host without a port/,
    },
    {
      args: ["server", "--port", "0"],
      permissions: none,
      code: 2,
      message: /missing permission: .*--allow-net/,
    },
    {
      args: ["proxy", "--port", "0", "--host", "nohost"],
      code: 3,
      message: /cannot listen on nohost:0/,
    },
    {
      args: ["proxy", "--port", "0"],
      permissions: ["--allow-net"],
      code: 2,
      message: /missing permission: .*--allow-env/,
    },
    {
      args: ["proxy", "--port", "0", "--no-persist", "--server", "127.0.0.1:9999"],
      permissions: ["--allow-net=127.0.0.1:0"],
      code: 2,
      message: /forwarding to 127\.0\.0\.1:9999 needs --allow-net/,
    },
    { args: ["proxy", "--port", "0", "--cache-file", folder], code: 2, message: /is a directory/ },
    {
      args: ["proxy", "--port", "0", "--cache-file", notCache],
      code: 2,
      message: /not a calcnet cache file/,
    },
    { args: ["cache", "show", "--cache-file", folder], code: 2, message: /is a directory/ },
    {
      args: ["cache", "clear", "--cache-file", notCache],
      code: 2,
      message: /not a calcnet cache file/,
    },
    {
      args: ["cache", "show"],
      permissions: none,
      code: 2,
      message: /missing permission: .*--allow-env/,
    },
    {
      args: ["cache", "show", "--cache-file", notCache],
      permissions: ["--allow-env"],
      code: 2,
      message: /--allow-read/,
    },
    { args: ["decode", missing], code: 2, message: /no such file/ },
    { args: ["decode", folder], code: 2, message: /cannot read it/ },
    {
      args: ["decode", notCache],
      permissions: none,
      code: 2,
      message: /missing permission: .*--allow-read/,
    },
    {
      args: ["wireshark", "install", "--dir", notCache],
      code: 1,
      message: /cannot write .*notes\.txt/,
    },
    {
      args: ["wireshark", "install", "--dir", folder],
      permissions: none,
      code: 2,
      message: /writing into .*a-folder needs --allow-write/,
    },
    {
      args: ["wireshark", "install"],
      permissions: none,
      code: 2,
      message: /missing permission: .*--allow-env/,
    },
    { args: ["demo"], permissions: none, code: 2, message: /missing permission: .*--allow-net/ },
    { args: ["sever"], code: 2, message: /unknown command 'sever'/ },
    { args: ["help", "sever"], code: 2, message: /unknown command 'sever'/ },
    { args: ["client", "--stesp"], code: 2, message: /unknown flag --stesp/ },
  ];
}

Deno.test("every failure a user can cause is one line on stderr with its exit code", async (t) => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "a-folder"));
    await Deno.writeTextFile(join(dir, "notes.txt"), "not a cache\n");
    for (const row of rows(dir)) {
      const permissions = row.permissions ?? RELEASE_PERMISSIONS;
      await t.step(
        `${row.args.join(" ")} [${permissions.join(" ") || "no permissions"}]`,
        async () => {
          const result = await runCli(row.args, "", {
            permissions,
            timeoutMs: 20_000,
            env: { XDG_CACHE_HOME: join(dir, "cache"), HOME: dir },
          });
          assert.doesNotMatch(result.stderr, / {4}at /, "no stack trace");
          assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
          assert.match(result.stderr, /^calcnet( [a-z]+)?: .*\n$/);
          assert.match(result.stderr, row.message);
          assert.equal(result.code, row.code, result.stderr);
        },
      );
    }
  }, "calcnet-errors-");
});
