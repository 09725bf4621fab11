import assert from "node:assert/strict";
import { type RunningProxy, SERVER_DOWN_TEXT, startProxy } from "../src/proxy/proxy.ts";
import { MAX_KEY_DATA_BYTES, ResponseCache } from "../src/proxy/cache.ts";
import { loadCacheFile, saveCacheFile } from "../src/proxy/cache_file.ts";
import { decodeHeader, HEADER_SIZE } from "../src/protocol/header.ts";
import { decodeResponse } from "../src/pickle/mod.ts";
import { answerNumber, type FakeServer, startFakeServer } from "./fakes/fake_server.ts";
import { delay, RawClient, requestPacket, settlesWithin } from "./helpers/net.ts";
import { toHex } from "./helpers/bytes.ts";
import { withTempDir } from "./helpers/fs.ts";
import { stepBombPickle } from "./helpers/hostile_pickles.ts";
import { startScriptedServer } from "./fakes/scripted_server.ts";

const DATA = new TextEncoder().encode("pretend this is a pickled expression");
const OTHER = new TextEncoder().encode("another pickled expression");

interface Rig {
  readonly server: FakeServer;
  readonly proxy: RunningProxy;
  readonly cache: ResponseCache;
  readonly lines: string[];
  /** The proxy's and the fake's clock, in ms; tests move it forward. */
  readonly clock: { now: number };
  ask(packet: Uint8Array): Promise<Uint8Array>;
}

async function withRig(
  options: { cache?: ResponseCache; answerTimeoutMs?: number; waitTimeoutMs?: number },
  body: (rig: Rig) => Promise<void>,
): Promise<void> {
  const clock = { now: 1_800_000_000_000 };
  await using server = startFakeServer({ now: () => Math.floor(clock.now / 1000) });
  const cache = options.cache ?? new ResponseCache();
  const lines: string[] = [];
  await using proxy = startProxy({
    hostname: "127.0.0.1",
    port: 0,
    servers: [{ hostname: "127.0.0.1", port: server.port }],
    cache,
    clock: () => clock.now,
    connectTimeoutMs: 500,
    answerTimeoutMs: options.answerTimeoutMs ?? 2000,
    coalescing: options.waitTimeoutMs ? { waitTimeoutMs: options.waitTimeoutMs } : {},
    log: (line) => lines.push(line),
  });
  await body({
    server,
    proxy,
    cache,
    lines,
    clock,
    async ask(packet) {
      using client = await RawClient.connect(proxy.addr.port);
      await client.send(packet);
      const reply = await client.readPacket();
      assert.ok(reply !== null, "the proxy closed without answering");
      return reply;
    },
  });
}

const stamp = (packet: Uint8Array): number => decodeHeader(packet).header.timestamp;

Deno.test("proxy: a miss goes to the server and a hit sends the stored bytes unchanged", async () => {
  await withRig({}, async (rig) => {
    const first = await rig.ask(requestPacket(DATA));
    rig.clock.now += 3000;
    const second = await rig.ask(requestPacket(DATA));
    assert.equal(rig.server.requests(), 1);
    assert.deepEqual(second, first);
    assert.equal(stamp(second), Math.floor(1_800_000_000_000 / 1000));
    assert.match(
      rig.lines[0] ?? "",
      /MISS \(stored\).*server time remaining: inf, client time remaining: inf/,
    );
    assert.match(rig.lines[1] ?? "", / HIT /);
    assert.equal(rig.proxy.stats.hits, 1);
    assert.equal(rig.proxy.stats.misses, 1);
  });
});

Deno.test("proxy: the S flag is part of the key", async () => {
  await withRig({}, async (rig) => {
    await rig.ask(requestPacket(DATA, { showSteps: true }));
    const plain = await rig.ask(requestPacket(DATA, { showSteps: false }));
    assert.equal(rig.server.requests(), 2);
    assert.equal(answerNumber(plain), 2);
    assert.equal(answerNumber(await rig.ask(requestPacket(DATA, { showSteps: false }))), 2);
    assert.equal(rig.server.requests(), 2);
  });
});

