/**
 * The fair queue in front of the proxy's connections to a server, alone
 * (no sockets): the lines of the clients take turns, host by host, first
 * come first served within a client, a client holds a few turns at most,
 * and the bounded waiting room makes way for a newcomer at the cost of the
 * client with the most waiting.
 */

import assert from "node:assert/strict";
import { type Capacity, FairQueue, type NoTurn, type Turn } from "../src/proxy/fair_queue.ts";

/** The failure a test queue refuses with. */
class Refused extends Error {
  constructor(readonly noTurn: NoTurn) {
    super(noTurn.why);
  }
}

/** Numbered slots, `free` of them free now. */
class Slots implements Capacity<number> {
  #next = 0;
  constructor(public free: number) {}
  available(): boolean {
    return this.free > 0;
  }
  take(): number {
    this.free--;
    return ++this.#next;
  }
}

const LATER = 60_000;

function queue(
  slots: Slots,
  limits: { perClient?: number; waiting?: number } = {},
): FairQueue<number> {
  return new FairQueue(
    { maxActivePerClient: limits.perClient ?? 8, maxWaiting: limits.waiting ?? 100 },
    slots,
    (noTurn) => new Refused(noTurn),
  );
}

/** The requests of `clients` (one entry per request), in that order, recording who got a turn when. */
function takeAll(
  fair: FairQueue<number>,
  clients: readonly string[],
  order: string[],
  deadline = performance.now() + LATER,
): Promise<Turn<number>>[] {
  return clients.map((client) =>
    fair.take(client, deadline).then((turn) => {
      order.push(client);
      return turn;
    })
  );
}

/** Frees one slot at a time and lets the queue hand it on, `count` times. */
async function freeOneByOne(fair: FairQueue<number>, slots: Slots, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    slots.free++;
    fair.dispatch();
    await Promise.resolve();
  }
}

/** The failure `promise` rejects with (it must reject). */
async function refusal(promise: Promise<unknown>): Promise<NoTurn> {
  try {
    await promise;
  } catch (error: unknown) {
    assert.ok(error instanceof Refused, String(error));
    return error.noTurn;
  }
  assert.fail("resolved");
}

Deno.test("FairQueue takes the clients' lines in turn, first come first served within each", async () => {
  const slots = new Slots(1);
  const fair = queue(slots);
  const order: string[] = [];
  const a = "127.0.0.1:1001", b = "127.0.0.1:1002", c = "127.0.0.1:1003";
  const turns = takeAll(fair, [a, a, a, a, b, b, c], order);
  await Promise.resolve();
  assert.deepEqual(order, [a]);
  await freeOneByOne(fair, slots, 6);
  assert.deepEqual(order, [a, a, b, c, a, b, a]);
  // FIFO within a client: each client's grants are in the order it asked.
  const grants = await Promise.all(turns);
  assert.deepEqual(grants.map((turn) => turn.grant), [1, 2, 5, 7, 3, 6, 4]);
});

Deno.test("FairQueue serves the hosts in turn before the connections of one host", async () => {
  const slots = new Slots(1);
  const fair = queue(slots);
  const order: string[] = [];
  const busyHost = ["10.0.0.1:1", "10.0.0.1:2", "10.0.0.1:3", "10.0.0.1:4"];
  const turns = takeAll(fair, [...busyHost, "10.0.0.2:1", "::1:5", "::1:6"], order);
  await freeOneByOne(fair, slots, 6);
  assert.deepEqual(order, [
    "10.0.0.1:1",
    "10.0.0.1:2",
    "10.0.0.2:1",
    "::1:5",
    "10.0.0.1:3",
    "::1:6",
    "10.0.0.1:4",
  ]);
  await Promise.all(turns);
});

Deno.test("FairQueue gives one client at most its share of turns, even with capacity left", async () => {
  const slots = new Slots(10);
  const fair = queue(slots, { perClient: 2 });
  const order: string[] = [];
  const a = "127.0.0.1:1001";
  const [a1, a2, a3, a4] = takeAll(fair, [a, a, a, a], order);
  const [b1] = takeAll(fair, ["127.0.0.1:1002"], order);
  await Promise.resolve();
  assert.deepEqual(order, [a, a, "127.0.0.1:1002"]);
  assert.equal(fair.waiting, 2);
  assert.equal(slots.free, 7);
  (await a1)?.done();
  await Promise.resolve();
  assert.deepEqual(order, [a, a, "127.0.0.1:1002", a]);
  assert.equal((await a3)?.grant, 4);
  // Done twice counts once.
  (await a1)?.done();
  await Promise.resolve();
  assert.equal(fair.waiting, 1);
  (await a2)?.done();
  assert.equal((await a4)?.grant, 5);
  (await b1)?.done();
});

