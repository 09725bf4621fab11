/**
 * calcnet beyond one machine: proxies that share one cache on a real
 * redis-server (started by the test on a free port, no persistence), and a
 * proxy in front of several servers with passive health checks and failover.
 */

import assert from "node:assert/strict";
import { ResponseCache, startProxy } from "../src/proxy/mod.ts";
import { startServer } from "../src/server/mod.ts";
import { RedisStore } from "../src/shared_cache/mod.ts";
import { decodeHeader } from "../src/protocol/mod.ts";
import { benchRequest, runLoad } from "../src/bench/mod.ts";
import { startFakeServer } from "./fakes/fake_server.ts";
import { RedisServer } from "./helpers/redis_server.ts";
import { delay, RawClient, requestPacket } from "./helpers/net.ts";
import { runCli, startCli } from "./helpers/cli.ts";

const LOCAL = "127.0.0.1";
const DATA = new TextEncoder().encode("a pretend expression");

async function ask(port: number, packet: Uint8Array): Promise<Uint8Array> {
  using client = await RawClient.connect(port);
  await client.send(packet);
  const reply = await client.readPacket(5000);
  assert.ok(reply, "no answer");
  return reply;
}

const status = (packet: Uint8Array): number => decodeHeader(packet).header.statusCode;

/** Waits until `condition` holds (polling every 20 ms) or `ms` pass. */
async function eventually(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!condition() && performance.now() < deadline) await delay(20);
  return condition();
}

/** A proxy on the shared cache at `redis`, in front of `serverPort`, with its outcomes counted. */
function sharedProxy(redis: RedisServer, serverPort: number, namespace = `${LOCAL}:${serverPort}`) {
  const shared = new RedisStore({ url: redis.url, namespace });
  const outcomes: string[] = [];
  const proxy = startProxy({
    hostname: LOCAL,
    port: 0,
    servers: [{ hostname: LOCAL, port: serverPort }],
    cache: new ResponseCache(),
    shared,
    answerTimeoutMs: 3000,
    observe: (event) => outcomes.push(event.outcome),
  });
  return {
    proxy,
    shared,
    outcomes,
    async [Symbol.asyncDispose]() {
      await proxy.shutdown();
      await shared.close();
    },
  };
}

Deno.test("two proxies on one Redis: a miss through A is a hit through B", async () => {
  await using redis = await RedisServer.start();
  await using server = startFakeServer();
  await using a = sharedProxy(redis, server.port);
  await using b = sharedProxy(redis, server.port);
  assert.ok(await eventually(() => a.shared.state === "up" && b.shared.state === "up", 3000));
  const first = await ask(a.proxy.addr.port, requestPacket(DATA));
  const second = await ask(b.proxy.addr.port, requestPacket(DATA));
  assert.deepEqual(second, first);
  assert.equal(server.requests(), 1);
  assert.deepEqual(a.outcomes, ["MISS (stored)"]);
  assert.deepEqual(b.outcomes, ["HIT (shared)"]);
  // B keeps it close now: its next answer is a local hit.
  await ask(b.proxy.addr.port, requestPacket(DATA));
  assert.deepEqual(b.outcomes, ["HIT (shared)", "HIT"]);
});

Deno.test("200 identical concurrent misses spread over two proxies reach the server once", async () => {
  await using redis = await RedisServer.start();
  await using server = startFakeServer({ delayMs: 300 });
  await using a = sharedProxy(redis, server.port);
  await using b = sharedProxy(redis, server.port);
  assert.ok(await eventually(() => a.shared.state === "up" && b.shared.state === "up", 3000));
  const replies = await Promise.all(
    Array.from(
      { length: 200 },
      (_, i) => ask((i % 2 ? a : b).proxy.addr.port, requestPacket(DATA)),
    ),
  );
  assert.equal(server.requests(), 1);
  for (const reply of replies) assert.deepEqual(reply, replies[0]);
  // One trip in all, and the logs and counters say so: the other proxy's answers are shared hits.
  const outcomes = [...a.outcomes, ...b.outcomes];
  assert.equal(outcomes.filter((o) => o === "MISS (stored)").length, 1, outcomes.join(", "));
  assert.ok(outcomes.includes("HIT (shared)"), outcomes.join(", "));
});