Deno.test("proxy: the key ignores C, cache control and the time stamp", async () => {
  await withRig({}, async (rig) => {
    await rig.ask(requestPacket(DATA, { timestamp: 1 }));
    const again = await rig.ask(requestPacket(DATA, { timestamp: 99, cacheControl: 500 }));
    assert.equal(answerNumber(again), 1);
    assert.equal(rig.server.requests(), 1);
  });
});

Deno.test("proxy: max-age 0 goes to the server and leaves the entry as it is", async () => {
  await withRig({}, async (rig) => {
    await rig.ask(requestPacket(DATA));
    rig.clock.now += 5000;
    const bypass = await rig.ask(requestPacket(DATA, { cacheControl: 0 }));
    assert.equal(answerNumber(bypass), 2);
    assert.equal(answerNumber(await rig.ask(requestPacket(DATA))), 1);
    assert.equal(rig.server.requests(), 2);
    assert.match(rig.lines[1] ?? "", /BYPASS.*client time remaining: 0\.00/);
    assert.equal(rig.proxy.stats.bypasses, 1);
  });
});

Deno.test("proxy: a request with C=0 is answered and not stored", async () => {
  await withRig({}, async (rig) => {
    await rig.ask(requestPacket(DATA, { cacheResult: false }));
    assert.equal(answerNumber(await rig.ask(requestPacket(DATA))), 2);
    assert.equal(rig.server.requests(), 2);
  });
});

Deno.test("proxy: a response with C=0 or max-age 0 is not stored", async () => {
  await withRig({}, async (rig) => {
    rig.server.set({ cacheResult: false, cacheControl: 0 });
    await rig.ask(requestPacket(DATA));
    rig.server.set({ cacheResult: true, cacheControl: 0 });
    await rig.ask(requestPacket(DATA));
    rig.server.set({ cacheResult: true, cacheControl: 65535 });
    assert.equal(answerNumber(await rig.ask(requestPacket(DATA))), 3);
    assert.match(rig.lines[0] ?? "", /MISS \(not stored\)/);
  });
});

Deno.test("proxy: an entry expires after the response's max-age", async () => {
  await withRig({}, async (rig) => {
    rig.server.set({ cacheControl: 2 });
    await rig.ask(requestPacket(DATA));
    rig.clock.now += 1000;
    assert.equal(answerNumber(await rig.ask(requestPacket(DATA))), 1);
    rig.clock.now += 1000;
    assert.equal(answerNumber(await rig.ask(requestPacket(DATA))), 2);
    assert.match(rig.lines[2] ?? "", /STALE/);
    assert.equal(rig.proxy.stats.stale, 1);
  });
});

Deno.test("proxy: the request's max-age limits the age it accepts", async () => {
  await withRig({}, async (rig) => {
    await rig.ask(requestPacket(DATA));
    rig.clock.now += 5000;
    assert.equal(answerNumber(await rig.ask(requestPacket(DATA, { cacheControl: 10 }))), 1);
    assert.equal(answerNumber(await rig.ask(requestPacket(DATA, { cacheControl: 5 }))), 2);
    assert.match(rig.lines[1] ?? "", /HIT.*client time remaining: 5\.00/);
  });
});

Deno.test("proxy: 400 answers are cached like 200s", async () => {
  await withRig({}, async (rig) => {
    rig.server.set({ statusCode: 400 });
    const first = await rig.ask(requestPacket(DATA));
    assert.deepEqual(await rig.ask(requestPacket(DATA)), first);
    assert.equal(rig.server.requests(), 1);
  });
});

Deno.test("proxy: two requests on one connection are answered in order", async () => {
  await withRig({}, async (rig) => {
    using client = await RawClient.connect(rig.proxy.addr.port);
    rig.server.set({ delayMs: 50 });
    await client.send(new Uint8Array([...requestPacket(DATA), ...requestPacket(OTHER)]));
    const a = await client.readPacket(), b = await client.readPacket();
    assert.match(
      new TextDecoder().decode(a?.subarray(HEADER_SIZE)),
      new RegExp(`to ${DATA.length} bytes`),
    );
    assert.match(
      new TextDecoder().decode(b?.subarray(HEADER_SIZE)),
      new RegExp(`to ${OTHER.length} bytes`),
    );
  });
});

