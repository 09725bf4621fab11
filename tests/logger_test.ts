import assert from "node:assert/strict";
import { createLogger, FLUSH_AT_CHARS, FLUSH_DELAY_MS } from "../src/term/logger.ts";

/** A sink that keeps what it is given, taking at most `chunk` bytes per write. */
function memorySink(
  chunk = Infinity,
): { write(bytes: Uint8Array): Promise<number>; text(): string } {
  const parts: Uint8Array[] = [];
  return {
    write(bytes) {
      const taken = bytes.slice(0, Math.min(bytes.length, chunk));
      parts.push(taken);
      return Promise.resolve(taken.length);
    },
    text: () => new TextDecoder().decode(new Uint8Array(parts.flatMap((part) => [...part]))),
  };
}

/** The line the logger wrote before stamps were cached: the reference for byte-identical output. */
function referenceLine(ms: number, line: string): string {
  return `${new Date(ms).toISOString().slice(11, 23)} ${line}\n`;
}

Deno.test("createLogger() writes each line behind its millisecond's time stamp, byte for byte", async () => {
  const times = [
    Date.UTC(2026, 0, 1, 23, 59, 59, 999),
    Date.UTC(2026, 0, 1, 23, 59, 59, 999),
    Date.UTC(2026, 0, 2, 0, 0, 0, 0),
    Date.UTC(2026, 0, 2, 0, 0, 0, 0),
    Date.UTC(2026, 0, 2, 0, 0, 0, 7),
    Date.UTC(2026, 0, 2, 0, 0, 0, 0),
  ];
  let next = 0;
  const sink = memorySink(5);
  const log = createLogger({ sink, clock: () => times[next++] ?? 0 });
  const lines = ["a", "b é ✓", "c", "", "e", "back in time"];
  for (const line of lines) log(line);
  await log.flush();
  const expected = lines.map((line, i) => referenceLine(times[i] ?? 0, line)).join("");
  assert.equal(sink.text(), expected);
});

Deno.test("createLogger() makes one time stamp per millisecond, not one per line", async () => {
  const original = Date.prototype.toISOString;
  let made = 0;
  Date.prototype.toISOString = function (this: Date): string {
    made++;
    return original.call(this);
  };
  try {
    const sink = memorySink();
    let now = 1_000;
    const log = createLogger({ sink, clock: () => now });
    for (let i = 0; i < 100; i++) log(`line ${i}`);
    now++;
    for (let i = 0; i < 100; i++) log(`line ${i}`);
    await log.flush();
    assert.equal(made, 2);
    assert.equal(sink.text().split("\n").length, 201);
  } finally {
    Date.prototype.toISOString = original;
  }
});

Deno.test("createLogger() batches lines into one write a moment later", async () => {
  const sink = memorySink();
  let writes = 0;
  const log = createLogger({
    sink: { write: (bytes) => (writes++, sink.write(bytes)) },
    clock: () => 0,
  });
  for (let i = 0; i < 30; i++) log(`line ${i}`);
  assert.equal(writes, 0);
  await new Promise((resolve) => setTimeout(resolve, 10));
  await log.flush();
  assert.equal(writes, 1);
  assert.equal(
    sink.text(),
    Array.from({ length: 30 }, (_, i) => referenceLine(0, `line ${i}`)).join(""),
  );
});

Deno.test("createLogger({ quiet }) drops lines but writes warnings", async () => {
  const sink = memorySink();
  const log = createLogger({ sink, quiet: true, clock: () => 0 });
  log("routine");
  log.warn("server down");
  await log.flush();
  assert.equal(sink.text(), referenceLine(0, "server down"));
});

Deno.test("createLogger() survives a failing sink and keeps writing", async () => {
  const sink = memorySink();
  let fail = true;
  const log = createLogger({
    sink: { write: (bytes) => fail ? Promise.reject(new Error("EPIPE")) : sink.write(bytes) },
    clock: () => 0,
  });
  log("lost");
  await log.flush();
  fail = false;
  log("kept");
  await log.flush();
  assert.equal(sink.text(), referenceLine(0, "kept"));
});

Deno.test("createLogger() writes the lines of a few milliseconds together", async () => {
  const sink = memorySink();
  let writes = 0;
  const log = createLogger({
    sink: { write: (bytes) => (writes++, sink.write(bytes)) },
    clock: () => 0,
  });
  log("first");
  // A turn of the event loop later (a timer due before the flush's), another line.
  await new Promise((resolve) => setTimeout(resolve, 1));
  log("second");
  await new Promise((resolve) => setTimeout(resolve, FLUSH_DELAY_MS * 3));
  assert.equal(writes, 1);
  assert.equal(sink.text(), referenceLine(0, "first") + referenceLine(0, "second"));
  await log.flush();
});

Deno.test("createLogger() writes a large batch at once, without waiting for the delay", async () => {
  const sink = memorySink();
  const log = createLogger({ sink, clock: () => 0 });
  const line = "x".repeat(1000);
  const count = Math.ceil(FLUSH_AT_CHARS / line.length);
  for (let i = 0; i < count; i++) log(line);
  // Microtasks only: no timer has run.
  for (let i = 0; i < 10; i++) await Promise.resolve();
  assert.ok(sink.text().length >= FLUSH_AT_CHARS, `${sink.text().length} characters written`);
  await log.flush();
  assert.equal(sink.text(), referenceLine(0, line).repeat(count));
});
