import assert from "node:assert/strict";
import {
  cacheKey,
  cacheKeyBinary,
  cacheKeyFromBinary,
  cacheKeySteps,
  DEFAULT_CACHE_LIMITS,
  HOT_BYTES_LIMIT,
  HOT_RESET_COLD_BYTES,
  MAX_KEY_DATA_BYTES,
  ResponseCache,
  responseExpired,
  responsePacketProblem,
} from "../src/proxy/cache.ts";
import { keyOf, responsePacket } from "./fixtures/cache_packets.ts";
import { mulberry32 } from "./helpers/random.ts";

/** The keys of a cache, least recently used first. */
function order(cache: ResponseCache): string[] {
  return [...cache.snapshot().keys];
}

/** A packet as a binary string, as the cache stores it. */
function binary(packet: Uint8Array): string {
  return String.fromCharCode(...packet);
}

Deno.test("cacheKey maps each byte to one character and appends the S flag", async (t) => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);

  await t.step("every byte value survives", () => {
    const key = cacheKey(all, false);
    assert.equal(key.length, 257);
    const data = cacheKeyBinary(key);
    for (let i = 0; i < 256; i++) assert.equal(data.charCodeAt(i), i);
  });

  await t.step("the S flag is part of the key", () => {
    assert.notEqual(cacheKey(all, true), cacheKey(all, false));
    assert.equal(cacheKeySteps(cacheKey(all, true)), true);
    assert.equal(cacheKeySteps(cacheKey(all, false)), false);
  });

  await t.step("a view into a larger buffer gives the same key as a copy", () => {
    const big = new Uint8Array(300);
    big.set(all, 20);
    assert.equal(cacheKey(big.subarray(20, 276), true), cacheKey(all.slice(), true));
  });

  await t.step("keys of different data differ, including the empty data", () => {
    assert.notEqual(cacheKey(new Uint8Array([1]), false), cacheKey(new Uint8Array([1, 0]), false));
    assert.notEqual(cacheKey(new Uint8Array(0), false), cacheKey(new Uint8Array(0), true));
  });

  await t.step("cacheKeyFromBinary agrees with cacheKey", () => {
    assert.equal(cacheKeyFromBinary(binary(all), true), cacheKey(all, true));
  });
});

Deno.test("Cache evicts the least recently used entry beyond maxEntries", () => {
  const cache = new ResponseCache({ maxEntries: 3 });
  for (const name of ["a", "b", "c", "d"]) cache.set(keyOf(name), responsePacket(1, 60));
  assert.equal(cache.size, 3);
  assert.equal(cache.evictions, 1);
  assert.equal(cache.peek(keyOf("a")), undefined);
  assert.deepEqual(order(cache), [keyOf("b"), keyOf("c"), keyOf("d")]);
});

Deno.test("Cache evicts least recently used entries beyond maxBytes", () => {
  // Each entry counts 1 byte of request data plus a 12 + 88 = 100-byte response.
  const cache = new ResponseCache({ maxBytes: 303 });
  for (const name of ["a", "b", "c"]) cache.set(keyOf(name), responsePacket(1, 60, 88));
  assert.equal(cache.bytes, 303);
  assert.equal(cache.evictions, 0);
  cache.set(keyOf("d"), responsePacket(1, 60, 188));
  assert.deepEqual(order(cache), [keyOf("c"), keyOf("d")]);
  assert.equal(cache.bytes, 101 + 201);
  assert.equal(cache.evictions, 2);
});

Deno.test("Cache get marks an entry most recently used and peek does not", () => {
  const cache = new ResponseCache({ maxEntries: 3 });
  for (const name of ["a", "b", "c"]) cache.set(keyOf(name), responsePacket(1, 60));
  assert.notEqual(cache.get(keyOf("a")), undefined);
  assert.notEqual(cache.peek(keyOf("b")), undefined);
  cache.set(keyOf("d"), responsePacket(1, 60));
  assert.deepEqual(order(cache), [keyOf("c"), keyOf("a"), keyOf("d")]);
  assert.equal(cache.get(keyOf("b")), undefined);
});