Deno.test("proxy: hits behind a miss on one connection are worked on at once; answers leave in order", async () => {
  await withRig({}, async (rig) => {
    const hit = await rig.ask(requestPacket(DATA));
    rig.server.set({ delayMs: 300 });
    using client = await RawClient.connect(rig.proxy.addr.port);
    const hits = 3;
    await client.send(
      new Uint8Array([
        ...requestPacket(OTHER),
        ...Array.from({ length: hits }, () => [...requestPacket(DATA)]).flat(),
      ]),
    );
    await delay(100);
    // The miss is still at the server; the hits behind it are done, their answers waiting.
    assert.equal(rig.lines.filter((line) => / HIT /.test(line)).length, hits);
    assert.equal(rig.lines.filter((line) => / MISS /.test(line)).length, 1);
    const miss = await client.readPacket();
    assert.match(new TextDecoder().decode(miss?.subarray(HEADER_SIZE)), /to 26 bytes/);
    for (let i = 0; i < hits; i++) assert.deepEqual(await client.readPacket(), hit);
  });
});

Deno.test("proxy: with the server gone, fresh entries are served and the rest get the course's 500", async () => {
  await withRig({}, async (rig) => {
    const cached = await rig.ask(requestPacket(DATA));
    await rig.server.stop();
    assert.deepEqual(await rig.ask(requestPacket(DATA)), cached);
    const started = Date.now();
    for (const packet of [requestPacket(OTHER), requestPacket(DATA, { cacheControl: 0 })]) {
      const reply = await rig.ask(packet);
      const { header } = decodeHeader(reply);
      assert.deepEqual([header.statusCode, header.cacheResult, header.cacheControl], [
        500,
        false,
        0,
      ]);
      assert.equal(
        toHex(reply.subarray(6, 8)),
        "01f4",
      );
      const decoded = decodeResponse(reply.subarray(HEADER_SIZE));
      assert.equal(decoded.kind, "error");
      if (decoded.kind === "error") {
        assert.equal(
          decoded.error.str(),
          `('Internal proxy error', CalculatorServerError('${SERVER_DOWN_TEXT}'))`,
        );
      }
    }
    assert.ok(Date.now() - started < 1000);
    assert.equal(rig.proxy.stats.errors, 2);
  });
});

Deno.test("proxy: a server that stalls gets the client a 500 within the answer timeout", async () => {
  await withRig({ answerTimeoutMs: 300 }, async (rig) => {
    rig.server.set({ mode: "stall" });
    const started = Date.now();
    const reply = await rig.ask(requestPacket(DATA));
    assert.equal(decodeHeader(reply).header.statusCode, 500);
    assert.ok(Date.now() - started < 1500);
    assert.equal(rig.cache.size, 0);
  });
});

Deno.test("proxy: a garbled or half-sent answer is a 500 and nothing is stored", async () => {
  for (const mode of ["garble", "die-mid-answer"] as const) {
    await withRig({ answerTimeoutMs: 1000 }, async (rig) => {
      rig.server.set({ mode });
      const reply = await rig.ask(requestPacket(DATA));
      assert.equal(decodeHeader(reply).header.statusCode, 500, mode);
      assert.equal(rig.cache.size, 0, mode);
      rig.server.set({ mode: "answer" });
      assert.equal(decodeHeader(await rig.ask(requestPacket(DATA))).header.statusCode, 200, mode);
    });
  }
});

Deno.test("proxy: 100 identical concurrent misses reach a slow server once", async () => {
  await withRig({}, async (rig) => {
    rig.server.set({ delayMs: 500 });
    const replies = await Promise.all(
      Array.from({ length: 100 }, () => rig.ask(requestPacket(DATA))),
    );
    assert.equal(rig.server.requests(), 1);
    for (const reply of replies) assert.deepEqual(reply, replies[0]);
    assert.equal(rig.proxy.stats.coalesced, 99);
  });
});

