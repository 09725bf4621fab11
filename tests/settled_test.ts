import assert from "node:assert/strict";
import { settle, settleWithin } from "../src/base/settled.ts";

Deno.test("settle() gives the value or the error, and never rejects", async () => {
  assert.deepEqual(await settle(Promise.resolve(7)), { kind: "value", value: 7 });
  const error = new Error("refused");
  assert.deepEqual(await settle(Promise.reject(error)), { kind: "error", error });
});

Deno.test("settleWithin() gives the value, the error or a timeout, and clears its timer", async () => {
  assert.deepEqual(await settleWithin(Promise.resolve(7), 1000), { kind: "value", value: 7 });
  const error = new Error("refused");
  assert.deepEqual(await settleWithin(Promise.reject(error), 1000), { kind: "error", error });
  let late: (value: number) => void = () => {};
  const slow = new Promise<number>((resolve) => late = resolve);
  const started = performance.now();
  assert.deepEqual(await settleWithin(slow, 50), { kind: "timeout" });
  assert.ok(performance.now() - started >= 45);
  late(1);
});

Deno.test("settleWithin() observes a rejection that comes after the timeout", async () => {
  let fail: (error: Error) => void = () => {};
  const slow = new Promise<number>((_, reject) => fail = reject);
  assert.deepEqual(await settleWithin(slow, 10), { kind: "timeout" });
  // Unobserved, this rejection would fail the test as unhandled.
  fail(new Error("too late"));
  await new Promise((resolve) => setTimeout(resolve, 10));
});