Deno.test("Cache returns the stored response byte for byte with its header fields", async (t) => {
  const cache = new ResponseCache();
  const stamp = 0xfedcba98; // above 2^31: the time stamp is unsigned
  const response = responsePacket(stamp, 300, Uint8Array.from({ length: 256 }, (_, i) => i));

  await t.step("get returns identical bytes, time stamp and max-age", () => {
    assert.equal(cache.set(keyOf("x", true), response), true);
    const hit = cache.get(keyOf("x", true));
    assert.ok(hit);
    assert.deepEqual(hit.response, response);
    assert.equal(hit.timestamp, stamp);
    assert.equal(hit.maxAge, 300);
    assert.equal(cache.get(keyOf("x", false)), undefined);
  });

  await t.step("the cache keeps its own copy", () => {
    response[20] = 0;
    assert.equal(cache.peek(keyOf("x", true))?.response[20], 8);
  });

  await t.step("a new response for a key replaces the old one", () => {
    const newer = responsePacket(stamp + 1, 5, 3);
    cache.set(keyOf("x", true), newer);
    assert.equal(cache.size, 1);
    assert.equal(cache.bytes, 1 + newer.byteLength);
    assert.deepEqual(cache.peek(keyOf("x", true))?.response, newer);
  });
});

Deno.test("Cache refuses entries it cannot hold", async (t) => {
  await t.step("an entry larger than maxBytes is not stored and drops the old one", () => {
    const cache = new ResponseCache({ maxBytes: 100 });
    assert.equal(cache.set(keyOf("k"), responsePacket(1, 60, 10)), true);
    assert.equal(cache.set(keyOf("k"), responsePacket(1, 60, 200)), false);
    assert.equal(cache.size, 0);
    assert.equal(cache.bytes, 0);
  });

  await t.step("request data longer than MAX_KEY_DATA_BYTES is not stored", () => {
    const cache = new ResponseCache();
    const longest = cacheKey(new Uint8Array(MAX_KEY_DATA_BYTES), false);
    const tooLong = cacheKey(new Uint8Array(MAX_KEY_DATA_BYTES + 1), false);
    assert.equal(cache.set(longest, responsePacket(1, 60)), true);
    assert.equal(cache.set(tooLong, responsePacket(1, 60)), false);
    assert.equal(cache.size, 1);
  });

  await t.step("malformed packets and foreign keys are rejected", () => {
    const cache = new ResponseCache();
    assert.throws(() => cache.set(keyOf("k"), new Uint8Array(11)), RangeError);
    const wrongLength = responsePacket(1, 60, 8);
    wrongLength[5] = 99;
    assert.throws(() => cache.set(keyOf("k"), wrongLength), RangeError);
    assert.throws(() => cache.set("no flag", responsePacket(1, 60)), RangeError);
    assert.throws(() => cache.set("\u20ac-", responsePacket(1, 60)), RangeError);
    assert.throws(() => cache.setBinary(keyOf("k"), "\u20ac".repeat(12)), RangeError);
    assert.equal(cache.size, 0);
  });

  await t.step("limits must be positive integers", () => {
    assert.throws(() => new ResponseCache({ maxEntries: 0 }), RangeError);
    assert.throws(() => new ResponseCache({ maxBytes: 1.5 }), RangeError);
    assert.deepEqual(new ResponseCache().limits, DEFAULT_CACHE_LIMITS);
  });
});

Deno.test("responsePacketProblem explains why a packet cannot be cached", () => {
  assert.match(responsePacketProblem("\0".repeat(11)) ?? "", /shorter than the 12-byte header/);
  const packet = responsePacket(1, 60, 8);
  assert.equal(responsePacketProblem(binary(packet)), undefined);
  packet[5] = 7;
  assert.match(responsePacketProblem(binary(packet)) ?? "", /declares a total length of 7/);
});

Deno.test("Cache dropExpired removes entries whose max-age has elapsed", async (t) => {
  const now = 1_000_000;
  const cache = new ResponseCache();
  cache.set(keyOf("ends now"), responsePacket(now - 60, 60)); // remaining 0
  cache.set(keyOf("one second left"), responsePacket(now - 59, 60)); // remaining 1
  cache.set(keyOf("forever"), responsePacket(now - 4_000_000, 65535));
  cache.set(keyOf("do not cache"), responsePacket(now, 0));
  cache.set(keyOf("from the future"), responsePacket(now + 100, 10));

  await t.step("remaining ≤ 0 is expired, 65535 never is", () => {
    assert.equal(responseExpired(binary(responsePacket(now - 60, 60)), now), true);
    assert.equal(responseExpired(binary(responsePacket(now - 59, 60)), now), false);
    assert.equal(responseExpired(binary(responsePacket(0, 65535)), 0xffffffff), false);
  });

  await t.step("dropExpired removes exactly the expired entries", () => {
    const changes = cache.changes;
    assert.equal(cache.dropExpired(now), 2);
    assert.deepEqual(order(cache), [
      keyOf("one second left"),
      keyOf("forever"),
      keyOf("from the future"),
    ]);
    assert.ok(cache.changes > changes);
  });

  await t.step("one second later the next one goes; nothing left to drop changes nothing", () => {
    assert.equal(cache.dropExpired(now + 1), 1);
    const changes = cache.changes;
    assert.equal(cache.dropExpired(now + 1), 0);
    assert.equal(cache.changes, changes);
    assert.equal(cache.evictions, 0);
  });
});

