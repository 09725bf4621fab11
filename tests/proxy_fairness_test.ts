/**
 * Fair shares of the proxy's connections to a server (finding F2 of a
 * hostile review): a client connection that pipelines many requests
 * delays another client's request by about one turn, not by all of its
 * own; a client holds at most a few connections at once; its own requests
 * keep their order.
 */

import assert from "node:assert/strict";
import { DEFAULT_MAX_UPSTREAM_PER_CLIENT, UpstreamPool } from "../src/proxy/upstream_pool.ts";
import { UpstreamError } from "../src/proxy/upstream_error.ts";
import { startProxy } from "../src/proxy/proxy.ts";
import { ResponseCache } from "../src/proxy/cache.ts";
import { answerNumber, type FakeServer, startFakeServer } from "./fakes/fake_server.ts";
import { delay, RawClient, requestPacket } from "./helpers/net.ts";

const LOCAL = "127.0.0.1";
const FLOOD = 100;
/** The server's time per request in these tests. */
const SLOW_MS = 30;
/** The server's time per request where a test counts the requests in flight at a moment. */
const CAPPED_SLOW_MS = 500;
/** A bound well above one turn (a few SLOW_MS) and well below waiting for the whole flood. */
const ONE_ROUND_BOUND_MS = 600;
const packet = requestPacket(new TextEncoder().encode("q"));
const FLOODER = "127.0.0.1:40001";
const OTHER = "127.0.0.1:40002";

function pool(port: number, options: { reuse?: boolean; max: number; perClient?: number }) {
  return new UpstreamPool({
    hostname: LOCAL,
    port,
    connectTimeoutMs: 2000,
    maxConnections: options.max,
    reuse: options.reuse,
    maxPerClient: options.perClient,
  });
}

/** Resolves once the fake server has had `count` requests (fails after 5 s). */
async function requestsReach(server: FakeServer, count: number): Promise<void> {
  const until = performance.now() + 5000;
  while (server.requests() < count) {
    assert.ok(performance.now() < until, `${server.requests()} requests, not ${count}`);
    await delay(5);
  }
}

/**
 * `count` requests of `client`, settled (so that none is left unhandled
 * when a test fails early).
 */
function flood(
  upstream: UpstreamPool,
  count: number,
  client: string,
): Promise<PromiseSettledResult<Uint8Array>[]> {
  const deadline = performance.now() + 30_000;
  return Promise.allSettled(
    Array.from({ length: count }, () => upstream.exchange(packet, deadline, client)),
  );
}

/** The answer numbers of the flood's answered requests; they must come first, in order. */
async function answeredPrefix(
  flooded: Promise<PromiseSettledResult<Uint8Array>[]>,
): Promise<number[]> {
  const settled = await flooded;
  const answered = settled.findIndex((result) => result.status === "rejected");
  const prefix = settled.slice(0, answered < 0 ? settled.length : answered);
  for (const result of settled.slice(prefix.length)) {
    assert.equal(
      result.status,
      "rejected",
      "an answer after a failure: not first come first served",
    );
    if (result.status === "rejected") assert.ok(result.reason instanceof UpstreamError);
  }
  return prefix.map((result) => answerNumber((result as PromiseFulfilledResult<Uint8Array>).value));
}

for (const reuse of [false, true]) {
  const how = reuse ? "reusing its connection" : "a connection per request";
  Deno.test(`UpstreamPool (${how}) serves a second client's request after one turn of a client that queued ${FLOOD}`, async () => {
    await using server = startFakeServer({ delayMs: SLOW_MS });
    using upstream = pool(server.port, { reuse, max: 1 });
    const flooded = flood(upstream, FLOOD, FLOODER);
    await requestsReach(server, 1);
    const started = performance.now();
    const answer = await upstream.exchange(packet, performance.now() + 30_000, OTHER);
    const waited = performance.now() - started;
    // The flooder's first request was at the server, its second was next in line: then this one.
    assert.equal(answerNumber(answer), 3);
    assert.ok(waited < ONE_ROUND_BOUND_MS, `waited ${waited.toFixed(0)} ms`);
    upstream.close();
    const numbers = await answeredPrefix(flooded);
    assert.deepEqual(numbers.slice(0, 2), [1, 2]);
    assert.ok(!numbers.includes(3));
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
  });
}