Deno.test("proxy: identical requests too long to cache go to the server without waiting for each other", async () => {
  await withRig({ answerTimeoutMs: 1500 }, async (rig) => {
    rig.server.set({ mode: "stall" });
    const long = new Uint8Array(MAX_KEY_DATA_BYTES + 1).fill(7);
    const replies = Promise.all([rig.ask(requestPacket(long)), rig.ask(requestPacket(long))]);
    // Both reach the stalled server long before the first times out (1.5 s).
    const deadline = performance.now() + 1000;
    while (rig.server.requests() < 2 && performance.now() < deadline) await delay(10);
    assert.equal(rig.server.requests(), 2);
    for (const reply of await replies) assert.equal(decodeHeader(reply).header.statusCode, 500);
    assert.equal(rig.proxy.stats.coalesced, 0);
    assert.equal(rig.cache.size, 0);
  });
});

Deno.test("proxy: a waiter that waited its limit gets the proxy's 500 and never asks the server itself", async () => {
  await withRig({ waitTimeoutMs: 100 }, async (rig) => {
    rig.server.set({ delayMs: 400 });
    const replies = await Promise.all(
      Array.from({ length: 3 }, () => rig.ask(requestPacket(DATA))),
    );
    assert.equal(rig.server.requests(), 1);
    assert.deepEqual(replies.map((reply) => decodeHeader(reply).header.statusCode).sort(), [
      200,
      500,
      500,
    ]);
    assert.equal(rig.cache.size, 1);
  });
});

Deno.test("proxy: when the shared trip fails, every waiter gets that same 500 and the server is asked once", async () => {
  for (const mode of ["garble", "die-mid-answer", "stall"] as const) {
    await withRig({ answerTimeoutMs: 600 }, async (rig) => {
      rig.server.set({ mode, delayMs: 100 });
      const started = performance.now();
      const replies = await Promise.all(
        Array.from({ length: 50 }, () => rig.ask(requestPacket(DATA))),
      );
      const took = performance.now() - started;
      assert.equal(rig.server.requests(), 1, mode);
      for (const reply of replies) {
        assert.equal(decodeHeader(reply).header.statusCode, 500, mode);
        assert.equal(decodeHeader(reply).header.cacheResult, false, mode);
      }
      assert.equal(rig.proxy.stats.errors, 50, mode);
      // Nobody waited twice the answer timeout (the old retry-after-waiting did).
      assert.ok(took < 1100, `${mode}: ${took} ms`);
      assert.equal(rig.cache.size, 0, mode);
    });
  }
});

Deno.test("proxy: an uncacheable answer is still shared with the waiters of that same request", async () => {
  await withRig({}, async (rig) => {
    rig.server.set({ delayMs: 200, cacheResult: false, cacheControl: 0 });
    const replies = await Promise.all(
      Array.from({ length: 40 }, () => rig.ask(requestPacket(DATA))),
    );
    assert.equal(rig.server.requests(), 1);
    for (const reply of replies) assert.deepEqual(reply, replies[0]);
    assert.equal(rig.cache.size, 0);
    assert.equal(rig.proxy.stats.coalesced, 39);
  });
});

Deno.test("proxy: the cache keeps at most max-entries, evicting the least recently used", async () => {
  await withRig({ cache: new ResponseCache({ maxEntries: 2 }) }, async (rig) => {
    const third = new TextEncoder().encode("third");
    await rig.ask(requestPacket(DATA));
    await rig.ask(requestPacket(OTHER));
    await rig.ask(requestPacket(DATA));
    await rig.ask(requestPacket(third));
    assert.equal(rig.cache.size, 2);
    assert.equal(rig.cache.evictions, 1);
    await rig.ask(requestPacket(DATA));
    assert.equal(rig.server.requests(), 3);
    await rig.ask(requestPacket(OTHER));
    assert.equal(rig.server.requests(), 4);
  });
});