Deno.test("Cache counts content changes but not lookups", () => {
  const cache = new ResponseCache({ maxEntries: 1 });
  assert.equal(cache.changes, 0);
  cache.set(keyOf("a"), responsePacket(1, 60));
  const afterSet = cache.changes;
  assert.ok(afterSet > 0);
  cache.get(keyOf("a"));
  cache.peek(keyOf("a"));
  cache.get(keyOf("missing"));
  assert.equal(cache.changes, afterSet);
  cache.set(keyOf("b"), responsePacket(1, 60));
  assert.ok(cache.changes > afterSet);
  const afterEviction = cache.changes;
  assert.equal(cache.delete(keyOf("missing")), false);
  assert.equal(cache.changes, afterEviction);
  assert.equal(cache.delete(keyOf("b")), true);
  assert.ok(cache.changes > afterEviction);
  assert.equal(cache.size, 0);
  assert.equal(cache.bytes, 0);
});

Deno.test("Cache matches a reference LRU model over random operations", () => {
  const random = mulberry32(20240607);
  const maxEntries = 12;
  const maxBytes = 1200;
  const cache = new ResponseCache({ maxEntries, maxBytes });
  // The model: [key, size] pairs, least recently used first.
  let model: [string, number][] = [];
  let evictions = 0;
  for (let step = 0; step < 20_000; step++) {
    const key = keyOf(`k${Math.floor(random() * 30)}`, random() < 0.5);
    const action = random();
    if (action < 0.45) {
      const dataLength = Math.floor(random() * 150);
      const size = key.length - 1 + 12 + dataLength;
      const stored = cache.set(key, responsePacket(step, 60, dataLength));
      model = model.filter(([k]) => k !== key);
      assert.equal(stored, size <= maxBytes);
      if (stored) {
        model.push([key, size]);
        while (
          model.length > maxEntries || model.reduce((sum, [, s]) => sum + s, 0) > maxBytes
        ) {
          model.shift();
          evictions++;
        }
      }
    } else if (action < 0.85) {
      const index = model.findIndex(([k]) => k === key);
      assert.equal(cache.get(key) !== undefined, index >= 0);
      if (index >= 0) model.push(...model.splice(index, 1));
    } else {
      const before = model.length;
      model = model.filter(([k]) => k !== key);
      assert.equal(cache.delete(key), model.length < before);
    }
    assert.deepEqual(order(cache), model.map(([k]) => k), `after step ${step}`);
    assert.equal(cache.bytes, model.reduce((sum, [, s]) => sum + s, 0));
  }
  assert.equal(cache.evictions, evictions);
  assert.ok(evictions > 100, "the run exercised eviction");
});

/** The response of `key`, looked up as a hit is: the entry's bytes. */
function hit(cache: ResponseCache, key: string): Uint8Array {
  const entry = cache.get(key);
  assert.ok(entry !== undefined, "a hit");
  return entry.response;
}

Deno.test("Cache keeps the bytes of an entry hit a second time and answers later hits with them", () => {
  const cache = new ResponseCache();
  const response = responsePacket(1, 300);
  cache.set(keyOf("a"), response);
  const first = hit(cache, keyOf("a"));
  const second = hit(cache, keyOf("a"));
  assert.notEqual(first, second, "the first hit converts, the second keeps a copy");
  assert.equal(hit(cache, keyOf("a")), second);
  assert.equal(hit(cache, keyOf("a")), second);
  assert.deepEqual(second, response);
  assert.notEqual(second.buffer, first.buffer, "a copy of its own, not a view into a shared pool");
});

