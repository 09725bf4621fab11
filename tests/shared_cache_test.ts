import assert from "node:assert/strict";
import {
  parseRedisUrl,
  RedisStore,
  type RedisStoreOptions,
  type SharedOutcome,
  type SharedStore,
  type StoreState,
  type StoreStateChange,
} from "../src/shared_cache/mod.ts";
import { StoreKeys } from "../src/shared_cache/store_keys.ts";
import { RedisServer } from "./helpers/redis_server.ts";

/** The upstream address a proxy would pass as its namespace. */
const NAMESPACE = "127.0.0.1:7777";

/** The store's operation timeout in these tests (the default). */
const TIMEOUT_MS = 200;

/** Slack for timer and scheduling jitter on a loaded machine. */
const SLACK_MS = 150;

/** The longest a test waits for a state change. */
const STATE_WAIT_MS = 10_000;

/** A response-sized value holding every byte value, 0x00–0xff, twice. */
const ANSWER = Uint8Array.from({ length: 512 }, (_, i) => (i * 7 + 3) % 256);

/** Another packet-sized value. */
const OTHER_ANSWER = Uint8Array.from({ length: 40 }, (_, i) => 255 - i);

const KEY = "\x80\x03pretend pickled data\x00\xff-";
const OTHER_KEY = "\x80\x03other pickled data-";

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition()` holds, polling; fails the test after `ms`. */
async function waitUntil(condition: () => boolean, what: string, ms = STATE_WAIT_MS) {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`waited ${ms} ms for ${what}`);
    await delay(10);
  }
}

/** A store on `redis` that records its state changes in `events`, once it is up. */
async function upStore(
  redis: RedisServer,
  events: StoreState[] = [],
  options: Partial<RedisStoreOptions> = {},
): Promise<RedisStore> {
  const store = new RedisStore({
    url: redis.url,
    namespace: NAMESPACE,
    onState: (change) => events.push(change.state),
    ...options,
  });
  try {
    await waitUntil(() => store.state === "up", "the store to come up");
    return store;
  } catch (error: unknown) {
    await store.close();
    throw error;
  }
}

/** Waits until `count` connections listen on the namespace's channel. */
async function untilSubscribed(redis: RedisServer, count: number): Promise<void> {
  const channel = new StoreKeys(NAMESPACE).channel;
  const deadline = performance.now() + STATE_WAIT_MS;
  while (Number((await redis.cli(["PUBSUB", "NUMSUB", channel])).split("\n")[1]) < count) {
    if (performance.now() > deadline) assert.fail(`no ${count} subscribers on ${channel}`);
    await delay(10);
  }
}

/** Runs `call` and returns how long it took and what it answered. */
async function timed<T>(call: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await call();
  return { ms: performance.now() - started, value };
}

/** Every operation once, concurrently; each result with its duration. */
function everyOperation(store: SharedStore): Promise<{ ms: number; value: unknown }>[] {
  const outcome: SharedOutcome = { response: ANSWER, failed: false };
  return [
    timed(() => store.get(KEY)),
    timed(() => store.set(KEY, ANSWER, 60)),
    timed(() => store.lead(OTHER_KEY, 1000)),
    timed(() => store.publish(KEY, outcome)),
    timed(() => store.release(OTHER_KEY)),
    timed(() => store.await(KEY, performance.now() + 5000)),
  ];
}

Deno.test("RedisStore get() returns the bytes set() stored, every byte value intact", async () => {
  await using redis = await RedisServer.start();
  await using store = await upStore(redis);
  assert.equal(await store.get(KEY), undefined);
  await store.set(KEY, ANSWER, 60);
  await store.set(OTHER_KEY, OTHER_ANSWER, 60);
  const back = await store.get(KEY);
  assert.ok(back instanceof Uint8Array);
  assert.equal(Object.getPrototypeOf(back), Uint8Array.prototype);
  assert.deepEqual(back, ANSWER);
  assert.deepEqual(await store.get(OTHER_KEY), OTHER_ANSWER);
  assert.deepEqual(store.counters, { ops: 5, failures: 0, timeouts: 0, skipped: 0 });
});

Deno.test("RedisStore keys are calcnet:v1:<namespace>:{<sha256 of the cache key>}", async () => {
  await using redis = await RedisServer.start();
  await using store = await upStore(redis);
  await store.set(KEY, ANSWER, 60);
  const hash = new StoreKeys(NAMESPACE).of(KEY).hash;
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(await redis.cli(["KEYS", "*"]), `calcnet:v1:127.0.0.1:7777:{${hash}}`);
});

Deno.test("RedisStore entries are shared by two stores of one namespace", async () => {
  await using redis = await RedisServer.start();
  await using proxyA = await upStore(redis);
  await using proxyB = await upStore(redis);
  await proxyA.set(KEY, ANSWER, 60);
  assert.deepEqual(await proxyB.get(KEY), ANSWER);
});

Deno.test("RedisStore stores of two namespaces do not see each other's entries or locks", async () => {
  await using redis = await RedisServer.start();
  await using first = await upStore(redis, [], { namespace: "127.0.0.1:7777" });
  await using second = await upStore(redis, [], { namespace: "127.0.0.1:8888" });
  await first.set(KEY, ANSWER, 60);
  assert.equal(await second.get(KEY), undefined);
  assert.deepEqual(await first.get(KEY), ANSWER);
  assert.equal(await first.lead(OTHER_KEY, 5000), "leader");
  assert.equal(await second.lead(OTHER_KEY, 5000), "leader");
  await first.release(OTHER_KEY);
  await second.release(OTHER_KEY);
});

Deno.test("RedisStore entries expire after their TTL", async () => {
  await using redis = await RedisServer.start();
  await using store = await upStore(redis);
  await store.set(KEY, ANSWER, 0.3);
  const { entry } = new StoreKeys(NAMESPACE).of(KEY);
  const pttl = Number(await redis.cli(["PTTL", entry]));
  assert.ok(pttl > 0 && pttl <= 300, `PTTL ${pttl}`);
  assert.deepEqual(await store.get(KEY), ANSWER);
  await delay(400);
  assert.equal(await store.get(KEY), undefined);
});

Deno.test("RedisStore set() caps 'forever' (65535 or Infinity) and longer TTLs at maxEntryTtlSeconds", async () => {
  await using redis = await RedisServer.start();
  await using store = await upStore(redis, [], { maxEntryTtlSeconds: 100 });
  const keys = new StoreKeys(NAMESPACE);
  for (const ttl of [65535, Infinity, 1000]) {
    await store.set(KEY, ANSWER, ttl);
    const pttl = Number(await redis.cli(["PTTL", keys.of(KEY).entry]));
    assert.ok(pttl > 99_000 && pttl <= 100_000, `TTL ${ttl} gave PTTL ${pttl}`);
  }
});

Deno.test("RedisStore set() stores nothing for a TTL ≤ 0 or a value that is not packet-sized", async () => {
  await using redis = await RedisServer.start();
  await using store = await upStore(redis);
  await store.set(KEY, ANSWER, 0);
  await store.set(KEY, ANSWER, -5);
  await store.set(KEY, ANSWER, NaN);
  await store.set(KEY, new Uint8Array(11), 60);
  await store.set(KEY, new Uint8Array(65_536), 60);
  assert.equal(await redis.cli(["DBSIZE"]), "0");
});

Deno.test("RedisStore get() refuses a value that cannot be a packet, reading at most one packet", async () => {
  await using redis = await RedisServer.start();
  await using store = await upStore(redis);
  const { entry } = new StoreKeys(NAMESPACE).of(KEY);
  await redis.cli(["SET", entry], new Uint8Array(1_000_000).fill(0x41));
  assert.equal(await store.get(KEY), undefined);
  await redis.cli(["SET", entry], new Uint8Array(5));
  assert.equal(await store.get(KEY), undefined);
  assert.equal(store.state, "up");
});

Deno.test("RedisStore counts an error reply as a failure but stays up", async () => {
  await using redis = await RedisServer.start();
  const events: StoreState[] = [];
  await using store = await upStore(redis, events);
  const { entry } = new StoreKeys(NAMESPACE).of(KEY);
  await redis.cli(["LPUSH", entry, "not a string"]);
  assert.equal(await store.get(KEY), undefined);
  assert.equal(store.counters.failures, 1);
  assert.equal(store.state, "up");
  assert.deepEqual(events, ["up"]);
  await store.set(OTHER_KEY, ANSWER, 60);
  assert.deepEqual(await store.get(OTHER_KEY), ANSWER);
});

Deno.test("RedisStore lead() gives one leader; its published answer reaches the followers of both stores", async () => {
  await using redis = await RedisServer.start();
  // Followers that only poll every 10 s: an answer within 1 s came by the announcement.
  const slowPolling = { pollIntervalMs: 10_000 };
  await using proxyA = await upStore(redis, [], slowPolling);
  await using proxyB = await upStore(redis, [], slowPolling);
  await untilSubscribed(redis, 2);
  assert.equal(await proxyA.lead(KEY, 10_000), "leader");
  assert.equal(await proxyB.lead(KEY, 10_000), "follower");
  assert.equal(await proxyA.lead(KEY, 10_000), "follower");
  const deadline = performance.now() + 5000;
  const waits = [proxyA, proxyB, proxyB].map((store) => timed(() => store.await(KEY, deadline)));
  await delay(50);
  assert.deepEqual([proxyA.waiting, proxyB.waiting], [1, 2]);
  await proxyA.publish(KEY, { response: ANSWER, failed: false });
  await proxyA.release(KEY);
  for (const { ms, value } of await Promise.all(waits)) {
    assert.deepEqual(value, { response: ANSWER, failed: false });
    assert.ok(ms < 1000, `a follower waited ${ms} ms`);
  }
  assert.deepEqual([proxyA.waiting, proxyB.waiting], [0, 0]);
  assert.equal(await redis.cli(["EXISTS", new StoreKeys(NAMESPACE).of(KEY).lock]), "0");
});

Deno.test("RedisStore lead() from 200 concurrent callers on two stores makes one leader", async () => {
  await using redis = await RedisServer.start();
  await using proxyA = await upStore(redis);
  await using proxyB = await upStore(redis);
  const roles = await Promise.all(
    Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? proxyA : proxyB).lead(KEY, 10_000)),
  );
  assert.equal(roles.filter((role) => role === "leader").length, 1);
  assert.equal(roles.filter((role) => role === "follower").length, 199);
  await proxyA.release(KEY);
  await proxyB.release(KEY);
  assert.equal(await redis.cli(["EXISTS", new StoreKeys(NAMESPACE).of(KEY).lock]), "0");
});

Deno.test("RedisStore await() finds an outcome written without an announcement by polling", async () => {
  await using redis = await RedisServer.start();
  await using leader = await upStore(redis);
  await using follower = await upStore(redis, [], { pollIntervalMs: 50 });
  assert.equal(await leader.lead(KEY, 10_000), "leader");
  const waiting = timed(() => follower.await(KEY, performance.now() + 5000));
  await delay(100);
  const { result } = new StoreKeys(NAMESPACE).of(KEY);
  await redis.cli(["SET", result], Uint8Array.of(0, ...OTHER_ANSWER));
  const { ms, value } = await waiting;
  assert.deepEqual(value, { response: OTHER_ANSWER, failed: false });
  assert.ok(ms < 1000, `the follower waited ${ms} ms`);
  await leader.release(KEY);
});

Deno.test("RedisStore shares a failure with the followers but never stores it as an entry", async () => {
  await using redis = await RedisServer.start();
  await using proxyA = await upStore(redis);
  await using proxyB = await upStore(redis, [], { resultTtlMs: 300 });
  assert.equal(await proxyA.lead(KEY, 10_000), "leader");
  assert.equal(await proxyB.lead(KEY, 10_000), "follower");
  const waiting = proxyB.await(KEY, performance.now() + 5000);
  await proxyA.publish(KEY, { response: OTHER_ANSWER, failed: true });
  await proxyA.release(KEY);
  assert.deepEqual(await waiting, { response: OTHER_ANSWER, failed: true });
  assert.equal(await proxyB.get(KEY), undefined);
  // The record lives resultTtlMs (proxyA's default 1 s here), then nothing is left.
  const { result } = new StoreKeys(NAMESPACE).of(KEY);
  const pttl = Number(await redis.cli(["PTTL", result]));
  assert.ok(pttl > 0 && pttl <= 1000, `PTTL ${pttl}`);
});

Deno.test("RedisStore followers are released by the lock's expiry when the leader dies", async () => {
  await using redis = await RedisServer.start();
  await using follower = await upStore(redis, [], { pollIntervalMs: 10_000 });
  {
    await using leader = await upStore(redis);
    assert.equal(await leader.lead(KEY, 400), "leader");
    // The leader's process ends here without publishing or releasing.
  }
  const started = performance.now();
  const { value } = await timed(() => follower.await(KEY, started + 10_000));
  const waited = performance.now() - started;
  assert.equal(value, undefined);
  assert.ok(waited > 200 && waited < 400 + 1000, `released after ${waited} ms`);
  assert.equal(await follower.lead(KEY, 1000), "leader");
  await follower.release(KEY);
});

Deno.test("RedisStore await() gives up at its deadline", async () => {
  await using redis = await RedisServer.start();
  await using leader = await upStore(redis);
  await using follower = await upStore(redis);
  assert.equal(await leader.lead(KEY, 10_000), "leader");
  const { ms, value } = await timed(() => follower.await(KEY, performance.now() + 300));
  assert.equal(value, undefined);
  assert.ok(ms >= 290 && ms < 300 + SLACK_MS, `gave up after ${ms} ms`);
  await leader.release(KEY);
});

Deno.test("RedisStore await() without a lock or outcome answers undefined at once", async () => {
  await using redis = await RedisServer.start();
  await using store = await upStore(redis);
  const { ms, value } = await timed(() => store.await(KEY, performance.now() + 5000));
  assert.equal(value, undefined);
  assert.ok(ms < 100, `took ${ms} ms`);
});

Deno.test("RedisStore lead() holds the lock for ttlMs", async () => {
  await using redis = await RedisServer.start();
  await using store = await upStore(redis);
  assert.equal(await store.lead(KEY, 5000), "leader");
  const { lock } = new StoreKeys(NAMESPACE).of(KEY);
  const pttl = Number(await redis.cli(["PTTL", lock]));
  assert.ok(pttl > 4000 && pttl <= 5000, `PTTL ${pttl}`);
  await store.release(KEY);
  assert.equal(await redis.cli(["EXISTS", lock]), "0");
});

Deno.test("RedisStore release() never deletes a lock that another store took after expiry", async () => {
  await using redis = await RedisServer.start();
  await using first = await upStore(redis);
  await using second = await upStore(redis);
  assert.equal(await first.lead(KEY, 100), "leader");
  await delay(200);
  assert.equal(await second.lead(KEY, 10_000), "leader");
  await first.release(KEY);
  const { lock } = new StoreKeys(NAMESPACE).of(KEY);
  assert.equal(await redis.cli(["EXISTS", lock]), "1");
  await second.release(KEY);
  assert.equal(await redis.cli(["EXISTS", lock]), "0");
});

Deno.test("RedisStore answers at once while connecting, skipping Redis", async () => {
  await using redis = await RedisServer.start();
  await using store = new RedisStore({ url: redis.url, namespace: NAMESPACE });
  assert.equal(store.state, "connecting");
  const { ms, value } = await timed(() => store.get(KEY));
  assert.equal(value, undefined);
  assert.ok(ms < 50, `took ${ms} ms`);
  assert.equal(await store.lead(KEY, 1000), undefined);
  assert.deepEqual(store.counters, { ops: 0, failures: 0, timeouts: 0, skipped: 2 });
  await waitUntil(() => store.state === "up", "the store to come up");
});

Deno.test("RedisStore with no Redis listening reports down once and answers at once", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const changes: StoreStateChange[] = [];
  await using store = new RedisStore({
    url: `redis://127.0.0.1:${port}`,
    namespace: NAMESPACE,
    onState: (change) => changes.push(change),
  });
  await waitUntil(() => store.state === "down", "the store to go down");
  await delay(500);
  assert.deepEqual(changes.map((change) => change.state), ["down"]);
  assert.match(changes[0]?.detail ?? "", /ECONNREFUSED/);
  for (const call of everyOperation(store)) {
    const { ms, value } = await call;
    assert.equal(value, undefined);
    assert.ok(ms < 50, `took ${ms} ms`);
  }
  assert.equal(store.counters.ops, 0);
});

