import assert from "node:assert/strict";
import { FrameAssembler, FrameError } from "../src/protocol/frame_assembler.ts";
import { encodePacket } from "../src/protocol/header.ts";
import { IncompleteFrameError, PacketReader, writeAll } from "../src/protocol/packet_stream.ts";

function packet(size: number, fill: number): Uint8Array {
  const data = new Uint8Array(size).fill(fill);
  return encodePacket(
    {
      timestamp: 7,
      cacheResult: true,
      showSteps: false,
      isRequest: true,
      statusCode: 0,
      cacheControl: 9,
    },
    data,
  );
}

function drain(frames: FrameAssembler): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let p = frames.next(); p !== null; p = frames.next()) out.push(p);
  return out;
}

Deno.test("FrameAssembler yields several packets from one read", () => {
  const a = packet(3, 1), b = packet(0, 2), c = packet(700, 3);
  const frames = new FrameAssembler();
  frames.push(new Uint8Array([...a, ...b, ...c]));
  assert.deepEqual(drain(frames), [a, b, c]);
  assert.equal(frames.pending, 0);
});

Deno.test("FrameAssembler reassembles a packet fed one byte at a time", () => {
  const p = packet(1000, 9);
  const frames = new FrameAssembler(16);
  for (let i = 0; i < p.length - 1; i++) {
    frames.push(p.subarray(i, i + 1));
    assert.equal(frames.next(), null);
  }
  frames.push(p.subarray(p.length - 1));
  assert.deepEqual(frames.next(), p);
});

Deno.test("FrameAssembler handles a split at every offset of two packets", () => {
  const stream = new Uint8Array([...packet(20, 4), ...packet(5, 6)]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const frames = new FrameAssembler(8);
    frames.push(stream.subarray(0, cut));
    const first = drain(frames);
    frames.push(stream.subarray(cut));
    assert.equal(first.length + drain(frames).length, 2, `cut at ${cut}`);
  }
});

Deno.test("FrameAssembler accepts the largest packet, 65535 bytes", () => {
  const big = packet(65523, 5);
  const frames = new FrameAssembler();
  frames.push(big.subarray(0, 40000));
  assert.equal(frames.next(), null);
  frames.push(big.subarray(40000));
  assert.deepEqual(frames.next(), big);
});

Deno.test("FrameAssembler rejects a total length below 12", () => {
  const frames = new FrameAssembler();
  frames.push(new Uint8Array([0, 0, 0, 0, 0, 11, 0x14, 0, 0, 0, 0, 0]));
  assert.throws(() => frames.next(), FrameError);
});

Deno.test("FrameAssembler returns packets the caller owns", () => {
  const frames = new FrameAssembler(32);
  frames.push(packet(4, 1));
  const first = frames.next();
  frames.push(packet(4, 2));
  frames.next();
  assert.deepEqual(first, packet(4, 1));
});

Deno.test("FrameAssembler.nextView() returns a view that the next bytes overwrite unless lent", () => {
  const frames = new FrameAssembler(32);
  frames.push(packet(4, 1));
  const view = frames.nextView();
  assert.deepEqual(view, packet(4, 1));
  // Not lent: the buffer is rewound and reused, so the view shows the next packet.
  frames.push(packet(4, 2));
  assert.deepEqual(view, packet(4, 2));
  assert.deepEqual(frames.nextView(), packet(4, 2));
});

Deno.test("FrameAssembler.lend() keeps every view as it was through rewinds, compaction and growth", () => {
  const frames = new FrameAssembler(40);
  const held: [Uint8Array, Uint8Array][] = [];
  let fill = 0;
  // Packets of 16 and 20 bytes, fed whole and in pieces, each lent as a handler holding it would.
  for (let round = 0; round < 50; round++) {
    const next = packet(round % 2 === 0 ? 4 : 8, ++fill);
    const cut = round % 3 === 0 ? 5 : next.length;
    frames.push(next.subarray(0, cut));
    frames.push(next.subarray(cut));
    const view = frames.nextView();
    assert.ok(view !== null);
    if (round % 4 !== 3) frames.lend();
    else continue;
    held.push([view, next]);
  }
  for (const [view, expected] of held) assert.deepEqual(view, expected);
  assert.ok(held.length > 30);
});

Deno.test("FrameAssembler.next() still returns packets the caller owns when views are lent", () => {
  const frames = new FrameAssembler(32);
  frames.push(packet(4, 1));
  const copy = frames.next();
  assert.ok(copy !== null);
  assert.equal(copy.byteLength, copy.buffer.byteLength);
  frames.push(packet(4, 2));
  assert.deepEqual(copy, packet(4, 1));
});

/** A source that hands out the given chunks, then end of stream. */
function chunkSource(chunks: Uint8Array[]): { read(buffer: Uint8Array): Promise<number | null> } {
  let pending = chunks.slice();
  return {
    read(buffer) {
      const chunk = pending[0];
      if (chunk === undefined) return Promise.resolve(null);
      const count = Math.min(chunk.length, buffer.length);
      buffer.set(chunk.subarray(0, count));
      pending = count === chunk.length
        ? pending.slice(1)
        : [chunk.subarray(count), ...pending.slice(1)];
      return Promise.resolve(count);
    },
  };
}

Deno.test("PacketReader returns null at a clean end between packets", async () => {
  const reader = new PacketReader(
    chunkSource([packet(2, 1).subarray(0, 5), packet(2, 1).subarray(5)]),
  );
  assert.deepEqual(await reader.read(), packet(2, 1));
  assert.equal(await reader.read(), null);
});

Deno.test("PacketReader reports an end in the middle of a packet", async () => {
  const reader = new PacketReader(chunkSource([new Uint8Array([1, 2, 3, 4, 5])]));
  await assert.rejects(
    () => reader.read(),
    (error: unknown) => error instanceof IncompleteFrameError && error.received.length === 5,
  );
});

Deno.test("writeAll() loops until a sink that takes 3 bytes a call has everything", async () => {
  const received: number[] = [];
  const sink = {
    write(bytes: Uint8Array) {
      const count = Math.min(3, bytes.length);
      received.push(...bytes.subarray(0, count));
      return Promise.resolve(count);
    },
  };
  const p = packet(50, 8);
  await writeAll(sink, p);
  assert.deepEqual(Uint8Array.from(received), p);
});