Deno.test("Cache: hot entries' bytes share blocks rather than a buffer each", () => {
  const cache = new ResponseCache();
  const keys = ["a", "b", "c", "d"].map((name) => keyOf(name));
  keys.forEach((key, i) => cache.set(key, responsePacket(i, 65535, 500)));
  const hot = keys.map((key) => (hit(cache, key), hit(cache, key)));
  assert.equal(new Set(hot.map((bytes) => bytes.buffer)).size, 1);
  hot.forEach((bytes, i) => assert.deepEqual(bytes, responsePacket(i, 65535, 500)));
  // The largest packet does not fit in what is left of the block: it starts another.
  const big = responsePacket(9, 65535, 65_535 - 12);
  cache.set(keyOf("big"), big);
  hit(cache, keyOf("big"));
  const bigHot = hit(cache, keyOf("big"));
  assert.deepEqual(bigHot, big);
  assert.notEqual(bigHot.buffer, hot[0]?.buffer);
  hot.forEach((bytes, i) => assert.deepEqual(bytes, responsePacket(i, 65535, 500)));
});

Deno.test("Cache: a peek, or a lookup whose response is not read, does not make an entry hot", () => {
  const cache = new ResponseCache();
  cache.set(keyOf("a"), responsePacket(1, 300));
  cache.peek(keyOf("a"))?.response;
  cache.peek(keyOf("a"))?.response;
  cache.get(keyOf("a"));
  cache.get(keyOf("a"));
  const first = hit(cache, keyOf("a"));
  assert.notEqual(hit(cache, keyOf("a")), first);
});

Deno.test("Cache: a hot entry replaced, deleted or evicted never answers with its old bytes", () => {
  const cache = new ResponseCache({ maxEntries: 2 });
  const heat = (key: string): Uint8Array => (hit(cache, key), hit(cache, key));
  cache.set(keyOf("a"), responsePacket(1, 300));
  heat(keyOf("a"));
  const newer = responsePacket(2, 300);
  cache.set(keyOf("a"), newer);
  assert.deepEqual(hit(cache, keyOf("a")), newer);
  heat(keyOf("a"));
  assert.equal(cache.delete(keyOf("a")), true);
  assert.equal(cache.get(keyOf("a")), undefined);
  // A slot freed by a hot entry, reused by another: its hits start again.
  cache.set(keyOf("b"), responsePacket(3, 200));
  const b = hit(cache, keyOf("b"));
  assert.deepEqual(b, responsePacket(3, 200));
  assert.notEqual(hit(cache, keyOf("b")), b);
  heat(keyOf("b"));
  cache.set(keyOf("c"), responsePacket(4, 200));
  cache.set(keyOf("d"), responsePacket(5, 200));
  assert.equal(cache.get(keyOf("b")), undefined);
  assert.deepEqual(hit(cache, keyOf("c")), responsePacket(4, 200));
});

Deno.test("Cache: a full hot set takes no more entries until enough cold hits have passed, then forms anew", () => {
  const size = 1000;
  const entries = Math.ceil(HOT_BYTES_LIMIT / size) * 3;
  const cache = new ResponseCache({ maxEntries: entries, maxBytes: Number.MAX_SAFE_INTEGER });
  const key = (i: number): string => keyOf(`k${i}`);
  const isHot = (i: number): boolean => hit(cache, key(i)) === hit(cache, key(i));
  for (let i = 0; i < entries; i++) cache.set(key(i), responsePacket(i, 65535, size));
  for (let i = 0; i < entries; i++) {
    hit(cache, key(i));
    hit(cache, key(i));
  }
  // The first entries made hot stay so; counted from the start (a hot entry's hits change nothing).
  let hot = 0;
  while (isHot(hot)) hot++;
  assert.ok(hot > 0 && hot * size <= HOT_BYTES_LIMIT, `${hot} hot entries of ${size} B`);
  assert.equal(isHot(entries - 1), false, "the set is full");
  // Cold hits on one entry until the set may form anew: the next second hit starts it.
  const last = entries - 1;
  for (let cold = 0; cold <= HOT_RESET_COLD_BYTES; cold += size + 12) hit(cache, key(last - 1));
  hit(cache, key(last));
  assert.ok(isHot(last), "a new set formed");
  assert.equal(isHot(0), false);
  assert.deepEqual(hit(cache, key(0)), responsePacket(0, 65535, size));
});