Deno.test("RedisStore survives Redis killed mid-run: quick undefined answers, down once, up once when it returns", async () => {
  await using redis = await RedisServer.start();
  const events: StoreState[] = [];
  await using store = await upStore(redis, events);
  await store.set(KEY, ANSWER, 60);
  assert.equal(await store.lead(OTHER_KEY, 10_000), "leader");
  await using follower = await upStore(redis);
  const waiting = timed(() => follower.await(OTHER_KEY, performance.now() + 10_000));
  await delay(50);
  await redis.kill();
  const waited = await waiting;
  assert.equal(waited.value, undefined);
  assert.ok(waited.ms < 50 + 1000, `the follower waited ${waited.ms} ms`);
  for (let round = 0; round < 3; round++) {
    for (const call of everyOperation(store)) {
      const { ms, value } = await call;
      assert.equal(value, undefined);
      assert.ok(ms < TIMEOUT_MS + SLACK_MS, `took ${ms} ms`);
    }
  }
  assert.deepEqual(events, ["up", "down"]);
  assert.ok(store.counters.skipped >= 12, `skipped ${store.counters.skipped}`);
  await redis.restart();
  await waitUntil(() => store.state === "up", "the store to come back");
  assert.deepEqual(events, ["up", "down", "up"]);
  // The restarted Redis is empty: the store works again from scratch.
  assert.equal(await store.get(KEY), undefined);
  await store.set(KEY, ANSWER, 60);
  assert.deepEqual(await store.get(KEY), ANSWER);
});

