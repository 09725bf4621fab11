/**
 * A connection's deadlines, driven by hand: a fake socket whose reads the
 * test resolves, and sweeps called with chosen times.
 */

import assert from "node:assert/strict";
import { Session } from "../src/net/session.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../src/net/mod.ts";
import type { PacketHandler } from "../src/net/mod.ts";
import { requestPacket } from "./helpers/net.ts";
import { concat } from "./helpers/bytes.ts";

/** A socket whose reads wait for `feed()` and whose writes are recorded. */
class FakeConn {
  readonly written: Uint8Array[] = [];
  closed = false;
  readonly remoteAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1234 } as const;
  #pending: { buffer: Uint8Array; resolve: (n: number | null) => void } | undefined;

  read(buffer: Uint8Array): Promise<number | null> {
    return new Promise((resolve) => {
      this.#pending = { buffer, resolve };
    });
  }

  /** Delivers `bytes` to the read in progress. */
  feed(bytes: Uint8Array): void {
    const pending = this.#pending;
    assert.ok(pending, "no read in progress");
    this.#pending = undefined;
    pending.buffer.set(bytes);
    pending.resolve(bytes.length);
  }

  write(bytes: Uint8Array): Promise<number> {
    this.written.push(bytes.slice());
    return Promise.resolve(bytes.length);
  }

  setNoDelay(): void {}

  close(): void {
    this.closed = true;
    this.#pending?.resolve(null);
  }
}

function echo(unframed: string[]): PacketHandler {
  return {
    handle: (packet) => ({ packet }),
    unframeable: (received, reason) => {
      unframed.push(`${received.length}: ${reason}`);
      return null;
    },
    internalError: () => null,
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("Session.sweep() does not cut off a packet whose bytes were waiting when the deadline passed", async () => {
  const conn = new FakeConn();
  const unframed: string[] = [];
  const clock = { now: 0 };
  const limits = { ...DEFAULT_CONNECTION_LIMITS, frameTimeoutMs: 500 };
  const session = new Session(conn as unknown as Deno.TcpConn, echo(unframed), limits, clock);
  const running = session.run();
  const request = requestPacket(new Uint8Array(675).fill(1));
  conn.feed(request.subarray(0, 300));
  await tick();
  // The event loop stalled for 6 s; the rest of the packet arrived meanwhile but is not read yet.
  clock.now = 6000;
  session.sweep(6000);
  assert.equal(unframed.length, 0, "a first sweep only marks the connection");
  conn.feed(request.subarray(300));
  await tick();
  session.sweep(6100);
  assert.deepEqual(unframed, []);
  assert.deepEqual(conn.written, [request]);
  session.close("test over");
  await running;
});

Deno.test("Session.sweep() answers an unfinished packet when two sweeps in a row saw no byte", async () => {
  const conn = new FakeConn();
  const unframed: string[] = [];
  const clock = { now: 0 };
  const limits = { ...DEFAULT_CONNECTION_LIMITS, frameTimeoutMs: 500 };
  const session = new Session(conn as unknown as Deno.TcpConn, echo(unframed), limits, clock);
  const running = session.run();
  conn.feed(new Uint8Array(5));
  await tick();
  session.sweep(600);
  assert.deepEqual(unframed, []);
  session.sweep(700);
  assert.deepEqual(unframed, ["5: no more bytes for 500 ms"]);
  await running;
  assert.ok(conn.closed);
});

Deno.test("Session.sweep() ends a trickling packet at its total deadline", async () => {
  const conn = new FakeConn();
  const unframed: string[] = [];
  const clock = { now: 0 };
  const limits = { ...DEFAULT_CONNECTION_LIMITS, frameTimeoutMs: 500, packetTimeoutMs: 2000 };
  const session = new Session(conn as unknown as Deno.TcpConn, echo(unframed), limits, clock);
  const running = session.run();
  // One byte every 300 ms: never a 500 ms gap.
  for (let t = 0; t <= 2400; t += 300) {
    clock.now = t;
    conn.feed(new Uint8Array([0]));
    await tick();
    session.sweep(t + 1);
    if (unframed.length > 0) break;
  }
  assert.equal(unframed.length, 1);
  assert.match(unframed[0] ?? "", /packet unfinished after 2000 ms/);
  await running;
});

/** A socket whose writes finish when the test says, reading their bytes only then (as the runtime may). */
class SlowWriteConn extends FakeConn {
  readonly #writes: { bytes: Uint8Array; resolve: (n: number) => void }[] = [];

  override write(bytes: Uint8Array): Promise<number> {
    return new Promise((resolve) => this.#writes.push({ bytes, resolve }));
  }

  /** Finishes the oldest write. */
  finishWrite(): void {
    const write = this.#writes.shift();
    assert.ok(write, "no write in progress");
    this.written.push(write.bytes.slice());
    write.resolve(write.bytes.length);
  }
}

/** Distinct requests of 50 data bytes each (bigger together than the connection's first buffer). */
const REQUESTS = Array.from(
  { length: 60 },
  (_, i) => requestPacket(new Uint8Array(50).fill(i + 1)),
);

/** All of `parts` one after the other. */
/** Feeds one request per read: each lands where the one before it was, unless that one is held. */
async function feedOneByOne(conn: FakeConn, requests: readonly Uint8Array[]): Promise<void> {
  for (const request of requests) {
    conn.feed(request);
    await tick();
  }
}

Deno.test("Session: a packet whose answer is pending stays as it was while later packets are read", async () => {
  const conn = new FakeConn();
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => open = resolve);
  const session = new Session(
    conn as unknown as Deno.TcpConn,
    {
      async handle(packet) {
        await gate;
        return { packet: packet.slice() };
      },
      unframeable: () => null,
      internalError: () => null,
    },
    DEFAULT_CONNECTION_LIMITS,
    { now: 0 },
  );
  const running = session.run();
  await feedOneByOne(conn, REQUESTS);
  open();
  await tick();
  await tick();
  assert.deepEqual(concat(conn.written), concat(REQUESTS));
  session.close("test over");
  await running;
});

Deno.test("Session: an answer that is the packet itself stays as it was until it is written", async () => {
  const conn = new SlowWriteConn();
  const session = new Session(
    conn as unknown as Deno.TcpConn,
    echo([]),
    DEFAULT_CONNECTION_LIMITS,
    { now: 0 },
  );
  const running = session.run();
  await feedOneByOne(conn, REQUESTS);
  // The first answer is being written; the others wait behind it, then go in one write.
  conn.finishWrite();
  await tick();
  conn.finishWrite();
  assert.equal(conn.written.length, 2);
  assert.deepEqual(concat(conn.written), concat(REQUESTS));
  session.close("test over");
  await running;
});

Deno.test("Session writes the rest of an answer the socket took only part of", async () => {
  const conn = new (class extends FakeConn {
    override write(bytes: Uint8Array): Promise<number> {
      return super.write(bytes.subarray(0, 7));
    }
  })();
  const session = new Session(
    conn as unknown as Deno.TcpConn,
    echo([]),
    DEFAULT_CONNECTION_LIMITS,
    { now: 0 },
  );
  const running = session.run();
  conn.feed(concat(REQUESTS.slice(0, 3)));
  for (let i = 0; i < 50; i++) await tick();
  assert.ok(conn.written.every((part) => part.length <= 7));
  assert.deepEqual(concat(conn.written), concat(REQUESTS.slice(0, 3)));
  session.close("test over");
  await running;
});
