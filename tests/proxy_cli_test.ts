import assert from "node:assert/strict";
import { runCli, startCli } from "./helpers/cli.ts";
import { delay } from "./helpers/net.ts";
import { withTempDir } from "./helpers/fs.ts";

Deno.test("calcnet proxy: the cache survives SIGKILL and serves with the server gone", async () => {
  await withTempDir(async (dir) => {
    const cacheFile = `${dir}/cache.json`;
    const server = await startCli(["server", "--port", "0", "--quiet"]);
    let proxyPort: string;
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
      proxyPort = String(proxy.port);
      const first = await runCli(["client", "-p", proxyPort, "-q", "--steps", "max(2, 3) + 3"]);
      assert.equal(first.code, 0);
      await delay(1600);
      await proxy.stop("SIGKILL");
    }
    await server.stop();
    const info = await Deno.stat(cacheFile);
    if (Deno.build.os !== "windows") assert.equal((info.mode ?? 0) & 0o777, 0o600);
    await using restarted = await startCli([
      "proxy",
      "--port",
      "0",
      "--server",
      `127.0.0.1:${server.port}`,
      "--cache-file",
      cacheFile,
    ]);
    assert.match(restarted.stderr(), /1 entries loaded/);
    const again = await runCli([
      "client",
      "-p",
      String(restarted.port),
      "-q",
      "--steps",
      "max(2, 3) + 3",
    ]);
    assert.equal(again.code, 0);
    assert.equal(again.stdout, "Result: 6\nSteps:\nmax(2, 3) + 3 = 3 + 3\n              = 6\n");
    const uncached = await runCli(["client", "-p", String(restarted.port), "-q", "1 + 1"]);
    assert.equal(uncached.code, 1);
    assert.equal(
      uncached.stdout,
      "Got error: ('Internal proxy error', CalculatorServerError('Connection refused by server and the request was not in the cache/it was stale'))\n",
    );
    restarted.child.kill("SIGUSR2");
    for (let i = 0; i < 50 && !/calcnet proxy: hits 1/.test(restarted.stderr()); i++) {
      await delay(20);
    }
    assert.match(restarted.stderr(), /calcnet proxy: hits 1, misses 0/);
    const status = await restarted.stop("SIGTERM");
    assert.equal(status.code, 0);
    assert.match(
      restarted.stderr(),
      /hits 1, misses 0, stale 0, bypasses 0, coalesced 0, errors 1/,
    );
  });
});

Deno.test("calcnet proxy: a corrupt cache file is set aside and the proxy still starts", async () => {
  await withTempDir(async (dir) => {
    const cacheFile = `${dir}/cache.json`;
    await Deno.writeTextFile(cacheFile, '{"format":"calcnet-cache","version":1,"entries":[{"trunc');
    await using proxy = await startCli(["proxy", "--port", "0", "--cache-file", cacheFile]);
    assert.match(proxy.stderr(), /corrupt/);
    const names = [...Deno.readDirSync(dir)].map((entry) => entry.name);
    assert.ok(names.some((name) => name.startsWith("cache.json.corrupt-")), names.join());
  });
});

/**
 * The TCP ports process `pid` listens on: its socket inodes (from
 * /proc/PID/fd) that /proc/net/tcp{,6} lists as LISTEN. Read through `sh`:
 * Deno grants /proc only to --allow-all.
 */
async function listeningPorts(pid: number): Promise<number[]> {
  const script = `ls -l /proc/${pid}/fd; echo ---; cat /proc/net/tcp /proc/net/tcp6`;
  const output = await new Deno.Command("sh", { args: ["-c", script], stdout: "piped" }).output();
  const [fds = "", tables = ""] = new TextDecoder().decode(output.stdout).split("---\n");
  const inodes = new Set([...fds.matchAll(/socket:\[(\d+)\]/g)].map((match) => match[1]));
  const ports: number[] = [];
  for (const line of tables.split("\n")) {
    // sl, local address, remote address, state (0A: LISTEN), …, inode (the 10th field)
    const fields = line.trim().split(/\s+/);
    if (fields[3] === "0A" && inodes.has(fields[9])) {
      ports.push(parseInt(fields[1]?.split(":")[1] ?? "", 16));
    }
  }
  return ports.sort((x, y) => x - y);
}

Deno.test({
  name:
    "calcnet proxy: SIGUSR2 prints the counters and opens no listening socket (Linux: reads /proc)",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using proxy = await startCli(["proxy", "--port", "0", "--no-persist", "--quiet"]);
    const pid = proxy.child.pid;
    assert.deepEqual(await listeningPorts(pid), [proxy.port]);
    proxy.child.kill("SIGUSR2");
    for (let i = 0; i < 100 && !/calcnet proxy: hits 0/.test(proxy.stderr()); i++) await delay(20);
    assert.match(proxy.stderr(), /calcnet proxy: hits 0, misses 0/);
    // Deno opens its inspector (127.0.0.1:9229) on SIGUSR1, not on SIGUSR2: nothing new listens.
    await delay(200);
    assert.deepEqual(await listeningPorts(pid), [proxy.port]);
    assert.equal((await proxy.stop("SIGTERM")).code, 0);
  },
});
