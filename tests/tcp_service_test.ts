import assert from "node:assert/strict";
import { type PacketHandler, serveTcp } from "../src/net/mod.ts";
import { delay, RawClient, requestPacket, settlesWithin, withService } from "./helpers/net.ts";

/** Echoes each packet back; unframeable bytes get a 1-byte-data packet with their count. */
function echoHandler(options: { delayMs?: number; seen?: string[] } = {}): PacketHandler {
  return {
    async handle(packet) {
      if (options.delayMs) await delay(options.delayMs);
      return { packet };
    },
    unframeable(received, reason) {
      options.seen?.push(`${received.length}:${reason}`);
      return requestPacket(new Uint8Array([received.length & 0xff]));
    },
    internalError: () => null,
  };
}

Deno.test("serveTcp() answers many requests on one connection in order", async () => {
  await withService(echoHandler(), async (port) => {
    using client = await RawClient.connect(port);
    for (let i = 0; i < 50; i++) {
      const p = requestPacket(new Uint8Array([i]));
      await client.send(p);
      assert.deepEqual(await client.readPacket(), p);
    }
  });
});

Deno.test("serveTcp() answers two packets sent in one write, in order", async () => {
  await withService(echoHandler({ delayMs: 5 }), async (port) => {
    using client = await RawClient.connect(port);
    const a = requestPacket(new Uint8Array([1])), b = requestPacket(new Uint8Array([2, 2]));
    await client.send(new Uint8Array([...a, ...b]));
    assert.deepEqual(await client.readPacket(), a);
    assert.deepEqual(await client.readPacket(), b);
  });
});

Deno.test("serveTcp() reassembles a packet sent a byte at a time", async () => {
  await withService(echoHandler(), async (port) => {
    using client = await RawClient.connect(port);
    const p = requestPacket(new Uint8Array(40).fill(7));
    for (const byte of p) {
      await client.send(new Uint8Array([byte]));
      await delay(1);
    }
    assert.deepEqual(await client.readPacket(), p);
  });
});

Deno.test("serveTcp() answers a 5-byte packet after the frame timeout, then closes", async () => {
  const seen: string[] = [];
  await withService(echoHandler({ seen }), async (port) => {
    using client = await RawClient.connect(port);
    const started = Date.now();
    await client.send(new Uint8Array(5));
    const reply = await client.readPacket(3000);
    assert.equal(reply?.[12], 5);
    assert.ok(Date.now() - started < 1500);
    assert.ok(await client.closedByPeer());
    assert.match(seen[0] ?? "", /^5:no more bytes/);
  }, { frameTimeoutMs: 100 });
});

Deno.test("serveTcp() answers a peer that closes in the middle of a packet", async () => {
  const seen: string[] = [];
  await withService(echoHandler({ seen }), async (port) => {
    using client = await RawClient.connect(port);
    await client.send(requestPacket(new Uint8Array(30)).subarray(0, 20));
    await client.conn.closeWrite();
    const reply = await client.readPacket();
    assert.equal(reply?.[12], 20);
    assert.match(seen[0] ?? "", /^20:peer closed/);
  });
});

Deno.test("serveTcp() answers and closes on a total length below 12", async () => {
  const seen: string[] = [];
  await withService(echoHandler({ seen }), async (port) => {
    using client = await RawClient.connect(port);
    await client.send(new Uint8Array([0, 0, 0, 0, 0, 3, 0x1c, 0, 0, 0, 0, 0]));
    assert.equal((await client.readPacket())?.[12], 12);
    assert.ok(await client.closedByPeer());
    assert.match(seen[0] ?? "", /Invalid total length: 3/);
  });
});

Deno.test("serveTcp() closes idle connections after the idle timeout", async () => {
  await withService(echoHandler(), async (port) => {
    using client = await RawClient.connect(port);
    assert.ok(await client.closedByPeer(3000));
  }, { idleTimeoutMs: 100 });
});

Deno.test("serveTcp() at the connection limit closes the longest idle connection for a new one", async () => {
  await withService(echoHandler(), async (port) => {
    const held: RawClient[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        held.push(await RawClient.connect(port));
        await delay(20);
      }
      const p = requestPacket(new Uint8Array([1]));
      // The first becomes the most recently active: the second is now the longest idle.
      await held[0]?.send(p);
      assert.deepEqual(await held[0]?.readPacket(), p);
      using extra = await RawClient.connect(port);
      await extra.send(p);
      assert.deepEqual(await extra.readPacket(), p);
      assert.ok(await held[1]?.closedByPeer());
      await held[2]?.send(p);
      assert.deepEqual(await held[2]?.readPacket(), p);
    } finally {
      for (const client of held) client[Symbol.dispose]();
    }
  }, { maxConnections: 3 });
});