Deno.test("Redis killed mid-run: both proxies keep answering, and share again once it is back", async () => {
  await using redis = await RedisServer.start();
  await using server = startFakeServer();
  await using a = sharedProxy(redis, server.port);
  await using b = sharedProxy(redis, server.port);
  assert.ok(await eventually(() => a.shared.state === "up" && b.shared.state === "up", 3000));
  await redis.kill();
  for (let i = 0; i < 20; i++) {
    const packet = requestPacket(new TextEncoder().encode(`while down ${i}`));
    const started = performance.now();
    assert.equal(status(await ask((i % 2 ? a : b).proxy.addr.port, packet)), 200);
    assert.ok(performance.now() - started < 1000, "no request waits long for a dead Redis");
  }
  assert.equal(a.shared.state, "down");
  await redis.restart();
  assert.ok(await eventually(() => a.shared.state === "up" && b.shared.state === "up", 10_000));
  const packet = requestPacket(new TextEncoder().encode("after the restart"));
  await ask(a.proxy.addr.port, packet);
  await ask(b.proxy.addr.port, packet);
  assert.equal(b.outcomes.at(-1), "HIT (shared)");
});

Deno.test("shared entries expire with the answer's max-age", async () => {
  await using redis = await RedisServer.start();
  await using server = startFakeServer({ cacheControl: 1 });
  await using a = sharedProxy(redis, server.port);
  await using b = sharedProxy(redis, server.port);
  assert.ok(await eventually(() => a.shared.state === "up" && b.shared.state === "up", 3000));
  await ask(a.proxy.addr.port, requestPacket(DATA));
  await delay(2200);
  await ask(b.proxy.addr.port, requestPacket(DATA));
  assert.equal(server.requests(), 2);
  assert.notEqual(b.outcomes.at(-1), "HIT (shared)");
});

Deno.test("a proxy with two servers: one killed mid-load, no client sees an error", async () => {
  const one = startServer({ hostname: LOCAL, port: 0 });
  await using two = startServer({ hostname: LOCAL, port: 0 });
  const down: string[] = [];
  await using proxy = startProxy({
    hostname: LOCAL,
    port: 0,
    servers: [{ hostname: LOCAL, port: one.addr.port }, { hostname: LOCAL, port: two.addr.port }],
    cache: new ResponseCache(),
    warn: (line) => line.includes("is down") && down.push(line),
  });
  // Every request a miss (max-age 0), so every one goes to a server.
  const packet = benchRequest("max(2, 3) + 3", { showSteps: true, cacheControl: 0 });
  const load = runLoad({
    hostname: LOCAL,
    port: proxy.addr.port,
    connections: 8,
    durationMs: 1500,
    packets: [packet],
  });
  await delay(500);
  await one.shutdown();
  const result = await load;
  assert.equal(result.errorCount, 0, JSON.stringify(result.errors));
  assert.ok(result.ok > 100, `${result.ok} answered`);
  assert.equal(down.length, 1, down.join("\n"));
  assert.match(down[0] ?? "", new RegExp(`server 127\\.0\\.0\\.1:${one.addr.port} is down`));
});

Deno.test("calcnet proxy with two --server: one calcnet server SIGKILLed mid-load, no client sees an error", async () => {
  await using one = await startCli(["server", "--port", "0"]);
  await using two = startServer({ hostname: LOCAL, port: 0 });
  await using proxy = await startCli([
    "proxy",
    "--port",
    "0",
    "--server",
    `${LOCAL}:${one.port}`,
    "--server",
    `${LOCAL}:${two.addr.port}`,
    "--no-persist",
    "--quiet",
  ]);
  // Every request a miss (max-age 0), so every one goes to a server.
  const packet = benchRequest("max(2, 3) + 3", { showSteps: true, cacheControl: 0 });
  const load = runLoad({
    hostname: LOCAL,
    port: proxy.port,
    connections: 8,
    durationMs: 2000,
    packets: [packet],
  });
  // The doomed server is under load before it dies: it has answered through the proxy.
  assert.ok(await eventually(() => / request \d+ B -> 200/.test(one.stderr()), 1500), one.stderr());
  await one.stop("SIGKILL");
  const result = await load;
  assert.equal(result.errorCount, 0, JSON.stringify(result.errors));
  assert.ok(result.ok > 100, `${result.ok} answered`);
  const down = proxy.stderr().match(new RegExp(`server 127\\.0\\.0\\.1:${one.port} is down`, "g"));
  assert.equal(down?.length, 1, proxy.stderr());
});