Deno.test("proxy: a packet it cannot parse gets a 500 naming the parse error, then a close", async () => {
  await withRig({}, async (rig) => {
    using client = await RawClient.connect(rig.proxy.addr.port);
    await client.send(new Uint8Array(5));
    const reply = await client.readPacket();
    assert.ok(reply);
    const decoded = decodeResponse(reply.subarray(HEADER_SIZE));
    assert.equal(
      decoded.kind === "error" && decoded.error.str(),
      "('Internal proxy error', CalculatorClientError('Error while unpacking request: " +
        "The data is too short (5 bytes) to be a valid header'))",
    );
    assert.ok(await client.closedByPeer());
  });
});

Deno.test("proxy: a response sent as a request gets the course's 500", async () => {
  await withRig({}, async (rig) => {
    const packet = requestPacket(DATA);
    packet[6] = 0x10; // T=0
    const decoded = decodeResponse((await rig.ask(packet)).subarray(HEADER_SIZE));
    assert.equal(
      decoded.kind === "error" && decoded.error.str(),
      "('Internal proxy error', TypeError('Received a response instead of a request'))",
    );
    assert.equal(rig.server.requests(), 0);
  });
});

Deno.test("proxy: a cache saved and loaded serves its entries after a restart", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    let saved: Uint8Array | undefined;
    await withRig({}, async (rig) => {
      saved = await rig.ask(requestPacket(DATA));
      await saveCacheFile(path, rig.cache, Math.floor(rig.clock.now / 1000));
    });
    const { cache } = await loadCacheFile(path, Math.floor(1_800_000_000_000 / 1000));
    await withRig({ cache }, async (rig) => {
      await rig.server.stop();
      assert.deepEqual(await rig.ask(requestPacket(DATA)), saved);
    });
  });
});

Deno.test("startProxy() shuts down when options.signal aborts", async () => {
  await using server = startFakeServer();
  const stop = new AbortController();
  await using proxy = startProxy({
    hostname: "127.0.0.1",
    port: 0,
    servers: [{ hostname: "127.0.0.1", port: server.port }],
    cache: new ResponseCache(),
    signal: stop.signal,
  });
  using client = await RawClient.connect(proxy.addr.port);
  await client.send(requestPacket(DATA));
  const reply = await client.readPacket();
  assert.ok(reply !== null, "the proxy closed without answering");
  assert.equal(answerNumber(reply), 1);
  stop.abort();
  assert.ok(await settlesWithin(proxy.finished, 2000), "still running after the abort");
  assert.ok(await client.closedByPeer(), "a client's connection stays open");
  await assert.rejects(() => Deno.connect({ hostname: "127.0.0.1", port: proxy.addr.port }));
});

Deno.test("proxy: an answer whose steps would read as 533 million characters is a 500, never stored", async () => {
  // The review's step bomb: a 64 KiB answer using one 30,000-character str 17,755 times.
  await using server = startScriptedServer(() => stepBombPickle());
  const cache = new ResponseCache();
  const lines: string[] = [];
  await using proxy = startProxy({
    hostname: "127.0.0.1",
    port: 0,
    servers: [{ hostname: "127.0.0.1", port: server.port }],
    cache,
    log: (line) => lines.push(line),
  });
  for (const round of [1, 2]) {
    using client = await RawClient.connect(proxy.addr.port);
    await client.send(requestPacket(DATA));
    const reply = await client.readPacket();
    assert.ok(reply !== null);
    assert.equal(decodeHeader(reply).header.statusCode, 500, `round ${round}`);
    const decoded = decodeResponse(reply.subarray(HEADER_SIZE));
    assert.match(
      decoded.kind === "error" ? decoded.error.str() : "",
      /^\('Internal proxy error', CalculatorServerError\('Invalid answer from server: .* sent an answer that is not one: pickle needs more than \d+ units of work/,
    );
    assert.ok(reply.length < 1000, `${reply.length} B`);
  }
  assert.equal(cache.size, 0);
  assert.equal(server.requests(), 2, "nothing was served from the cache");
  assert.equal(lines.length, 2);
  for (const line of lines) assert.match(line, / ERROR .* sent an answer that is not one: pickle/);
});
