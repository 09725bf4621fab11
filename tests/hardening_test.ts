/**
 * Issue 9's attacks, each reproduced as described: no peer, and no failure
 * of DNS, sockets or descriptors, can end, freeze or starve the server or
 * the proxy, and a broken server never gets a wrong answer served or
 * cached.
 */

import assert from "node:assert/strict";
import { type PacketHandler, serveTcp } from "../src/net/mod.ts";
import { startServer } from "../src/server/server.ts";
import { startProxy } from "../src/proxy/proxy.ts";
import { ResponseCache } from "../src/proxy/cache.ts";
import { decodeHeader, HEADER_SIZE } from "../src/protocol/header.ts";
import { decodeResponse, encodeExpr } from "../src/pickle/mod.ts";
import { parseExpression } from "../src/calc/parser.ts";
import { binary, constant, type Expr } from "../src/calc/expr.ts";
import { benchRequest } from "../src/bench/request_packet.ts";
import {
  FORGED_RESULT,
  type HostileMode,
  resultFor,
  startHostileServer,
} from "./fakes/hostile_server.ts";
import { startFakeServer } from "./fakes/fake_server.ts";
import { STATS_SIGNAL } from "../src/term/signals.ts";
import { startCli } from "./helpers/cli.ts";
import { delay, openFileLimit, RawClient, requestPacket } from "./helpers/net.ts";
import { fromHex, latin1, toHex } from "./helpers/bytes.ts";

const LOCAL = "127.0.0.1";
/** Course example 2 with steps. */
const EXAMPLE_2 = benchRequest("max(2, 3) + 3", { showSteps: true });

function status(packet: Uint8Array | null): number {
  assert.ok(packet, "no answer");
  return decodeHeader(packet).header.statusCode;
}

/** The error text of an error answer. */
function errorText(packet: Uint8Array | null): string {
  assert.ok(packet, "no answer");
  const body = decodeResponse(packet.subarray(HEADER_SIZE));
  assert.equal(body.kind, "error");
  return body.kind === "error" ? body.error.str() : "";
}

/** Asks `port` once on a new connection. */
async function askOnce(port: number, packet: Uint8Array, ms = 5000): Promise<Uint8Array | null> {
  using client = await RawClient.connect(port);
  await client.send(packet);
  return await client.readPacket(ms);
}

Deno.test("serveTcp() answers a handler that throws with the protocol's 500, closes, and serves the rest", async () => {
  const errors: unknown[] = [];
  const handler: PacketHandler = {
    handle(packet) {
      if (packet[HEADER_SIZE] === 0xff) throw new RangeError("Invalid array length");
      return { packet };
    },
    unframeable: () => null,
    internalError: () => requestPacket(new Uint8Array([0x50, 0x00])),
    event: (event) => event.kind === "error" && errors.push(event.error),
  };
  await using service = serveTcp({ hostname: LOCAL, port: 0 }, handler);
  using bad = await RawClient.connect(service.addr.port);
  await bad.send(requestPacket(new Uint8Array([0xff])));
  assert.deepEqual(await bad.readPacket(), requestPacket(new Uint8Array([0x50, 0x00])));
  assert.ok(await bad.closedByPeer());
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof RangeError);
  const good = requestPacket(new Uint8Array([1]));
  assert.deepEqual(await askOnce(service.addr.port, good), good);
});

Deno.test("serveTcp() answers a handler that throws at the frame deadline with the protocol's 500 and serves the rest", async () => {
  // Issue 9, attack 1: the same crash, reached through the frame-timeout sweep (a timer, no caller).
  const errors: unknown[] = [];
  const internal = requestPacket(new Uint8Array([0x50, 0x01]));
  const handler: PacketHandler = {
    handle: (packet) => ({ packet }),
    unframeable() {
      throw new RangeError("Invalid array length");
    },
    internalError: () => internal,
    event: (event) => event.kind === "error" && errors.push(event.error),
  };
  await using service = serveTcp(
    { hostname: LOCAL, port: 0, limits: { frameTimeoutMs: 100 } },
    handler,
  );
  using bad = await RawClient.connect(service.addr.port);
  await bad.send(requestPacket(fromHex("80044e72feffffff72ffffffff2e")).subarray(0, 20));
  assert.deepEqual(await bad.readPacket(3000), internal);
  assert.ok(await bad.closedByPeer());
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof RangeError);
  const good = requestPacket(new Uint8Array([1]));
  assert.deepEqual(await askOnce(service.addr.port, good), good);
});