Deno.test("a proxy whose every server is down answers the course's 500, and recovers", async () => {
  const probe = startServer({ hostname: LOCAL, port: 0 });
  const port = probe.addr.port;
  await probe.shutdown();
  await using proxy = startProxy({
    hostname: LOCAL,
    port: 0,
    servers: [{ hostname: LOCAL, port }],
    cache: new ResponseCache(),
  });
  assert.equal(status(await ask(proxy.addr.port, requestPacket(DATA))), 500);
  await using _again = startServer({ hostname: LOCAL, port });
  const packet = benchRequest("1 + 1", { showSteps: false });
  // Left alone for a moment after failing, the server is tried again.
  assert.ok(
    await (async () => {
      for (let i = 0; i < 50; i++) {
        if (status(await ask(proxy.addr.port, packet)) === 200) return true;
        await delay(100);
      }
      return false;
    })(),
  );
});

Deno.test("calcnet check --proxy passes against calcnet proxy --cache redis://", async () => {
  await using redis = await RedisServer.start();
  await using server = startServer({ hostname: LOCAL, port: 0 });
  const upstream = `${LOCAL}:${server.addr.port}`;
  await using proxy = await startCli([
    "proxy",
    "--port",
    "0",
    "--server",
    upstream,
    "--cache",
    redis.url,
    "--quiet",
  ]);
  assert.ok(await eventually(() => /shared cache .* is up/.test(proxy.stderr()), 5000));
  const check = await runCli(
    ["check", "--server", upstream, "--proxy", `${LOCAL}:${proxy.port}`, "--seed", "11"],
    "",
    { timeoutMs: 60_000 },
  );
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /\nPASS {2}proxy\//);
  assert.match(check.stdout, / 0 failed, /);
  // The proxy's answers went through Redis: the check's cached answers are stored there.
  assert.ok(Number(await redis.cli(["DBSIZE"])) > 0, "nothing stored in Redis");
});

Deno.test("calcnet proxy --cache redis:// with Redis stopped answers every request from the server", async () => {
  await using redis = await RedisServer.start();
  const url = redis.url;
  await redis.kill();
  await using server = startServer({ hostname: LOCAL, port: 0 });
  await using proxy = await startCli([
    "proxy",
    "--port",
    "0",
    "--server",
    `${LOCAL}:${server.addr.port}`,
    "--cache",
    url,
  ]);
  for (let i = 0; i < 5; i++) {
    const packet = benchRequest(`${i} + 1`, { showSteps: false });
    assert.equal(status(await ask(proxy.port, packet)), 200);
  }
  assert.match(proxy.stderr(), /shared cache is down/);
  assert.equal(proxy.stderr().match(/shared cache is down/g)?.length, 1, "said once");
  await redis.restart();
  assert.ok(
    await eventually(() => /shared cache .* is up/.test(proxy.stderr()), 10_000),
    proxy.stderr(),
  );
});

Deno.test("a proxy with two servers sends each request to the one with the fewest in flight", async () => {
  await using slow = startFakeServer({ delayMs: 1500 });
  await using quick = startFakeServer();
  await using proxy = startProxy({
    hostname: LOCAL,
    port: 0,
    servers: [{ hostname: LOCAL, port: slow.port }, { hostname: LOCAL, port: quick.port }],
    cache: new ResponseCache(),
  });
  // Both idle: the tie goes to the first server, which keeps this one for 1.5 s.
  const held = ask(proxy.addr.port, requestPacket(new TextEncoder().encode("held")));
  assert.ok(await eventually(() => slow.requests() === 1, 1000));
  // One after another: the quick server has none in flight each time, the slow one still has one.
  for (let i = 0; i < 5; i++) {
    await ask(proxy.addr.port, requestPacket(new TextEncoder().encode(`quick ${i}`)));
  }
  assert.equal(quick.requests(), 5);
  assert.equal(slow.requests(), 1);
  assert.equal(status(await held), 200);
  assert.deepEqual(
    [...proxy.stats.servers],
    [[`${LOCAL}:${quick.port}`, 5], [`${LOCAL}:${slow.port}`, 1]],
  );
});