Deno.test("RedisStore with a paused Redis (SIGSTOP): every call returns within the timeout", async () => {
  await using redis = await RedisServer.start();
  const events: StoreState[] = [];
  await using store = await upStore(redis, events);
  redis.pause();
  try {
    const calls = everyOperation(store);
    for (const call of calls) {
      const { ms, value } = await call;
      assert.equal(value, undefined);
      assert.ok(ms < TIMEOUT_MS + SLACK_MS, `took ${ms} ms`);
    }
    assert.equal(store.state, "down");
    assert.ok(store.counters.timeouts >= 1);
    // The circuit is open: no more waiting for the timeout.
    const { ms } = await timed(() => store.get(KEY));
    assert.ok(ms < 50, `an open circuit took ${ms} ms`);
  } finally {
    redis.resume();
  }
  await waitUntil(() => store.state === "up", "the store to come back");
  assert.deepEqual(events, ["up", "down", "up"]);
  await store.set(KEY, ANSWER, 60);
  assert.deepEqual(await store.get(KEY), ANSWER);
});

Deno.test("RedisStore close() wakes its followers; later calls do nothing", async () => {
  await using redis = await RedisServer.start();
  await using leader = await upStore(redis);
  const follower = await upStore(redis);
  assert.equal(await leader.lead(KEY, 10_000), "leader");
  const waiting = timed(() => follower.await(KEY, performance.now() + 10_000));
  await delay(50);
  await follower.close();
  const { ms, value } = await waiting;
  assert.equal(value, undefined);
  assert.ok(ms < 50 + 500, `the follower waited ${ms} ms`);
  assert.equal(await follower.get(KEY), undefined);
  await follower.close();
  await leader.release(KEY);
});