Deno.test("calcnet server survives the 26-byte memo request and keeps serving", async () => {
  await using server = await startCli(["server", "--port", "0"]);
  const attack = requestPacket(fromHex("80044e72feffffff72ffffffff2e"));
  const reply = await askOnce(server.port, attack);
  assert.ok([400, 500].includes(status(reply)));
  assert.equal(status(await askOnce(server.port, EXAMPLE_2)), 200);
  assert.equal(server.child.pid > 0, true);
});

Deno.test({
  name:
    "calcnet server out of file descriptors says so once and closes its longest idle connections for new clients (POSIX: ulimit)",
  ignore: Deno.build.os === "windows",
  async fn() {
    await using server = await startCli(["server", "--port", "0"], { openFiles: 48 });
    const held: RawClient[] = [];
    try {
      for (let i = 0; i < 80; i++) held.push(await RawClient.connect(server.port));
      await delay(100);
      // Still holding all 80: without room made, this client would wait a minute (the idle timeout).
      const started = Date.now();
      assert.equal(status(await askOnce(server.port, EXAMPLE_2, 3000)), 200);
      assert.ok(Date.now() - started < 3000);
      assert.match(
        server.stderr(),
        /connection closed to make room \(out of file descriptors\): idle for/,
      );
      assert.match(
        server.stderr(),
        /cannot accept connections: .*(Too many open files|os error 24)/,
      );
      assert.equal(server.stderr().match(/cannot accept connections/g)?.length, 1);
    } finally {
      for (const client of held) client[Symbol.dispose]();
    }
    await delay(300);
    assert.equal(status(await askOnce(server.port, EXAMPLE_2)), 200);
  },
});

Deno.test({
  name:
    "calcnet proxy with few descriptors and a slow server answers 600 distinct misses and survives (POSIX: ulimit)",
  ignore: Deno.build.os === "windows",
  async fn() {
    await using fake = startFakeServer({ delayMs: 300 });
    await using proxy = await startCli(
      ["proxy", "--port", "0", "--server", `${LOCAL}:${fake.port}`, "--no-persist", "--quiet"],
      { openFiles: 1024 },
    );
    const statuses = await Promise.all(Array.from({ length: 600 }, async (_, i) => {
      try {
        return status(
          await askOnce(proxy.port, requestPacket(new TextEncoder().encode(`r${i}`)), 20_000),
        );
      } catch {
        return -1;
      }
    }));
    assert.ok(statuses.every((s) => s === 200 || s === 500 || s === -1), statuses.join());
    assert.ok(statuses.filter((s) => s === 200).length > 100, statuses.join());
    // Still alive and answering.
    assert.equal(
      status(await askOnce(proxy.port, requestPacket(new TextEncoder().encode("after")))),
      200,
    );
  },
});

Deno.test("calcnet proxy whose server name does not resolve answers a 500 and keeps running", async () => {
  await using proxy = await startCli([
    "proxy",
    "--port",
    "0",
    "--server",
    "nohost.invalid:9999",
    "--no-persist",
  ]);
  for (let i = 0; i < 2; i++) {
    const reply = await askOnce(proxy.port, EXAMPLE_2);
    assert.equal(status(reply), 500);
    assert.match(errorText(reply), /Server cannot be reached/);
    assert.equal(decodeHeader(reply as Uint8Array).header.cacheResult, false);
  }
  assert.equal((await proxy.stop("SIGTERM")).code, 0);
});

