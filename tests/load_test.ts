/**
 * Load and fault hardening: many connections at once, the connection limit,
 * idle and slow peers next to busy ones, a server failing under a loaded
 * proxy, and SIGTERM to a proxy with requests in flight. Every test is
 * bounded (port 0, short timeouts) and stops its services through their
 * AbortSignal.
 */

import assert from "node:assert/strict";
import { startServer } from "../src/server/server.ts";
import { startProxy } from "../src/proxy/proxy.ts";
import { ResponseCache } from "../src/proxy/cache.ts";
import { loadCacheFile } from "../src/proxy/cache_file.ts";
import type { TcpService } from "../src/net/mod.ts";
import { decodeHeader, unixSeconds } from "../src/protocol/header.ts";
import { runLoad } from "../src/bench/load_generator.ts";
import { benchRequest } from "../src/bench/request_packet.ts";
import { startFakeServer } from "./fakes/fake_server.ts";
import { type CliService, startCli } from "./helpers/cli.ts";
import { STATS_SIGNAL } from "../src/term/signals.ts";
import { CALCNET_V8_FLAGS } from "../src/bench/service_process.ts";
import { delay, openFileLimit, RawClient, requestPacket } from "./helpers/net.ts";
import { withTempDir } from "./helpers/fs.ts";

/** Course example 2 with steps, as the course client sends it. */
const REQUEST = benchRequest("max(2, 3) + 3", { showSteps: true });

/** The status of a response packet (or -1 for none). */
function statusOf(packet: Uint8Array | null): number {
  return packet === null ? -1 : decodeHeader(packet).header.statusCode;
}

/** A distinct request per index (the fake server does not parse pickles). */
function distinct(index: number): Uint8Array {
  return requestPacket(new TextEncoder().encode(`request ${index}`));
}

/** How many connections a test can hold when each costs `perConnection` descriptors here. */
async function affordableConnections(wanted: number, perConnection: number): Promise<number> {
  const limit = await openFileLimit();
  const affordable = Math.floor((limit - 100) / perConnection);
  if (affordable >= wanted) return wanted;
  console.warn(
    `ulimit -n is ${limit}: holding ${affordable} connections instead of ${wanted} ` +
      `(each costs ${perConnection} descriptors in this process; raise it with ulimit -n)`,
  );
  return affordable;
}

/** Opens `count` connections, a batch at a time so that the listen backlog never overflows. */
async function connectMany(port: number, count: number): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  try {
    while (clients.length < count) {
      const batch = Math.min(100, count - clients.length);
      clients.push(
        ...await Promise.all(Array.from({ length: batch }, () => RawClient.connect(port))),
      );
    }
    return clients;
  } catch (error: unknown) {
    for (const client of clients) client[Symbol.dispose]();
    throw error;
  }
}

/** Polls `condition` every 10 ms for up to `ms`; returns whether it became true. */
async function eventually(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await delay(10);
  }
  return true;
}

/** Sends `packet` on every client and reads one answer from each. */
async function roundTrip(clients: readonly RawClient[], packet: Uint8Array): Promise<number[]> {
  await Promise.all(clients.map((client) => client.send(packet)));
  return Promise.all(clients.map(async (client) => statusOf(await client.readPacket(10_000))));
}

/** Holds `count` connections to `service`, has each answered twice, then closes them. */
async function holdAndServe(service: TcpService, count: number): Promise<void> {
  const clients = await connectMany(service.addr.port, count);
  try {
    assert.ok(await eventually(() => service.activeConnections() === count, 5000));
    for (let round = 0; round < 2; round++) {
      const statuses = await roundTrip(clients, REQUEST);
      assert.equal(statuses.filter((status) => status === 200).length, count);
    }
    assert.equal(service.activeConnections(), count);
  } finally {
    for (const client of clients) client[Symbol.dispose]();
  }
  assert.ok(await eventually(() => service.activeConnections() === 0, 5000));
}

Deno.test("load: 1,000 concurrent connections are held and served by the server and the proxy", async () => {
  // Client and service ends are both in this process: two descriptors per connection.
  const count = await affordableConnections(1000, 2);
  await using server = startServer({ hostname: "127.0.0.1", port: 0 });
  const cache = new ResponseCache();
  await using proxy = startProxy({
    hostname: "127.0.0.1",
    port: 0,
    servers: [{ hostname: "127.0.0.1", port: server.addr.port }],
    cache,
  });
  await holdAndServe(server, count);
  await holdAndServe(proxy, count);
  // The first round's identical misses went to the server together; every answer is one entry.
  assert.equal(cache.size, 1);
  assert.ok(proxy.stats.summary(cache).length > 0);
});