Deno.test("RedisStore over rediss:// speaks TLS: a plain Redis is never up", async () => {
  await using redis = await RedisServer.start();
  const changes: StoreStateChange[] = [];
  await using store = new RedisStore({
    url: `rediss://127.0.0.1:${redis.port}`,
    namespace: NAMESPACE,
    connectTimeoutMs: 300,
    onState: (change) => changes.push(change),
  });
  await waitUntil(() => store.state === "down", "the store to go down");
  await delay(500);
  assert.deepEqual(changes.map((change) => change.state), ["down"]);
  assert.equal(await store.get(KEY), undefined);
});

Deno.test("RedisStore connects with the user, password and database of its URL", async () => {
  await using redis = await RedisServer.start();
  await redis.cli(["ACL", "SETUSER", "calc", "on", ">p@ss:word", "~*", "&*", "+@all"]);
  await using store = await upStore(redis, [], {
    url: `redis://calc:p%40ss%3Aword@127.0.0.1:${redis.port}/3`,
  });
  await store.set(KEY, ANSWER, 60);
  assert.equal(await redis.cli(["-n", "3", "DBSIZE"]), "1");
  assert.equal(await redis.cli(["DBSIZE"]), "0");
  await using wrong = new RedisStore({
    url: `redis://calc:wrong@127.0.0.1:${redis.port}`,
    namespace: NAMESPACE,
  });
  await waitUntil(() => wrong.state === "down", "a wrong password to be refused");
});