Deno.test("serveTcp() at the connection limit closes an unfinished packet before an idle connection", async () => {
  await withService(echoHandler(), async (port) => {
    const idle = await RawClient.connect(port);
    await delay(30);
    const unfinished = await RawClient.connect(port);
    await unfinished.send(new Uint8Array([0, 0, 0]));
    try {
      await delay(30);
      using extra = await RawClient.connect(port);
      const p = requestPacket(new Uint8Array([2]));
      await extra.send(p);
      assert.deepEqual(await extra.readPacket(), p);
      assert.ok(await unfinished.closedByPeer());
      await idle.send(p);
      assert.deepEqual(await idle.readPacket(), p);
    } finally {
      idle[Symbol.dispose]();
      unfinished[Symbol.dispose]();
    }
  }, { maxConnections: 2 });
});

Deno.test("serveTcp() refuses a new connection only when every connection is working on a request", async () => {
  await withService(echoHandler({ delayMs: 300 }), async (port) => {
    const busy = await Promise.all([1, 2].map(() => RawClient.connect(port)));
    try {
      const p = requestPacket(new Uint8Array([3]));
      await Promise.all(busy.map((client) => client.send(p)));
      await delay(50);
      using extra = await RawClient.connect(port);
      assert.ok(await extra.closedByPeer(1000));
      for (const client of busy) assert.deepEqual(await client.readPacket(), p);
    } finally {
      for (const client of busy) client[Symbol.dispose]();
    }
  }, { maxConnections: 2 });
});

Deno.test("serveTcp() keeps serving while hundreds of peers stall mid-packet", async () => {
  await withService(echoHandler(), async (port) => {
    const stalled = await Promise.all(Array.from({ length: 300 }, () => RawClient.connect(port)));
    try {
      await Promise.all(stalled.map((client) => client.send(new Uint8Array([0, 0, 0]))));
      using client = await RawClient.connect(port);
      const p = requestPacket(new Uint8Array([9]));
      const started = Date.now();
      await client.send(p);
      assert.deepEqual(await client.readPacket(), p);
      assert.ok(Date.now() - started < 1000);
    } finally {
      for (const peer of stalled) peer[Symbol.dispose]();
    }
  }, { frameTimeoutMs: 5000 });
});

Deno.test("serveTcp() finishes an in-flight request when shut down", async () => {
  await using service = serveTcp({ hostname: "127.0.0.1", port: 0 }, echoHandler({ delayMs: 200 }));
  using client = await RawClient.connect(service.addr.port);
  const p = requestPacket(new Uint8Array([3]));
  await client.send(p);
  await delay(50);
  const stopping = service.shutdown();
  assert.deepEqual(await client.readPacket(), p);
  assert.ok(await client.closedByPeer());
  await stopping;
  await assert.rejects(() => Deno.connect({ hostname: "127.0.0.1", port: service.addr.port }));
});

Deno.test("serveTcp() shuts down when its signal aborts, at once if it was aborted already", async () => {
  const stop = new AbortController();
  await using service = serveTcp(
    { hostname: "127.0.0.1", port: 0, signal: stop.signal },
    echoHandler(),
  );
  stop.abort();
  assert.ok(await settlesWithin(service.finished, 2000), "still running after the abort");
  await assert.rejects(() => Deno.connect({ hostname: "127.0.0.1", port: service.addr.port }));
  await using early = serveTcp(
    { hostname: "127.0.0.1", port: 0, signal: AbortSignal.abort() },
    echoHandler(),
  );
  assert.ok(await settlesWithin(early.finished, 2000), "running despite an aborted signal");
});

Deno.test("serveTcp() stops reading a connection whose unread answers reach maxPendingBytes", async () => {
  let handled = 0;
  const big: PacketHandler = {
    handle() {
      handled++;
      return { packet: requestPacket(new Uint8Array(60_000)) };
    },
    unframeable: () => null,
    internalError: () => null,
  };
  await withService(big, async (port) => {
    using client = await RawClient.connect(port);
    const one = requestPacket(new Uint8Array([1]));
    const requests = new Uint8Array(one.length * 2000);
    for (let i = 0; i < 2000; i++) requests.set(one, i * one.length);
    await client.send(requests);
    await delay(500);
    // 120 MB of answers asked for. Handled: what the socket buffers take (Linux
    // loopback grows them to 4 MiB sent plus 32 MiB received, ~600 answers) plus 256 KiB.
    assert.ok(handled < 1000, `${handled} requests handled`);
  }, { maxPipelined: 10_000, writeTimeoutMs: 5000 });
});

Deno.test("serveTcp() does not time out an unfinished packet it has stopped reading (answers pending)", async () => {
  const seen: string[] = [];
  await withService(echoHandler({ delayMs: 600, seen }), async (port) => {
    using client = await RawClient.connect(port);
    // 40 packets of 100 bytes: the first read ends inside the 21st, then reading waits.
    const packets = Array.from({ length: 40 }, (_, i) => requestPacket(new Uint8Array(88).fill(i)));
    const all = new Uint8Array(4000);
    packets.forEach((packet, i) => all.set(packet, i * 100));
    await client.send(all);
    for (const packet of packets) assert.deepEqual(await client.readPacket(), packet);
    assert.deepEqual(seen, []);
  }, { maxPipelined: 4, frameTimeoutMs: 200 });
});
