/**
 * The proxy's parts that need no sockets: the {@linkcode Coalescer} of
 * identical misses, and the pure outcome of a request and its log line.
 */

import assert from "node:assert/strict";
import { Coalescer } from "../src/proxy/coalescer.ts";
import { formatProxyEvent, missOutcome, type TripSummary } from "../src/proxy/proxy_event.ts";

const LIMITS = { maxWaiters: 2, waitTimeoutMs: 5_000 };

/** A trip that ends when the test says, counting how often it started. */
function manualTrip(): {
  trip: () => Promise<string>;
  finish: (result: string) => void;
  runs: () => number;
} {
  const { promise, resolve } = Promise.withResolvers<string>();
  let runs = 0;
  return {
    trip: () => {
      runs++;
      return promise;
    },
    finish: resolve,
    runs: () => runs,
  };
}

Deno.test("Coalescer.run() shares one trip among identical requests, and only while it runs", async () => {
  const coalescer = new Coalescer<string>(LIMITS, () => "timeout");
  const { trip, finish, runs } = manualTrip();
  const leader = coalescer.run("k", trip);
  const waiter = coalescer.run("k", trip);
  assert.equal(coalescer.inFlight, 1);
  finish("answer");
  assert.deepEqual(await leader, { shared: false, result: "answer" });
  assert.deepEqual(await waiter, { shared: true, result: "answer" });
  assert.equal(runs(), 1);
  assert.equal(coalescer.inFlight, 0);
  const later = await coalescer.run("k", () => Promise.resolve("fresh"));
  assert.deepEqual(later, { shared: false, result: "fresh" });
});

Deno.test("Coalescer.run() runs distinct keys apart and a request past maxWaiters alone", async () => {
  const coalescer = new Coalescer<string>(LIMITS, () => "timeout");
  const { trip, finish, runs } = manualTrip();
  const requests = [1, 2, 3, 4].map(() => coalescer.run("k", trip));
  const other = coalescer.run("other", () => Promise.resolve("other answer"));
  assert.deepEqual(await other, { shared: false, result: "other answer" });
  finish("answer");
  const shared = (await Promise.all(requests)).map((request) => request.shared);
  // The leader, two waiters (the most), and one that made its own trip.
  assert.deepEqual(shared, [false, true, true, false]);
  assert.equal(runs(), 2);
});

Deno.test("Coalescer.run() gives a waiter the timeout result once it waited waitTimeoutMs", async () => {
  const coalescer = new Coalescer<string>({ maxWaiters: 10, waitTimeoutMs: 30 }, () => "timeout");
  const { trip, finish } = manualTrip();
  const leader = coalescer.run("k", trip);
  const waiter = await coalescer.run("k", trip);
  assert.deepEqual(waiter, { shared: true, result: "timeout" });
  finish("answer");
  assert.deepEqual(await leader, { shared: false, result: "answer" });
});

const MISS: TripSummary = {
  bypass: false,
  stale: false,
  coalesced: false,
  sharedHit: false,
  failed: false,
  stored: true,
};

Deno.test("missOutcome() names a request past the cache, a failure before anything else", () => {
  assert.equal(missOutcome(MISS), "MISS (stored)");
  assert.equal(missOutcome({ ...MISS, stored: false }), "MISS (not stored)");
  assert.equal(missOutcome({ ...MISS, stale: true }), "STALE");
  assert.equal(missOutcome({ ...MISS, stale: true, bypass: true }), "BYPASS");
  assert.equal(missOutcome({ ...MISS, bypass: true, sharedHit: true }), "HIT (shared)");
  assert.equal(missOutcome({ ...MISS, sharedHit: true, coalesced: true }), "COALESCED");
  assert.equal(missOutcome({ ...MISS, coalesced: true, failed: true }), "ERROR");
});

Deno.test("formatProxyEvent() writes the log line with the remaining times, the server and a note", () => {
  assert.equal(
    formatProxyEvent({
      peer: "127.0.0.1:5000",
      outcome: "HIT",
      requestBytes: 40,
      responseBytes: 60,
      remaining: { server: 10, client: Infinity },
      elapsedMs: 0.25,
    }),
    "127.0.0.1:5000 HIT 40 B -> 60 B, server time remaining: 10.00, client time remaining: inf, 0.25 ms",
  );
  assert.equal(
    formatProxyEvent({
      peer: "127.0.0.1:5000",
      outcome: "ERROR",
      requestBytes: 40,
      responseBytes: 33,
      note: "server down",
      elapsedMs: 1,
      server: "127.0.0.1:9999",
    }),
    "127.0.0.1:5000 ERROR 40 B -> 33 B via 127.0.0.1:9999, 1.00 ms: server down",
  );
});