const HOSTILE_MODES: HostileMode[] = [
  "twice",
  "twice-split",
  "unsolicited",
  "overlong",
  "lying-length",
];
for (
  const [mode, upstreamReuse] of HOSTILE_MODES.flatMap((m) => [[m, false], [m, true]] as const)
    // On a reused connection, an extra answer that arrives late (a second segment after a delay,
    // one sent while idle) cannot be told from the next request's: the protocol has no request
    // ids. Only what arrives with the answer is caught there for sure (docs/DEPLOYMENT.md).
    .filter(([m, reuse]) => !reuse || !["twice-split", "unsolicited"].includes(m))
) {
  const connections = upstreamReuse ? "reused connections" : "a connection per request";
  Deno.test(`proxy: a server that sends ${mode} answers on ${connections} gets no wrong answer served or stored`, async () => {
    await using hostile = await startHostileServer(mode);
    const cache = new ResponseCache();
    await using proxy = startProxy({
      hostname: LOCAL,
      port: 0,
      servers: [{ hostname: LOCAL, port: hostile.port }],
      cache,
      answerTimeoutMs: 2000,
      upstreamReuse,
    });
    const requests = Array.from(
      { length: 30 },
      (_, i) => requestPacket(new TextEncoder().encode(`q${i % 10}`)),
    );
    using client = await RawClient.connect(proxy.addr.port);
    let served = 0;
    for (const [i, request] of requests.entries()) {
      // One connection and new connections alike; sometimes the server has time to misbehave.
      const reply = i % 2 === 0 ? await askOnce(proxy.addr.port, request) : await (async () => {
        await client.send(request);
        return await client.readPacket();
      })();
      if (i % 5 === 0) await delay(30);
      assert.ok(reply);
      const body = decodeResponse(reply.subarray(HEADER_SIZE));
      if (body.kind === "result") {
        assert.equal(body.result, resultFor(request), `request ${i}: another request's answer`);
        assert.notEqual(body.result, FORGED_RESULT);
        served++;
      } else {
        assert.equal(status(reply), 500);
      }
    }
    const { keys, packets } = cache.snapshot();
    keys.forEach((key, i) => {
      const body = decodeResponse(latin1(packets[i] ?? "").subarray(HEADER_SIZE));
      const data = latin1(key.slice(0, -1));
      assert.equal(body.kind === "result" && body.result, resultFor(requestPacket(data)));
    });
    if (mode === "lying-length") assert.equal(served, 0);
    if (mode === "twice" || mode === "overlong") assert.equal(cache.size, 0);
  });
}

const SLOW_DRIP_LIMITS = { maxConnections: 1000, frameTimeoutMs: 500, packetTimeoutMs: 10_000 };

/** A server, or a proxy (with a server behind it), under {@linkcode SLOW_DRIP_LIMITS}. */
function slowDripTarget(kind: "server" | "proxy"): AsyncDisposable & { port: number } {
  // Disposed in reverse: the proxy, then the server behind it.
  const services = new AsyncDisposableStack();
  const server = services.use(startServer({
    hostname: LOCAL,
    port: 0,
    limits: kind === "server" ? SLOW_DRIP_LIMITS : undefined,
  }));
  const target = kind === "server" ? server : services.use(startProxy({
    hostname: LOCAL,
    port: 0,
    servers: [{ hostname: LOCAL, port: server.addr.port }],
    cache: new ResponseCache(),
    limits: SLOW_DRIP_LIMITS,
  }));
  return { port: target.addr.port, [Symbol.asyncDispose]: () => services.disposeAsync() };
}

