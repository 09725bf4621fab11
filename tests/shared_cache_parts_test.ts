import assert from "node:assert/strict";
import { parseRedisUrl, RedisUrlError } from "../src/shared_cache/mod.ts";
import { Announcements } from "../src/shared_cache/announcements.ts";
import { backoffDelay } from "../src/shared_cache/backoff.ts";
import { Circuit } from "../src/shared_cache/circuit.ts";
import { decodeOutcome, encodeOutcome } from "../src/shared_cache/outcome_record.ts";
import type { StoreStateChange } from "../src/shared_cache/shared_store.ts";
import { StoreKeys } from "../src/shared_cache/store_keys.ts";

const PACKET = Uint8Array.from({ length: 20 }, (_, i) => i * 13);

Deno.test("parseRedisUrl() reads a bare redis:// host with the defaults", () => {
  assert.deepEqual(parseRedisUrl("redis://localhost"), {
    host: "localhost",
    port: 6379,
    tls: false,
    database: 0,
    display: "redis://localhost",
  });
});

Deno.test("parseRedisUrl() reads rediss:// as TLS and percent-decodes user and password", () => {
  const endpoint = parseRedisUrl("rediss://ops%2Bapp:p%40ss%3Aw%2Frd@cache.example:6380/15");
  assert.equal(endpoint.tls, true);
  assert.equal(endpoint.host, "cache.example");
  assert.equal(endpoint.port, 6380);
  assert.equal(endpoint.username, "ops+app");
  assert.equal(endpoint.password, "p@ss:w/rd");
  assert.equal(endpoint.database, 15);
  assert.equal(endpoint.display, "rediss://ops%2Bapp:***@cache.example:6380/15");
});

Deno.test("parseRedisUrl() reads a password without a user, and an IPv6 host", () => {
  const endpoint = parseRedisUrl("redis://:secret@[::1]:7000/");
  assert.equal(endpoint.username, undefined);
  assert.equal(endpoint.password, "secret");
  assert.equal(endpoint.host, "::1");
  assert.equal(endpoint.port, 7000);
  assert.equal(endpoint.database, 0);
  assert.equal(endpoint.display, "redis://:***@[::1]:7000");
});