Deno.test("RedisStore refuses a bad URL, namespace or setting at construction", () => {
  assert.throws(() => new RedisStore({ url: "http://h", namespace: NAMESPACE }), /redis:\/\//);
  assert.throws(() => new RedisStore({ url: "redis://h", namespace: "" }), RangeError);
  assert.throws(
    () => new RedisStore({ url: "redis://h", namespace: NAMESPACE, timeoutMs: 0 }),
    /timeoutMs must be a positive integer/,
  );
  assert.throws(
    () => new RedisStore({ url: "redis://h", namespace: NAMESPACE, resultTtlMs: 0.5 }),
    /resultTtlMs must be a positive integer/,
  );
});

Deno.test("RedisStore lead() refuses a lock time that is not positive and finite", async () => {
  await using redis = await RedisServer.start();
  await using store = await upStore(redis);
  for (const ttl of [0, -1, NaN, Infinity]) {
    await assert.rejects(() => store.lead(KEY, ttl), RangeError, `ttl ${ttl}`);
  }
  assert.equal(await redis.cli(["DBSIZE"]), "0");
});

Deno.test("parseRedisUrl() reads rediss:// as TLS, with user, password, port and database", () => {
  const endpoint = parseRedisUrl("rediss://app:s%40cret@cache.example:6380/2");
  assert.deepEqual(endpoint, {
    host: "cache.example",
    port: 6380,
    tls: true,
    username: "app",
    password: "s@cret",
    database: 2,
    display: "rediss://app:***@cache.example:6380/2",
  });
});