for (const kind of ["server", "proxy"] as const) {
  Deno.test(`${kind}: 2,000 slow-drip connections do not keep a well-behaved client from an answer within a second`, async () => {
    // 2,000 client ends and 1,000 served ends live in this process.
    const limit = await openFileLimit();
    assert.ok(
      limit >= 3500,
      `this test needs ulimit -n of at least 3500 (it is ${limit}): raise it`,
    );
    await using target = slowDripTarget(kind);
    const port = target.port;
    const stop = new AbortController();
    // Each announces a 65,535-byte packet, then sends one byte every 350 ms; when cut off, comes back.
    const drip = async (): Promise<void> => {
      while (!stop.signal.aborted) {
        let client: RawClient | undefined;
        try {
          client = await RawClient.connect(port);
          await client.send(new Uint8Array([0, 0, 0, 0, 0xff, 0xff, 0x1c, 0, 0xff, 0xff, 0, 0]));
          while (!stop.signal.aborted) {
            await delay(350);
            await client.send(new Uint8Array([0x80]));
          }
        } catch {
          await delay(350);
        } finally {
          client?.[Symbol.dispose]();
        }
      }
    };
    const drippers = Array.from({ length: 2000 }, () => drip());
    try {
      await delay(1500);
      const latencies: number[] = [];
      for (let i = 0; i < 10; i++) {
        const started = performance.now();
        assert.equal(status(await askOnce(port, EXAMPLE_2, 2000)), 200);
        latencies.push(performance.now() - started);
        await delay(150);
      }
      // Locked out, it would get no answer at all; the issue asks for an answer within a second.
      assert.ok(Math.max(...latencies) < 1000, latencies.map(Math.round).join());
    } finally {
      stop.abort();
      await Promise.all(drippers);
    }
  });
}

Deno.test("server: a client that pipelines and never reads is closed at the write deadline", async () => {
  await using server = startServer({ hostname: LOCAL, port: 0, limits: { writeTimeoutMs: 300 } });
  const big = requestPacket(encodeExpr(parseExpression("2 ** 13000 + 1")), { showSteps: true });
  using greedy = await RawClient.connect(server.addr.port);
  const sending = (async () => {
    try {
      for (let i = 0; i < 3000; i++) await greedy.send(big);
    } catch {
      // Closed by the server: the point.
    }
  })();
  await delay(200);
  assert.ok(server.activeConnections() >= 1);
  const deadline = performance.now() + 3000;
  while (server.activeConnections() > 0 && performance.now() < deadline) await delay(50);
  assert.equal(server.activeConnections(), 0);
  await sending;
  assert.equal(status(await askOnce(server.addr.port, EXAMPLE_2)), 200);
});

Deno.test("server: a stall of the event loop does not fail a request whose bytes arrived meanwhile", async () => {
  await using server = startServer({ hostname: LOCAL, port: 0, limits: { frameTimeoutMs: 200 } });
  const request = requestPacket(
    encodeExpr(parseExpression(
      "(sin(max(2, 3 * 4, 5, 6 * ((7 * 8) / 9), 10 / 11)) / 12) * 13",
    )),
    { showSteps: true },
  );
  assert.equal(request.length, 687);
  const script = `
import socket, sys, time
s = socket.create_connection(("127.0.0.1", ${server.addr.port}))
data = bytes.fromhex(sys.argv[1])
s.sendall(data[:300]); time.sleep(0.3); s.sendall(data[300:])
reply = b""
while len(reply) < 12 or len(reply) < int.from_bytes(reply[4:6], "big"):
    chunk = s.recv(65536)
    if not chunk: break
    reply += chunk
print(reply.hex())
`;
  const client = new Deno.Command("python3", {
    args: ["-c", script, toHex(request)],
    stdout: "piped",
  }).spawn();
  // Stall the event loop for 1.5 s, well past the frame timeout, while the rest arrives.
  await delay(100);
  const until = performance.now() + 1500;
  while (performance.now() < until) { /* busy */ }
  const output = await client.output();
  const reply = fromHex(new TextDecoder().decode(output.stdout).trim());
  assert.equal(status(reply), 200);
});