Deno.test("FairQueue times out a request whose client keeps its share, telling it was capped", async () => {
  const slots = new Slots(4);
  const fair = queue(slots, { perClient: 1 });
  const first = await fair.take("127.0.0.1:1001", performance.now() + LATER);
  const started = performance.now();
  const capped = await refusal(fair.take("127.0.0.1:1001", performance.now() + 30));
  assert.ok(performance.now() - started < 1000);
  assert.deepEqual(capped, { why: "timeout", capped: true });
  first.done();
  // The timed-out request was passed over: the slots are untouched.
  assert.equal(slots.free, 3);
  assert.equal(fair.waiting, 0);
});

Deno.test("FairQueue passes over a request whose deadline passed before its timer ran", async () => {
  const slots = new Slots(0);
  const fair = queue(slots);
  const late = refusal(fair.take("127.0.0.1:1001", performance.now() + 5));
  const next = fair.take("127.0.0.1:1002", performance.now() + LATER);
  const until = performance.now() + 10;
  while (performance.now() < until) {
    // The event loop is held: the first request's timer cannot run.
  }
  slots.free = 1;
  fair.dispatch();
  assert.deepEqual(await late, { why: "timeout", capped: false });
  assert.equal((await next).grant, 1);
  assert.equal(fair.waiting, 0);
});

Deno.test("FairQueue refuses a request whose deadline has passed without taking capacity", async () => {
  const slots = new Slots(1);
  const fair = queue(slots);
  assert.deepEqual(await refusal(fair.take("127.0.0.1:1001", performance.now() - 1)), {
    why: "timeout",
    capped: false,
  });
  assert.equal(slots.free, 1);
});

Deno.test("FairQueue, full, lets a newcomer displace the newest waiter of the client with far more waiting", async () => {
  const slots = new Slots(0);
  const fair = queue(slots, { waiting: 4 });
  const order: string[] = [];
  const flood = takeAll(fair, Array(4).fill("127.0.0.1:1001"), order);
  const [newest] = flood.splice(3, 1);
  const [other] = takeAll(fair, ["127.0.0.1:1002"], order);
  assert.deepEqual(await refusal(newest as Promise<unknown>), { why: "displaced" });
  const [third] = takeAll(fair, ["127.0.0.1:1003"], order);
  const [displacedToo] = flood.splice(2, 1);
  assert.deepEqual(await refusal(displacedToo as Promise<unknown>), { why: "displaced" });
  // 2 waiting for the flooder, 1 for this client: not enough more to displace.
  assert.deepEqual(await refusal(fair.take("127.0.0.1:1002", performance.now() + LATER)), {
    why: "full",
    waiting: 4,
  });
  await freeOneByOne(fair, slots, 4);
  assert.deepEqual(order, ["127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003", "127.0.0.1:1001"]);
  await Promise.all([...flood, other, third]);
});

Deno.test("FairQueue treats each request without a client as a client of its own, in arrival order", async () => {
  const slots = new Slots(1);
  const fair = queue(slots, { perClient: 1 });
  const grants: number[] = [];
  const turns = [0, 1, 2, 3].map(() =>
    fair.take(undefined, performance.now() + LATER).then((turn) => grants.push(turn.grant))
  );
  await freeOneByOne(fair, slots, 3);
  await Promise.all(turns);
  assert.deepEqual(grants, [1, 2, 3, 4]);
});

Deno.test("FairQueue.close() fails the waiting requests and every later one", async () => {
  const slots = new Slots(0);
  const fair = queue(slots);
  const waiting = fair.take("127.0.0.1:1001", performance.now() + LATER);
  fair.close();
  assert.deepEqual(await refusal(waiting), { why: "closed" });
  assert.deepEqual(await refusal(fair.take("127.0.0.1:1001", performance.now() + LATER)), {
    why: "closed",
  });
  assert.equal(fair.waiting, 0);
});