Deno.test("load: at the connection limit, new connections take the place of idle ones and are all served", async () => {
  const evicted: string[] = [];
  await using server = startServer({
    hostname: "127.0.0.1",
    port: 0,
    limits: { maxConnections: 50 },
    warn: (line) => {
      if (line.includes("closed to make room")) evicted.push(line);
    },
  });
  const idle = await connectMany(server.addr.port, 50);
  try {
    assert.ok(await eventually(() => server.activeConnections() === 50, 5000));
    const fresh = await connectMany(server.addr.port, 30);
    try {
      assert.deepEqual(await roundTrip(fresh, REQUEST), Array(30).fill(200));
    } finally {
      for (const client of fresh) client[Symbol.dispose]();
    }
    assert.equal(evicted.length, 30);
    // The 30 idle the longest made room; the rest are still served.
    const port = (client: RawClient): string => `:${(client.conn.localAddr as Deno.NetAddr).port} `;
    const closed = idle.filter((client) => evicted.some((line) => line.includes(port(client))));
    assert.equal(closed.length, 30);
    for (const client of closed) assert.ok(await client.closedByPeer(1000));
    const kept = idle.filter((client) => !closed.includes(client));
    assert.deepEqual(await roundTrip(kept, REQUEST), Array(20).fill(200));
  } finally {
    for (const client of idle) client[Symbol.dispose]();
  }
});

Deno.test("load: idle and stalled peers are timed out without slowing a loaded connection", async () => {
  await using server = startServer({
    hostname: "127.0.0.1",
    port: 0,
    limits: { idleTimeoutMs: 400, frameTimeoutMs: 300 },
  });
  const port = server.addr.port;
  const idle = await connectMany(port, 100);
  const stalled = await connectMany(port, 100);
  const trickling = await connectMany(port, 20);
  try {
    await Promise.all(stalled.map((client) => client.send(REQUEST.subarray(0, 5))));
    // One byte every 450 ms: slower than the frame timeout, so each is cut off.
    const trickle = Promise.all(trickling.map(async (client) => {
      for (let i = 0; i < 4; i++) {
        try {
          await client.send(REQUEST.subarray(i, i + 1));
        } catch (error: unknown) {
          if (
            error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset
          ) {
            return;
          }
          throw error;
        }
        await delay(450);
      }
    }));
    const load = await runLoad({
      hostname: "127.0.0.1",
      port,
      connections: 4,
      durationMs: 1500,
      packets: [REQUEST],
    });
    assert.equal(load.errorCount, 0);
    assert.ok(load.ok > 100, `only ${load.ok} answered`);
    // Generous for a shared CI machine; a stall behind a slow peer would take up to its 450 ms pause.
    assert.ok(load.latencyMs.max < 400, `max latency ${load.latencyMs.max} ms`);
    await trickle;
    const idleClosed = await Promise.all(idle.map((client) => client.closedByPeer(2000)));
    assert.ok(idleClosed.every(Boolean), "an idle peer was not closed");
    const answers = await Promise.all(stalled.map((client) => client.readPacket(2000)));
    assert.ok(answers.every((answer) => statusOf(answer) === 500), "a stalled peer got no 500");
    const stalledClosed = await Promise.all(stalled.map((client) => client.closedByPeer(2000)));
    assert.ok(stalledClosed.every(Boolean), "a stalled peer was not closed");
    const trickleClosed = await Promise.all(trickling.map((client) => client.closedByPeer(2000)));
    assert.ok(trickleClosed.every(Boolean), "a trickling peer was not closed");
    assert.ok(await eventually(() => server.activeConnections() === 0, 2000));
  } finally {
    for (const client of [...idle, ...stalled, ...trickling]) client[Symbol.dispose]();
  }
});

Deno.test("load: a server that stalls or dies mid-answer gets 50 proxy clients a 500 and stores nothing", async () => {
  await using fake = startFakeServer();
  const cache = new ResponseCache();
  await using proxy = startProxy({
    hostname: "127.0.0.1",
    port: 0,
    servers: [{ hostname: "127.0.0.1", port: fake.port }],
    cache,
    connectTimeoutMs: 500,
    answerTimeoutMs: 300,
  });
  const clients = await connectMany(proxy.addr.port, 50);
  const askAll = async (): Promise<{ statuses: number[]; ms: number }> => {
    const started = performance.now();
    const statuses = await Promise.all(clients.map(async (client, index) => {
      await client.send(distinct(index));
      return statusOf(await client.readPacket(5000));
    }));
    return { statuses, ms: performance.now() - started };
  };
  try {
    fake.set({ mode: "stall" });
    const stalled = await askAll();
    assert.deepEqual(stalled.statuses, Array(50).fill(500));
    assert.ok(stalled.ms < 1500, `the 500s took ${stalled.ms} ms with a 300 ms answer timeout`);
    assert.equal(cache.size, 0);

    fake.set({ mode: "die-mid-answer" });
    const died = await askAll();
    assert.deepEqual(died.statuses, Array(50).fill(500));
    assert.equal(cache.size, 0);

    // The proxy recovers at once: no broken server connection is reused.
    fake.set({ mode: "answer" });
    const answered = await askAll();
    assert.deepEqual(answered.statuses, Array(50).fill(200));
    assert.equal(cache.size, 50);
  } finally {
    for (const client of clients) client[Symbol.dispose]();
  }
});