Deno.test("server: an answer too large for a packet names the length the protocol allows", async () => {
  await using server = startServer({ hostname: LOCAL, port: 0 });
  const text = "10 ** 4000" + " + 1".repeat(20);
  const reply = await askOnce(
    server.addr.port,
    requestPacket(encodeExpr(parseExpression(text)), { showSteps: true }),
  );
  assert.equal(status(reply), 500);
  assert.match(
    errorText(reply),
    /^Invalid total length: \d+ \(must be between 12 and 65535 bytes inclusive\)$/,
  );
});

Deno.test("calcnet server logs an unhandled rejection with its stack and keeps serving", async () => {
  const script = `
import { crashGuard } from "${new URL("../src/term/crash_guard.ts", import.meta.url).href}";
using _guard = crashGuard((line) => console.error(line));
Promise.reject(new Error("nobody awaited me"));
setTimeout(() => { throw new TypeError("thrown in a timer"); }, 10);
await new Promise((resolve) => setTimeout(resolve, 100));
console.log("still alive");
`;
  const output = await new Deno.Command(Deno.execPath(), { args: ["eval", script] }).output();
  const decoder = new TextDecoder();
  assert.equal(decoder.decode(output.stdout), "still alive\n");
  const stderr = decoder.decode(output.stderr);
  assert.match(stderr, /internal error \(still serving\): Error: nobody awaited me\n\s+at /);
  assert.match(stderr, /internal error \(still serving\): TypeError: thrown in a timer/);
});

Deno.test("calcnet server: a client pipelining costly valid requests does not hold up another client", async () => {
  // A 479-byte pickle sharing sub-trees: 16,383 nodes, ~20 ms each with steps.
  let expr: Expr = constant(1n);
  for (let i = 0; i < 13; i++) expr = binary(expr, "+", expr);
  const costly = requestPacket(encodeExpr(expr));
  await using server = await startCli(["server", "--port", "0", "--quiet"]);
  using heavy = await RawClient.connect(server.port);
  const burst = new Uint8Array(costly.length * 60);
  for (let i = 0; i < 60; i++) burst.set(costly, i * costly.length);
  await heavy.send(burst);
  await delay(100);
  // The heavy client's 60 requests take over a second in all.
  const waits: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    assert.equal(status(await askOnce(server.port, EXAMPLE_2)), 200);
    waits.push(Math.round(performance.now() - started));
  }
  // Unfair service waits for most of the second; a loaded CI machine adds tens of ms.
  assert.ok(Math.max(...waits) < 500, `waited ${waits.join(", ")} ms`);
  for (let i = 0; i < 60; i++) assert.equal(status(await heavy.readPacket()), 400);
});

/** The port Deno's V8 inspector opens on 127.0.0.1 when a process gets SIGUSR1. */
const INSPECTOR_PORT = 9229;

/** Whether something on this machine accepts connections on 127.0.0.1:`port`. */
async function accepts(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: LOCAL, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "calcnet proxy: the counters signal opens no inspector port (POSIX signals)",
  ignore: Deno.build.os === "windows",
  async fn() {
    // Anything already there would make the check meaningless: say so rather than pass.
    assert.equal(await accepts(INSPECTOR_PORT), false, `127.0.0.1:${INSPECTOR_PORT} is in use`);
    await using proxy = await startCli([
      "proxy",
      "--port",
      "0",
      "--server",
      `${LOCAL}:9`,
      "--no-persist",
    ]);
    // Deno answers SIGUSR1, even one the program listens for, by opening its V8 inspector on
    // 127.0.0.1:9229 (once it has run for about half a second: sooner, nothing opens). The
    // counters must come on a signal that opens nothing.
    await delay(1500);
    proxy.child.kill(STATS_SIGNAL);
    const deadline = performance.now() + 2000;
    while (!/hits 0, misses 0/.test(proxy.stderr()) && performance.now() < deadline) {
      await delay(20);
    }
    assert.match(proxy.stderr(), /calcnet proxy: hits 0, misses 0/);
    await delay(500);
    assert.equal(await accepts(INSPECTOR_PORT), false, "the inspector opened");
    assert.doesNotMatch(proxy.stderr(), /Debugger listening/);
  },
});
