/**
 * The course programs' flags work on calcnet's commands: `server.py` and
 * `client.py` take `-p`/`-H`, `proxy.py` takes `-pp`, `-ph`, `-sp`, `-sh`
 * and `--proxy_port`, `--proxy_host`, `--server_port`, `--server_host`.
 */

import assert from "node:assert/strict";
import { runCli, startCli } from "./helpers/cli.ts";

const LOCAL = "127.0.0.1";

/** Asks `port` for example 2 the course client's way (`-H`, `-p`); resolves to stdout. */
async function askExample2(port: number): Promise<string> {
  const result = await runCli(["client", "-H", LOCAL, "-p", String(port), "-q", "max(2, 3) + 3"]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

Deno.test("server, proxy and client take the course's -p, -H, -pp, -ph, -sp and -sh", async () => {
  await using server = await startCli(["server", "-H", LOCAL, "-p", "0", "-q"]);
  const serverPort = String(server.port);
  await using proxy = await startCli(
    ["proxy", "-ph", LOCAL, "-pp", "0", "-sh", LOCAL, "-sp", serverPort, "--no-persist"],
  );
  // Without -sp the proxy would forward to 9999, where this server is not.
  assert.match(proxy.stderr(), new RegExp(`, server 127\\.0\\.0\\.1:${serverPort}, `));
  assert.equal(await askExample2(proxy.port), "Result: 6\n");
});

Deno.test("proxy takes --proxy_host, --proxy_port, --server_host and --server_port", async () => {
  await using server = await startCli(["server", "--port", "0", "-q"]);
  const serverPort = String(server.port);
  await using proxy = await startCli([
    "proxy",
    `--proxy_host=${LOCAL}`,
    "--proxy_port=0",
    "--server_host",
    LOCAL,
    "--server_port",
    serverPort,
    "--no-persist",
  ]);
  assert.match(proxy.stderr(), new RegExp(`, server 127\\.0\\.0\\.1:${serverPort}, `));
  assert.equal(await askExample2(proxy.port), "Result: 6\n");
});

Deno.test("each course spelling is its calcnet flag: a bad value is named by that flag", async () => {
  const rows: readonly (readonly [readonly string[], RegExp])[] = [
    [["server", "-H", "a b"], /--host: 'a b' is not a host name or address/],
    [["client", "-H", "a b", "1"], /--host: 'a b' is not a host name or address/],
    [["proxy", "-ph", "a b"], /--host: 'a b' is not a host name or address/],
    [["proxy", "--proxy_host", "a b"], /--host: 'a b' is not a host name or address/],
    [["proxy", "-pp", "70000"], /--port must be a whole number from 0 to 65535, not '70000'/],
    [["proxy", "--proxy_port=x"], /--port must be a whole number from 0 to 65535, not 'x'/],
    [["proxy", "-sh", "a b"], /--server-host: 'a b' is not a host name or address/],
    [["proxy", "--server_host", "a b"], /--server-host: 'a b' is not a host name or address/],
    [["proxy", "-sp", "0"], /--server-port must be a whole number from 1 to 65535, not '0'/],
    [["proxy", "--server_port=0"], /--server-port must be a whole number from 1 to 65535/],
  ];
  const results = await Promise.all(rows.map(([args]) => runCli(args)));
  results.forEach((result, i) => {
    const [args, message] = rows[i] ?? [[], /^$/];
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(" "));
    assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
  });
});

Deno.test("--help names the course's spellings beside calcnet's flags", async () => {
  const [server, client, proxy] = await Promise.all(
    ["server", "client", "proxy"].map(async (name) => (await runCli([name, "--help"])).stdout),
  );
  for (const help of [server ?? "", client ?? ""]) {
    assert.match(help, /\n {6}--host HOST +.*\(also -H\)/);
    assert.match(help, /\n {2}-p, --port PORT +/);
  }
  const lines = [
    /\n {6}--host HOST +.*\(also -H, -ph, --proxy_host\)/,
    /\n {2}-p, --port PORT +.*\(also -pp, --proxy_port\)/,
    /\n {6}--server-host HOST +.*\(also -sh, --server_host\)/,
    /\n {6}--server-port PORT +.*\(also -sp, --server_port\)/,
  ];
  for (const line of lines) assert.match(proxy ?? "", line);
});