Deno.test("parseRedisUrl() refuses what it cannot use, never echoing a password", () => {
  const cases: [string, RegExp][] = [
    ["http://cache:6379", /starts with redis:\/\/ or rediss:\/\//],
    ["cache:6379", /starts with redis:\/\/ or rediss:\/\//],
    ["redis:///2", /has no host/],
    ["redis://u:secret@cache:0", /port 0 is not a server's port/],
    ["redis://u:secret@cache:99999", /"redis:\/\/u:\*\*\*@cache:99999" is not an address/],
    ["redis://u:secret@cache:12a", /is not an address/],
    ["redis://u:secret@cache/x", /"\/x" in "redis:\/\/u:\*\*\*@cache\/x" is not a database number/],
    ["redis://cache/1/2", /is not a database number/],
    ["redis://cache/65536", /is not a database number/],
    ["redis://u:secret@cache?db=2", /has a query or fragment/],
    ["redis://cache#x", /has a query or fragment/],
    ["redis://%zz@cache", /user name .* bad %-escape/],
    ["redis://u:%zz@cache", /password .* bad %-escape/],
    ["not a url", /is not an address/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseRedisUrl(text), (error: unknown) => {
      assert.ok(error instanceof RedisUrlError, text);
      assert.match(error.message, message, text);
      assert.doesNotMatch(error.message, /secret/, text);
      return true;
    });
  }
});

Deno.test("StoreKeys names an entry, its lock and result, and the channel in the namespace", () => {
  const keys = new StoreKeys("127.0.0.1:7777");
  const names = keys.of("\x00\xffdata-");
  assert.match(names.hash, /^[0-9a-f]{64}$/);
  assert.equal(names.entry, `calcnet:v1:127.0.0.1:7777:{${names.hash}}`);
  assert.equal(names.lock, `${names.entry}:lock`);
  assert.equal(names.result, `${names.entry}:result`);
  assert.equal(keys.channel, "calcnet:v1:127.0.0.1:7777:results");
});

Deno.test("StoreKeys gives distinct names to distinct keys, the steps flag included", () => {
  const keys = new StoreKeys("ns");
  const hashes = ["a-", "aS", "a", "", "\u00e9-", "\u00c3\u00a9-"].map((key) => keys.of(key).hash);
  assert.equal(new Set(hashes).size, hashes.length);
  assert.equal(keys.of("a-").hash, keys.of("a-").hash);
});

Deno.test("StoreKeys escapes spaces, glob characters and the rest of an odd namespace", () => {
  assert.equal(new StoreKeys("[::1]:7777").channel, "calcnet:v1:[::1]:7777:results");
  assert.equal(new StoreKeys("a b*?%").channel, "calcnet:v1:a%0020b%002a%003f%0025:results");
  assert.equal(new StoreKeys("\ud800").channel, "calcnet:v1:%d800:results");
  // Braces would make a Redis Cluster hash tag of the namespace.
  assert.equal(new StoreKeys("a{b}").channel, "calcnet:v1:a%007bb%007d:results");
  assert.notEqual(new StoreKeys("a b").channel, new StoreKeys("a%0020b").channel);
  assert.throws(() => new StoreKeys(""), RangeError);
  assert.throws(() => new StoreKeys("x".repeat(257)), RangeError);
});

Deno.test("encodeOutcome() and decodeOutcome() carry an answer and a failure", () => {
  for (const failed of [false, true]) {
    const record = encodeOutcome({ response: PACKET, failed });
    assert.equal(record.length, PACKET.length + 1);
    assert.deepEqual(decodeOutcome(record), { response: PACKET, failed });
  }
});

Deno.test("decodeOutcome() refuses an unknown flag, a short packet or an empty record", () => {
  assert.equal(decodeOutcome(Uint8Array.of(2, ...PACKET)), undefined);
  assert.equal(decodeOutcome(Uint8Array.of(0, 1, 2, 3)), undefined);
  assert.equal(decodeOutcome(new Uint8Array(0)), undefined);
  assert.equal(decodeOutcome(new Uint8Array(65_537)), undefined);
});

Deno.test("backoffDelay() doubles from the minimum up to the maximum, keeping at least half", () => {
  const limits = { minMs: 100, maxMs: 5000 };
  assert.deepEqual([0, 1, 2, 3, 6, 7, 1000].map((n) => backoffDelay(n, limits, () => 1)), [
    100,
    200,
    400,
    800,
    5000,
    5000,
    5000,
  ]);
  assert.equal(backoffDelay(3, limits, () => 0), 400);
  for (let i = 0; i < 100; i++) {
    const pause = backoffDelay(2, limits);
    assert.ok(pause >= 200 && pause <= 400, `${pause}`);
  }
});

Deno.test("Circuit reports each change exactly once", () => {
  const changes: StoreStateChange[] = [];
  const circuit = new Circuit((change) => changes.push(change));
  assert.equal(circuit.state, "connecting");
  assert.equal(circuit.down("refused"), true);
  assert.equal(circuit.down("refused again"), false);
  assert.equal(circuit.up("answers"), true);
  assert.equal(circuit.up("answers again"), false);
  assert.equal(circuit.down("timeout"), true);
  assert.deepEqual(changes, [
    { state: "down", detail: "refused" },
    { state: "up", detail: "answers" },
    { state: "down", detail: "timeout" },
  ]);
});

Deno.test("Circuit ignores a failure from an earlier up period", () => {
  const changes: string[] = [];
  const circuit = new Circuit((change) => changes.push(change.state));
  circuit.up("first");
  const first = circuit.epoch;
  circuit.down("lost");
  circuit.up("back");
  assert.equal(circuit.down("a slow failure from before", first), false);
  assert.equal(circuit.state, "up");
  assert.equal(circuit.down("a new failure", circuit.epoch), true);
  assert.deepEqual(changes, ["up", "down", "up", "down"]);
});

Deno.test("Announcements keeps an announcement that comes before the waiter rings", async () => {
  const announcements = new Announcements();
  using doorbell = announcements.listen("h1");
  announcements.announce("h1");
  const started = performance.now();
  await doorbell.ring(5000);
  assert.ok(performance.now() - started < 100);
});

Deno.test("Announcements wakes a ringing waiter of its hash only", async () => {
  const announcements = new Announcements();
  using mine = announcements.listen("h1");
  using other = announcements.listen("h2");
  const started = performance.now();
  const woken = mine.ring(5000);
  announcements.announce("h1");
  await woken;
  assert.ok(performance.now() - started < 100);
  const otherStarted = performance.now();
  await other.ring(50);
  assert.ok(performance.now() - otherStarted >= 45, "h2 was woken by h1's announcement");
  assert.equal(announcements.waiting, 2);
});

Deno.test("Announcements wakeAll() wakes everyone; a disposed doorbell is forgotten", async () => {
  const announcements = new Announcements();
  {
    using first = announcements.listen("h1");
    using second = announcements.listen("h1");
    const rings = [first.ring(5000), second.ring(5000)];
    announcements.wakeAll();
    await Promise.all(rings);
  }
  assert.equal(announcements.waiting, 0);
});
