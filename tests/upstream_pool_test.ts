/**
 * The proxy's connections to a server: one per request unless reuse is
 * asked for, a bounded queue for requests beyond the connection cap, and no
 * connect made for a request whose client has had its answer already.
 */

import assert from "node:assert/strict";
import { UpstreamPool } from "../src/proxy/upstream_pool.ts";
import { UpstreamError } from "../src/proxy/upstream_error.ts";
import { startProxy } from "../src/proxy/proxy.ts";
import { ResponseCache } from "../src/proxy/cache.ts";
import { answerNumber, startFakeServer } from "./fakes/fake_server.ts";
import { delay, RawClient, requestPacket } from "./helpers/net.ts";
import { startCli } from "./helpers/cli.ts";
import { FORGED_RESULT, resultFor, startHostileServer } from "./fakes/hostile_server.ts";
import { decodeResponse } from "../src/pickle/mod.ts";
import { HEADER_SIZE } from "../src/protocol/header.ts";

const LOCAL = "127.0.0.1";
const packet = requestPacket(new TextEncoder().encode("q"));

function pool(port: number, options: { reuse?: boolean; max?: number; queued?: number } = {}) {
  return new UpstreamPool({
    hostname: LOCAL,
    port,
    connectTimeoutMs: 2000,
    maxConnections: options.max ?? 8,
    reuse: options.reuse,
    maxQueued: options.queued,
  });
}

/** The failure `promise` rejects with (it must reject). */
async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error: unknown) {
    assert.ok(error instanceof UpstreamError, String(error));
    return error;
  }
  assert.fail("resolved");
}

Deno.test("UpstreamPool opens one connection per request by default, as the course proxy does", async () => {
  await using server = startFakeServer();
  using upstream = pool(server.port);
  for (let i = 1; i <= 4; i++) {
    assert.equal(answerNumber(await upstream.exchange(packet, performance.now() + 5000)), i);
  }
  assert.equal(server.connections(), 4);
  assert.equal(upstream.size, 0);
});

Deno.test("UpstreamPool with reuse asks one request after another on one connection", async () => {
  await using server = startFakeServer();
  using upstream = pool(server.port, { reuse: true });
  for (let i = 1; i <= 4; i++) {
    assert.equal(answerNumber(await upstream.exchange(packet, performance.now() + 5000)), i);
  }
  assert.equal(server.connections(), 1);
  assert.equal(upstream.size, 1);
});

Deno.test("UpstreamPool fails a request at once when maxQueued requests already wait", async () => {
  await using server = startFakeServer({ delayMs: 300 });
  using upstream = pool(server.port, { max: 1, queued: 2 });
  const deadline = performance.now() + 5000;
  const held = [1, 2, 3].map(() => upstream.exchange(packet, deadline));
  const start = performance.now();
  const refused = await failure(upstream.exchange(packet, deadline));
  assert.ok(performance.now() - start < 100);
  assert.equal(refused.failure, "busy");
  assert.match(refused.message, /^2 requests already wait for 127\.0\.0\.1:\d+$/);
  assert.deepEqual((await Promise.all(held)).map(answerNumber), [1, 2, 3]);
});

Deno.test("UpstreamPool passes over a request that timed out in the queue, without connecting for it", async () => {
  await using server = startFakeServer({ delayMs: 200 });
  using upstream = pool(server.port, { max: 1 });
  const first = upstream.exchange(packet, performance.now() + 5000);
  const start = performance.now();
  const late = failure(upstream.exchange(packet, performance.now() + 50));
  const third = upstream.exchange(packet, performance.now() + 5000);
  const timedOut = await late;
  assert.ok(performance.now() - start < 150, `${performance.now() - start} ms`);
  assert.match(timedOut.message, /^all 1 connections to 127\.0\.0\.1:\d+ stayed busy$/);
  assert.deepEqual([answerNumber(await first), answerNumber(await third)], [1, 2]);
  assert.equal(server.connections(), 2);
});

Deno.test("UpstreamPool does not connect for a request whose deadline has passed", async () => {
  await using server = startFakeServer();
  using upstream = pool(server.port);
  const timedOut = await failure(upstream.exchange(packet, performance.now() - 1));
  assert.equal(timedOut.failure, "timeout");
  await delay(50);
  assert.equal(server.connections(), 0);
  assert.equal(upstream.size, 0);
});