Deno.test({
  name: "load: SIGTERM to calcnet proxy finishes the requests in flight and saves the cache",
  ignore: Deno.build.os === "windows", // Deno sends no SIGTERM to a child process on Windows
  async fn() {
    await withTempDir(async (directory) => {
      const cacheFile = `${directory}/cache.json`;
      await using fake = startFakeServer({ delayMs: 400 });
      const proxy = await startCli([
        "proxy",
        "--port",
        "0",
        "--server",
        `127.0.0.1:${fake.port}`,
        "--cache-file",
        cacheFile,
        "--quiet",
      ]);
      const clients = await connectMany(proxy.port, 20);
      try {
        const answers = Promise.all(clients.map(async (client, index) => {
          await client.send(distinct(index));
          return statusOf(await client.readPacket(5000));
        }));
        // Every request is at the slow server when the signal arrives.
        assert.ok(await eventually(() => fake.requests() === 20, 2000));
        const stopping = proxy.stop("SIGTERM");
        assert.deepEqual(await answers, Array(20).fill(200));
        const closed = await Promise.all(clients.map((client) => client.closedByPeer(2000)));
        assert.ok(closed.every(Boolean));
        const status = await stopping;
        assert.equal(status.code, 0, proxy.stderr());
      } finally {
        for (const client of clients) client[Symbol.dispose]();
        await proxy.stop();
      }
      const { cache, warnings } = await loadCacheFile(cacheFile, unixSeconds(Date.now()));
      assert.deepEqual(warnings, []);
      assert.equal(cache.size, 20);
    });
  },
});

/** Asks `proxy` for its counters and reads the resident memory they end with, in MB. */
async function proxyResidentMb(proxy: CliService): Promise<number> {
  const before = proxy.stderr().length;
  proxy.child.kill(STATS_SIGNAL);
  const deadline = performance.now() + 5000;
  for (;;) {
    const match = /resident memory ([\d.]+) MB/.exec(proxy.stderr().slice(before));
    if (match) return Number(match[1]);
    assert.ok(performance.now() < deadline, "no counters line after the signal");
    await delay(20);
  }
}

Deno.test({
  name:
    "load: a 1,000,000-request soak through calcnet proxy (hits, misses, new connections) leaks no memory",
  ignore: Deno.build.os === "windows", // the counters come on SIGUSR2
  async fn() {
    await using server = startServer({ hostname: "127.0.0.1", port: 0 });
    // As shipped: the V8 settings of the tasks and the release.
    await using proxy = await startCli(
      ["proxy", "--port", "0", "--server", `127.0.0.1:${server.addr.port}`, "--no-persist", "-q"],
      { permissions: ["-A", CALCNET_V8_FLAGS] },
    );
    const target = { hostname: "127.0.0.1", port: proxy.port };
    const miss = benchRequest("max(2, 3) + 3", { showSteps: true, cacheControl: 0 });
    // One round: 200,000 hits on 32 connections, 2,000 misses (each a connection to the
    // server), 500 requests on a connection of their own.
    const round = async (): Promise<number> => {
      const runs = [
        await runLoad({ ...target, connections: 32, requests: 200_000, packets: [REQUEST] }),
        await runLoad({ ...target, connections: 8, requests: 2_000, packets: [miss] }),
        await runLoad({
          ...target,
          connections: 8,
          requests: 500,
          packets: [REQUEST],
          newConnection: true,
        }),
      ];
      for (const run of runs) assert.equal(run.errorCount, 0, JSON.stringify(run.errors));
      return runs.reduce((sum, run) => sum + run.ok, 0);
    };
    let answered = await round();
    const settled = await proxyResidentMb(proxy);
    while (answered < 1_000_000) answered += await round();
    const grown = await proxyResidentMb(proxy) - settled;
    // A leak of 40 bytes a request would show as 32 MB over the 800,000 after the first round.
    assert.ok(
      grown < 32,
      `resident memory grew by ${grown.toFixed(1)} MB over ${answered} requests`,
    );
    assert.match(proxy.stderr(), /calcnet proxy: hits \d{7}/);
  },
});