Deno.test("UpstreamPool lets one client use at most maxPerClient connections, the rest free for others", async () => {
  await using server = startFakeServer({ delayMs: CAPPED_SLOW_MS });
  using upstream = pool(server.port, { max: 16, perClient: 3 });
  const flooded = flood(upstream, 10, FLOODER);
  await requestsReach(server, 3);
  await delay(100);
  assert.equal(server.requests(), 3);
  assert.equal(upstream.size, 3);
  const started = performance.now();
  const answer = await upstream.exchange(packet, performance.now() + 30_000, OTHER);
  assert.equal(answerNumber(answer), 4);
  assert.ok(performance.now() - started < CAPPED_SLOW_MS + ONE_ROUND_BOUND_MS);
  upstream.close();
  const numbers = await answeredPrefix(flooded);
  assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
});

Deno.test("UpstreamPool fails a request kept waiting by its own client's share as busy, not as the server's timeout", async () => {
  await using server = startFakeServer({ delayMs: 300 });
  using upstream = pool(server.port, { max: 4, perClient: 1 });
  const [first, second] = await Promise.allSettled([
    upstream.exchange(packet, performance.now() + 5000, FLOODER),
    upstream.exchange(packet, performance.now() + 50, FLOODER),
  ]);
  assert.equal(second.status, "rejected");
  const failure: unknown = second.reason;
  assert.ok(failure instanceof UpstreamError, String(failure));
  assert.equal(failure.failure, "busy");
  assert.match(failure.message, /^this client's 1 earlier requests to 127\.0\.0\.1:\d+ held/);
  assert.equal(first.status, "fulfilled");
  assert.equal(answerNumber(first.value), 1);
  assert.equal(server.requests(), 1);
});

Deno.test("startProxy(): a client pipelining 100 bypass requests does not keep another client's miss waiting behind them", async () => {
  await using server = startFakeServer({ delayMs: SLOW_MS });
  await using proxy = startProxy({
    hostname: LOCAL,
    port: 0,
    servers: [{ hostname: LOCAL, port: server.port }],
    cache: new ResponseCache(),
    maxUpstreamConnections: 1,
    // The flood's requests still waiting then get their 500s, so the proxy stops soon after.
    answerTimeoutMs: 1500,
  });
  using flooder = await RawClient.connect(proxy.addr.port);
  const bypass = requestPacket(new TextEncoder().encode("costly"), { cacheControl: 0 });
  await flooder.send(new Uint8Array(Array.from({ length: FLOOD }, () => [...bypass]).flat()));
  await requestsReach(server, 1);
  using victim = await RawClient.connect(proxy.addr.port);
  const started = performance.now();
  await victim.send(requestPacket(new TextEncoder().encode("cheap")));
  const answer = await victim.readPacket();
  const waited = performance.now() - started;
  assert.ok(answer !== null);
  assert.ok(answerNumber(answer) <= 3, `answer #${answerNumber(answer)}`);
  assert.ok(waited < ONE_ROUND_BOUND_MS, `waited ${waited.toFixed(0)} ms`);
  // The flooder's own requests kept their order.
  const first: number[] = [];
  for (let i = 0; i < 4; i++) first.push(answerNumber(await flooder.readPacket() as Uint8Array));
  assert.deepEqual(first, [...first].sort((a, b) => a - b));
});

Deno.test("startProxy(): one client connection has at most DEFAULT_MAX_UPSTREAM_PER_CLIENT requests at the server", async () => {
  await using server = startFakeServer({ delayMs: CAPPED_SLOW_MS });
  await using proxy = startProxy({
    hostname: LOCAL,
    port: 0,
    servers: [{ hostname: LOCAL, port: server.port }],
    cache: new ResponseCache(),
    answerTimeoutMs: 1000,
  });
  using flooder = await RawClient.connect(proxy.addr.port);
  const bypass = requestPacket(new TextEncoder().encode("costly"), { cacheControl: 0 });
  await flooder.send(new Uint8Array(Array.from({ length: 20 }, () => [...bypass]).flat()));
  await requestsReach(server, DEFAULT_MAX_UPSTREAM_PER_CLIENT);
  await delay(100);
  assert.equal(server.requests(), DEFAULT_MAX_UPSTREAM_PER_CLIENT);
  // Another client connection gets a connection of its own at once.
  using other = await RawClient.connect(proxy.addr.port);
  await other.send(requestPacket(new TextEncoder().encode("cheap")));
  assert.equal(
    answerNumber(await other.readPacket() as Uint8Array),
    DEFAULT_MAX_UPSTREAM_PER_CLIENT + 1,
  );
});