/** Asks the proxy at `port` three different requests on one connection. */
async function threeMisses(port: number): Promise<void> {
  using client = await RawClient.connect(port);
  for (const text of ["a", "b", "c"]) {
    await client.send(requestPacket(new TextEncoder().encode(text)));
    assert.ok(await client.readPacket(5000));
  }
}

Deno.test("startProxy() connects per miss by default and once with upstreamReuse", async () => {
  for (const [upstreamReuse, connections] of [[false, 3], [true, 1]] as const) {
    await using server = startFakeServer();
    await using proxy = startProxy({
      hostname: LOCAL,
      port: 0,
      servers: [{ hostname: LOCAL, port: server.port }],
      cache: new ResponseCache(),
      upstreamReuse,
    });
    await threeMisses(proxy.addr.port);
    assert.equal(server.connections(), connections, `upstreamReuse: ${upstreamReuse}`);
  }
});

Deno.test("calcnet proxy --upstream-reuse keeps its connection to the server", async () => {
  await using server = startFakeServer();
  const args = ["proxy", "--port", "0", "--no-persist", "--server", `${LOCAL}:${server.port}`];
  await using proxy = await startCli([...args, "--upstream-reuse"]);
  await threeMisses(proxy.port);
  assert.equal(server.connections(), 1);
});

Deno.test("UpstreamPool with reuse asks once more, on a new connection, when a reused one closes without answering", async () => {
  await using server = startFakeServer({ delayMs: 50 });
  using upstream = pool(server.port, { reuse: true });
  const deadline = performance.now() + 5000;
  // Two connections left idle.
  await Promise.all([1, 2].map(() => upstream.exchange(packet, deadline)));
  assert.equal(upstream.size, 2);
  server.set({ mode: "die-mid-answer" });
  const answer = upstream.exchange(packet, deadline);
  // The retry is at the server (request 4) once request 3 has died: it gets an answer.
  const until = performance.now() + 5000;
  while (server.requests() < 4 && performance.now() < until) await delay(5);
  server.set({ mode: "answer" });
  assert.equal(answerNumber(await answer), 4);
  // Not the other idle connection (it may be as stale): a third one.
  assert.equal(server.connections(), 3);
  assert.equal(upstream.size, 2);
});

Deno.test("UpstreamPool with reuse closes a pooled connection on which a byte arrives while idle", async () => {
  // Issue 9, attack 6: the server sends a forged answer 20 ms after each answer, on the idle connection.
  await using server = await startHostileServer("unsolicited");
  using upstream = pool(server.port, { reuse: true });
  const results: unknown[] = [];
  for (const text of ["first", "second"]) {
    const request = requestPacket(new TextEncoder().encode(text));
    const body = decodeResponse((await upstream.exchange(request, performance.now() + 5000))
      .subarray(HEADER_SIZE));
    assert.equal(body.kind, "result");
    results.push(body.kind === "result" ? body.result : null);
    assert.equal(results.at(-1), resultFor(request), `${text}: another answer`);
    // Well past the forged frame: it must have closed the idle connection, not wait in it.
    await delay(150);
    assert.equal(
      upstream.size,
      0,
      `${text}: the connection that got a stray frame is still pooled`,
    );
  }
  assert.ok(!results.includes(FORGED_RESULT));
});

Deno.test("calcnet proxy --max-upstream 1 sends distinct misses to the server one at a time", async () => {
  await using server = startFakeServer({ delayMs: 200 });
  const args = ["proxy", "--port", "0", "--no-persist", "--server", `${LOCAL}:${server.port}`];
  await using proxy = await startCli([...args, "--max-upstream", "1"]);
  const started = performance.now();
  const answers = await Promise.all(["a", "b", "c", "d"].map(async (text) => {
    using client = await RawClient.connect(proxy.port);
    await client.send(requestPacket(new TextEncoder().encode(text)));
    return await client.readPacket(5000);
  }));
  const took = performance.now() - started;
  assert.deepEqual(answers.map((answer) => answer && answerNumber(answer)).sort(), [1, 2, 3, 4]);
  // Four 200 ms answers in a row; with the default cap (64) they overlap in about 200 ms.
  assert.ok(took >= 750, `${Math.round(took)} ms: more than one request at the server at once`);
  assert.equal(server.connections(), 4);
});