Deno.test("the proxy's log lines and counters name the server that answered", async () => {
  await using one = startFakeServer();
  await using two = startFakeServer();
  const lines: string[] = [];
  const cache = new ResponseCache();
  await using proxy = startProxy({
    hostname: LOCAL,
    port: 0,
    servers: [{ hostname: LOCAL, port: one.port }, { hostname: LOCAL, port: two.port }],
    cache,
    log: (line) => lines.push(line),
  });
  await ask(proxy.addr.port, requestPacket(DATA));
  await ask(proxy.addr.port, requestPacket(DATA));
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.match(lines[0] ?? "", new RegExp(` MISS \\(stored\\) .* via ${LOCAL}:${one.port},`));
  // A hit asked no server: its line names none.
  assert.doesNotMatch(lines[1] ?? "", / via /);
  assert.match(
    proxy.stats.summary(cache),
    new RegExp(`answers by server: ${LOCAL}:${one.port} 1$`),
  );
});

/** A server that accepts connections and hangs up at once, counting them. */
function hangingUp(): { port: number; accepted: () => number } & Disposable {
  const listener = Deno.listen({ hostname: LOCAL, port: 0 });
  let accepted = 0;
  (async () => {
    for await (const conn of listener) {
      accepted++;
      conn.close();
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    accepted: () => accepted,
    [Symbol.dispose]: () => listener.close(),
  };
}

Deno.test("a request no server answers is tried on a second server, not a third, then gets a 500", async () => {
  using a = hangingUp();
  using b = hangingUp();
  using c = hangingUp();
  await using proxy = startProxy({
    hostname: LOCAL,
    port: 0,
    servers: [a, b, c].map((server) => ({ hostname: LOCAL, port: server.port })),
    cache: new ResponseCache(),
  });
  assert.equal(status(await ask(proxy.addr.port, requestPacket(DATA))), 500);
  assert.deepEqual([a.accepted(), b.accepted(), c.accepted()], [1, 1, 0]);
});

Deno.test("calcnet bench over two proxies sharing Redis: both answer, the server is asked once", async () => {
  await using redis = await RedisServer.start();
  let asked = 0;
  await using server = startServer({ hostname: LOCAL, port: 0, observe: () => asked++ });
  await using a = sharedProxy(redis, server.addr.port);
  await using b = sharedProxy(redis, server.addr.port);
  assert.ok(await eventually(() => a.shared.state === "up" && b.shared.state === "up", 3000));
  const targets = [a, b].map(({ proxy }) => `${LOCAL}:${proxy.addr.port}`);
  const bench = (json: boolean) =>
    runCli(
      [
        "bench",
        ...targets.flatMap((target) => ["--target", target]),
        "--conns",
        "4",
        "--requests",
        "400",
        "--steps",
        ...(json ? ["--json"] : []),
      ],
      "",
      { timeoutMs: 20_000 },
    );
  const run = await bench(true);
  assert.equal(run.code, 0, run.stderr);
  const parsed = JSON.parse(run.stdout);
  assert.equal(parsed.ok, 400);
  assert.equal(parsed.error_count, 0);
  assert.deepEqual(parsed.by_target.map((one: { target: string }) => one.target), targets);
  for (const one of parsed.by_target) assert.ok(one.ok > 0 && one.error_count === 0, run.stdout);
  // One distinct request: one trip to the server; the other proxy served the stored answer.
  assert.equal(asked, 1);
  const [missed, other] = a.outcomes.includes("MISS (stored)") ? [a, b] : [b, a];
  assert.equal([...a.outcomes, ...b.outcomes].filter((o) => o === "MISS (stored)").length, 1);
  assert.deepEqual(missed.outcomes.filter((o) => o === "HIT (shared)"), []);
  assert.ok(other.outcomes.includes("HIT (shared)"), other.outcomes.slice(0, 5).join(", "));
  const text = await bench(false);
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    new RegExp(`^by target +${targets[0]} [\\d,]+ answered, ${targets[1]} [\\d,]+ answered$`, "m"),
  );
  assert.equal(asked, 1);
});
