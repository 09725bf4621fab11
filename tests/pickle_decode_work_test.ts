import assert from "node:assert/strict";
import { PyException } from "../src/calc/py_exception.ts";
import {
  decodeExpr,
  type DecodeLimits,
  decodeResponse,
  type DecodeStats,
  DEFAULT_DECODE_LIMITS,
  encodeResult,
  newDecodeStats,
  NotAnExpressionError,
  PickleError,
  resolveDecodeLimits,
} from "../src/pickle/mod.ts";
import { unpickle } from "../src/pickle/decoder.ts";
import { type DDict, type DInstance, findKey, type Value } from "../src/pickle/decoded_value.ts";
import { answerRequest, DEFAULT_SERVER_POLICY } from "../src/server/handler.ts";
import { decodeHeader, HEADER_SIZE, Status } from "../src/protocol/header.ts";
import { RECORDED_EXAMPLES } from "./fixtures/course_examples.ts";
import { fromHex, toHex } from "./helpers/bytes.ts";
import { runCli, startCli } from "./helpers/cli.ts";
import {
  bigIntArgsPickle,
  bigIntKeysPickle,
  collidingKeysPickle,
  collidingNames,
  complexReducePickle,
  deepMarksPickle,
  denseMemoPickle,
  exceptionDagPickle,
  indentBombPickle,
  MAX_PACKET_DATA,
  MEMO_EXTREMES_HEX,
  ordinaryNames,
  PickleWriter,
  randomRebuildPickle,
  rebuildFromMemoPickle,
  repeatedBuildPickle,
  sharedDictCopiesPickle,
  stepBombPickle,
} from "./helpers/hostile_pickles.ts";
import { requestPacket } from "./helpers/net.ts";
import { SeededRandom } from "./helpers/pickle_fixture.ts";

const SEED = 20250609;
/** The generous wall-clock bound of one hostile decode (they take a few ms). */
const SANITY_MS = 200;
/** Work per byte that shapes linear by design stay under (reading is 1, copying the rest). */
const LINEAR_WORK_PER_BYTE = 3;
/** A budget per byte that lets the costly shapes show their cost, and still ends soon. */
const ROOMY_WORK_PER_BYTE = 200;

type Decode = (data: Uint8Array, limits?: Partial<DecodeLimits>, stats?: DecodeStats) => unknown;

interface Outcome {
  readonly error: unknown;
  readonly stats: DecodeStats;
  readonly ms: number;
}

/** Runs one decode, keeping its error (if any), its stats and its time. */
function measure(decode: Decode, data: Uint8Array, limits?: Partial<DecodeLimits>): Outcome {
  const stats = newDecodeStats();
  const start = performance.now();
  let error: unknown = undefined;
  try {
    decode(data, limits, stats);
  } catch (caught: unknown) {
    error = caught;
  }
  return { error, stats, ms: performance.now() - start };
}

/** Asserts that a decode ended cleanly: no error, or a one-line PickleError. */
function assertClean(outcome: Outcome, what: string): void {
  if (outcome.error === undefined) return;
  assert.ok(outcome.error instanceof PickleError, `${what}: ${String(outcome.error)}`);
  assert.ok(!outcome.error.message.includes("\n"), `${what}: one-line message`);
}

/** Asserts that a decode was refused for its work (and stopped at its budget). */
function assertOverBudget(outcome: Outcome, what: string): void {
  assert.ok(
    outcome.error instanceof PickleError && /units of work/.test(outcome.error.message),
    `${what}: ${String(outcome.error)}`,
  );
  assert.ok(outcome.stats.work <= outcome.stats.budget, what);
}

/** The least time of `runs` decodes of `data` (after one to warm up), in ms. */
function bestTime(decode: Decode, data: Uint8Array, runs = 7): number {
  measure(decode, data);
  let best = Infinity;
  for (let i = 0; i < runs; i++) best = Math.min(best, measure(decode, data).ms);
  return best;
}

Deno.test("decodeExpr() refuses the issue's memo indices 0xFFFFFFFE and 0xFFFFFFFF with a PickleError", () => {
  const data = fromHex(MEMO_EXTREMES_HEX);
  const outcome = measure(decodeExpr, data);
  assertClean(outcome, "memo extremes");
  assert.match(String(outcome.error), /memo index 4294967294 is beyond what a pickle of 14 bytes/);
  // The server answers it as any undecodable request, instead of crashing.
  const answer = answerRequest(requestPacket(data), DEFAULT_SERVER_POLICY, 0);
  assert.equal(answer.statusCode, Status.ClientError);
  assert.equal(decodeHeader(answer.packet).header.statusCode, Status.ClientError);
  const body = decodeResponse(answer.packet.subarray(HEADER_SIZE));
  assert.ok(body.kind === "error");
  assert.equal(body.error.repr(), "ValueError('Received data could not be deserialized')");
});

Deno.test("unpickle() keeps memo indices below the pickle's length, in a dense memo", () => {
  const limits = resolveDecodeLimits();
  // PROTO, NONE, LONG_BINPUT i, POP, LONG_BINGET i, STOP: 15 bytes, so 14 is the last index.
  const pickle = (index: number) =>
    new PickleWriter().put(0x80, 0x04, 0x4e, 0x72, [index, 0, 0, 0], 0x30, 0x6a, [index, 0, 0, 0])
      .put(0x2e).bytes();
  assert.equal(unpickle(pickle(14), limits), null);
  assert.throws(() => unpickle(pickle(15), limits), /memo index 15 is beyond/);
  // The gap below a put is filled, each slot a unit of work, and stays empty.
  const stats = newDecodeStats();
  unpickle(pickle(14), limits, stats);
  assert.equal(stats.work, 15 + 14);
  const gap = new PickleWriter().put(0x80, 0x04, 0x4e, 0x72, [10, 0, 0, 0], 0x68, 5, 0x2e).bytes();
  assert.throws(() => unpickle(gap, limits), /memo has nothing at index 5/);
});

Deno.test("decodeExpr() reads the issue's 62 KB repeated-BUILD attack in linear work, < 200 ms", () => {
  const data = repeatedBuildPickle(4095, 10_000);
  assert.ok(data.length > 60_000 && data.length <= MAX_PACKET_DATA, `${data.length} B`);
  const outcome = measure(decodeExpr, data);
  assert.ok(outcome.error instanceof NotAnExpressionError, String(outcome.error));
  assert.match(outcome.error.message, /Constant object has no attribute 'value'/);
  assert.ok(outcome.stats.work <= LINEAR_WORK_PER_BYTE * data.length, `${outcome.stats.work}`);
  assert.ok(outcome.ms < SANITY_MS, `${outcome.ms.toFixed(1)} ms`);
});

/** The attributes of a decoded object, as [name, value] pairs in order. */
function attributesOf(value: Value): [Value, Value][] {
  assert.ok(typeof value === "object" && value !== null && value.kind === "instance");
  const instance = value as DInstance;
  const pairs: [Value, Value][] = [];
  for (let i = 0; i < instance.attributes.length; i += 2) {
    const name = instance.attributes[i] as Value;
    // The index agrees with the pairs.
    assert.equal(findKey(instance.attributes, instance.attributeIndex, name), i);
    pairs.push([name, instance.attributes[i + 1] as Value]);
  }
  return pairs;
}

Deno.test("unpickle() applies each BUILD to __dict__ in order and leaves the state dict as it was", () => {
  for (const extra of [0, 12]) {
    const names = Array.from({ length: extra }, (_, i) => `a${i}`);
    // (A, B, state): A built with {value: 1, x: 2, a…}, then {x: 3, y: 4}, then
    // {value: 5}; B built with the first state (memo 4), which is returned too.
    const out = new PickleWriter().put(0x80, 0x04)
      .str("calculator").put(0x94).str("Constant").put(0x94, 0x93, 0x94) // memo 2: the class
      .put(0x29, 0x81, 0x94) // memo 3: A
      .put(0x7d, 0x94, 0x28).str("value").put(0x4b, 1).str("x").put(0x4b, 2); // memo 4
    for (const name of names) out.str(name).put(0x4e);
    out.put(0x75, 0x62)
      .put(0x7d, 0x28).str("x").put(0x4b, 3).str("y").put(0x4b, 4).put(0x75, 0x62)
      .put(0x7d).str("value").put(0x4b, 5).put(0x73, 0x62)
      .put(0x68, 2, 0x29, 0x81, 0x68, 4, 0x62) // B
      .put(0x68, 4, 0x87, 0x2e); // (A, B, state)
    const root = unpickle(out.bytes(), resolveDecodeLimits());
    assert.ok(typeof root === "object" && root !== null && root.kind === "tuple");
    const [a, b, state] = root.items as [Value, Value, Value];
    const rest = names.map((name): [Value, Value] => [name, null]);
    assert.deepEqual(attributesOf(a), [["value", 5n], ["x", 3n], ...rest, ["y", 4n]]);
    assert.deepEqual(attributesOf(b), [["value", 1n], ["x", 2n], ...rest]);
    assert.deepEqual((state as DDict).pairs, ["value", 1n, "x", 2n, ...rest.flat()]);
  }
});

// ---------------------------------------------------------------- dict keys

/** The one tuple of the property test's dicts (memo 0): a key by identity. */
const TUPLE = Symbol("the tuple");
type PoolKey = Exclude<Value, object> | typeof TUPLE;

/** The keys of the property test: kinds V8 hashes differently, and strs that spell tags. */
const KEY_POOL: readonly PoolKey[] = [
  0n,
  1n,
  16n,
  -1n,
  1n << 64n,
  (1n << 64n) + 1n,
  (1n << 72n) + 16n,
  (2n << 72n) + 16n,
  1,
  1.5,
  0,
  -0,
  NaN,
  Infinity,
  true,
  false,
  null,
  "",
  "1",
  "16",
  "4096",
  "8192",
  "0010",
  "12345678901234567",
  "value",
  "\0",
  "\0N",
  "\0T",
  "\0i10",
  "\0f1",
  "\0s4096",
  "\0s\0N",
  TUPLE,
];

/** Writes `key` as the pickle opcode that makes it. */
function writeKey(out: PickleWriter, key: PoolKey): void {
  if (typeof key === "bigint") {
    const bytes: number[] = [];
    let rest = BigInt.asUintN(128, key);
    for (let i = 0; i < 16; i++, rest >>= 8n) bytes.push(Number(rest & 0xffn));
    out.put(0x8a, 16, bytes);
  } else if (typeof key === "number") {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, key);
    out.put(0x47, Array.from(new Uint8Array(view.buffer)));
  } else if (typeof key === "string") {
    const utf8 = new TextEncoder().encode(key);
    out.put(0x58, [utf8.length, 0, 0, 0], Array.from(utf8));
  } else if (typeof key === "boolean") {
    out.put(key ? 0x88 : 0x89);
  } else {
    out.put(key === null ? [0x4e] : [0x68, 0]);
  }
}

Deno.test("unpickle() gives dict keys one meaning, scanned or indexed: a Map's (property)", () => {
  const rng = new SeededRandom(SEED);
  const limits = resolveDecodeLimits();
  let indexed = 0;
  const noInts = KEY_POOL.filter((key) => typeof key !== "bigint");
  for (let run = 0; run < 400; run++) {
    const pool = rng.chance(0.5) ? KEY_POOL : noInts;
    // The tuple () as memo 0, then a dict of random keys set in random batches.
    const out = new PickleWriter().put(0x80, 0x04, 0x29, 0x94, 0x30, 0x7d);
    // The reference: a JS Map of the same keys (SameValueZero, as the decoder promises).
    const expected = new Map<PoolKey, bigint>();
    const count = rng.int(rng.chance(0.5) ? 10 : 60);
    for (let value = 0; value < count;) {
      out.put(0x28);
      for (let batch = 1 + rng.int(10); batch > 0 && value < count; batch--, value++) {
        const key = rng.pick(pool);
        writeKey(out, key);
        out.put(0x4b, value);
        expected.set(key, BigInt(value));
      }
      out.put(0x75);
    }
    const dict = unpickle(out.put(0x2e).bytes(), limits) as DDict;
    const pairs: [PoolKey, Value][] = [];
    for (let i = 0; i < dict.pairs.length; i += 2) {
      const key = dict.pairs[i] as Value;
      assert.equal(findKey(dict.pairs, dict.index, key), i, "the index agrees with the pairs");
      // A Map keeps +0 for -0; the tuple stands for itself.
      const poolKey = typeof key === "object" && key !== null ? TUPLE : key === 0 ? 0 : key;
      pairs.push([poolKey, dict.pairs[i + 1] as Value]);
    }
    assert.deepEqual(pairs, [...expected], `run ${run}`);
    if (pairs.length > 8 || pairs.some(([key]) => typeof key === "bigint")) {
      assert.ok(dict.index !== undefined, `run ${run}: indexed`);
      indexed++;
    }
  }
  assert.ok(indexed > 100 && indexed < 300, `both kinds: ${indexed} of 400 dicts indexed`);
});

Deno.test("decodeExpr() reads dict keys V8 hashes alike as fast as ordinary ones", async (t) => {
  // Work units cannot see a hash table's collisions; the time can, against a control.
  const slower = (hostile: number, control: number) => hostile > 4 * control + 5;
  await t.step("5,000 str keys '4096', '8192', … (the issue's attribute names)", () => {
    const hostile = bestTime(decodeExpr, collidingKeysPickle(5000));
    const control = bestTime(decodeExpr, collidingKeysPickle(5000, ordinaryNames(5000)));
    assert.ok(!slower(hostile, control), `${hostile.toFixed(1)} ms vs ${control.toFixed(1)} ms`);
  });
  await t.step("64 KB of int keys equal in their low 64 bits (the issue's 218 ms)", () => {
    const data = bigIntKeysPickle();
    assert.ok(data.length > 65_000);
    const hostile = bestTime(decodeExpr, data);
    const control = bestTime(decodeExpr, bigIntKeysPickle(10, MAX_PACKET_DATA, true));
    assert.ok(!slower(hostile, control), `${hostile.toFixed(1)} ms vs ${control.toFixed(1)} ms`);
  });
});

/** A hostile shape: how to make one from a random generator, and what reads it. */
interface Shape {
  readonly name: string;
  readonly make: (rng: SeededRandom) => Uint8Array;
  readonly decode: Decode;
}

/** Shapes a naive decoder makes costly, which this one reads in linear work. */
const LINEAR_SHAPES: readonly Shape[] = [
  {
    name: "repeated empty BUILD",
    make: (rng) => repeatedBuildPickle(1 + rng.int(4095), rng.int(10_001)),
    decode: decodeExpr,
  },
  {
    name: "colliding str keys",
    make: (rng) => collidingKeysPickle(1 + rng.int(6000)),
    decode: decodeExpr,
  },
  {
    name: "int keys equal in their low 64 bits",
    make: (rng) => bigIntKeysPickle(9 + rng.int(56), 1000 + rng.int(MAX_PACKET_DATA - 1000)),
    decode: decodeExpr,
  },
  {
    name: "memo extremes",
    make: (rng) => {
      const index = rng.pick([0xffffffff, 0xfffffffe, 2 ** 31, 1 << 24, 70_000, rng.uint32()]);
      return new PickleWriter().put(0x80, 0x04, 0x4e).repeat(rng.int(3000), [0x4e, 0x30])
        .put(0x72, [index & 0xff, (index >>> 8) & 0xff, (index >>> 16) & 0xff, index >>> 24])
        .put(0x2e).bytes();
    },
    decode: decodeExpr,
  },
  {
    name: "a memo put far up, within the pickle",
    make: (rng) => {
      const length = 100 + rng.int(MAX_PACKET_DATA - 100);
      const index = rng.int(length);
      return new PickleWriter().put(0x80, 0x04, 0x4e)
        .put(0x72, [index & 0xff, (index >>> 8) & 0xff, 0, 0], 0x2e)
        .repeat(length - 9, [0]).bytes();
    },
    decode: decodeExpr,
  },
  {
    name: "dense memo",
    make: (rng) => denseMemoPickle(1000 + rng.int(64_000)),
    decode: decodeExpr,
  },
  { name: "deep marks", make: (rng) => deepMarksPickle(1 + rng.int(32_000)), decode: decodeExpr },
  {
    name: "complex(*huge tuple)",
    make: (rng) => complexReducePickle(12_000 + rng.int(50_000)),
    decode: decodeExpr,
  },
];

/** Shapes whose reading needs far more work than their bytes: the budget refuses them. */
const COSTLY_SHAPES: readonly Shape[] = [
  {
    name: "BUILD with one big dict, again and again",
    make: (rng) => rebuildFromMemoPickle(50 + rng.int(3000)),
    decode: decodeExpr,
  },
  {
    name: "a shared dict changed again and again",
    make: (rng) => sharedDictCopiesPickle(50 + rng.int(3000)),
    decode: decodeExpr,
  },
  {
    name: "a random state set again and again",
    make: (rng) => randomRebuildPickle(10_000 + rng.int(55_000)),
    decode: decodeExpr,
  },
  {
    name: "nested exceptions sharing their arguments",
    make: (rng) => exceptionDagPickle(20 + rng.int(80), "x".repeat(1 + rng.int(100))),
    decode: decodeResponse,
  },
  {
    name: "one big int argument used many times",
    make: (rng) => bigIntArgsPickle(100 + rng.int(3997), 2000 + rng.int(20_000)),
    decode: decodeResponse,
  },
];

Deno.test("decode work stays linear in the bytes for hostile shapes cheap by design (property)", () => {
  const rng = new SeededRandom(SEED + 1);
  for (const shape of LINEAR_SHAPES) {
    let most = 0;
    for (let run = 0; run < 12; run++) {
      const data = shape.make(rng);
      const outcome = measure(shape.decode, data);
      const what = `${shape.name} (${data.length} B)`;
      assertClean(outcome, what);
      assert.ok(!/units of work/.test(String(outcome.error)), `${what}: ${outcome.error}`);
      most = Math.max(most, outcome.stats.work / data.length);
    }
    assert.ok(most <= LINEAR_WORK_PER_BYTE, `${shape.name}: ${most.toFixed(2)} units per byte`);
  }
});

Deno.test("decode work beyond the budget is refused; the units show how far beyond (property)", () => {
  const rng = new SeededRandom(SEED + 2);
  for (const shape of COSTLY_SHAPES) {
    for (let run = 0; run < 6; run++) {
      const data = shape.make(rng);
      assertOverBudget(measure(shape.decode, data), `${shape.name} (${data.length} B)`);
    }
    // With more room, the units show what reading one costs: far beyond the default.
    const data = shape.make(rng);
    const roomy = measure(shape.decode, data, { maxWorkPerByte: ROOMY_WORK_PER_BYTE });
    assertClean(roomy, shape.name);
    const perByte = roomy.stats.work / data.length;
    assert.ok(
      perByte > 4 * DEFAULT_DECODE_LIMITS.maxWorkPerByte,
      `${shape.name}: ${perByte.toFixed(1)} units per byte`,
    );
  }
});

Deno.test("every hostile shape, packet-sized, decodes or is refused within 200 ms", () => {
  const rng = new SeededRandom(SEED + 3);
  for (const shape of [...LINEAR_SHAPES, ...COSTLY_SHAPES]) {
    for (let run = 0; run < 3; run++) {
      const data = shape.make(rng);
      const outcome = measure(shape.decode, data);
      assertClean(outcome, shape.name);
      assert.ok(outcome.ms < SANITY_MS, `${shape.name}: ${outcome.ms.toFixed(1)} ms`);
    }
  }
});

/**
 * A random hostile pickle made of pieces that each stress one part of the
 * decoder: objects built again and again, dicts shared and changed, memo
 * puts anywhere, marks, big ints, containers of whatever is on the stack.
 */
function gadgetPickle(rng: SeededRandom, size: number): Uint8Array {
  const out = new PickleWriter().put(0x80, 0x04)
    .str("calculator").put(0x94).str("Constant").put(0x94, 0x93, 0x94) // memo 2: the class
    .put(0x7d, 0x94, 0x28); // memo 3: a dict of many attributes
  for (const name of collidingNames(1 + rng.int(300))) out.str(name).put(0x4e);
  out.put(0x75, 0x29, 0x81, 0x94, 0x68, 3, 0x62); // memo 4: an object built with it
  const gadgets: (() => void)[] = [
    () => out.put(0x68, 4, 0x68, 3, 0x62, 0x30), // BUILD the object with the dict again
    () => out.put(0x68, 3, 0x8c, 1, 0x61 + rng.int(26), 0x4e, 0x73, 0x30), // change the dict
    () => out.put(0x68, 2, 0x29, 0x81, 0x68, 3, 0x62, 0x30), // a new object sharing it
    () => out.put(0x68, 4, 0x7d, 0x62, 0x30), // an empty BUILD
    () => out.put(0x28).repeat(rng.int(50), [0x68, rng.int(5)]).put(rng.pick([0x74, 0x6c, 0x31])),
    () => out.put(0x5d, 0x28).repeat(rng.int(50), [0x4e]).put(0x65, 0x30), // APPENDS
    () => out.put(0x4e, 0x72, [rng.int(256), rng.int(256), rng.int(4), 0], 0x30), // memo put
    () => out.put(0x6a, [rng.int(256), rng.int(256), 0, 0], 0x30), // memo get
    () => out.put(0x8a, 10, Array.from({ length: 10 }, () => rng.int(128)), 0x30),
    () =>
      out.put(0x28, 0x7d, 0x28, 0x8a, 9, [0, 0, 0, 0, 0, 0, 0, 0, 1 + rng.int(100)], 0x4e)
        .put(0x75, 0x31), // a dict with an int key
    () => out.put(rng.int(256)), // anything
  ];
  while (out.length < size) rng.pick(gadgets)();
  return out.put(0x2e).bytes();
}

Deno.test("random mixes of hostile pieces end cleanly within the budget (fuzz)", () => {
  const rng = new SeededRandom(SEED + 4);
  const budgetMs = 1500;
  const start = performance.now();
  let runs = 0;
  let refused = 0;
  while (performance.now() - start < budgetMs) {
    const data = gadgetPickle(rng, 100 + rng.int(MAX_PACKET_DATA - 100));
    const limits = { maxWorkPerByte: rng.pick([1, 2, 4, 16, 64]) };
    const outcome = measure(decodeExpr, data, limits);
    const what = `input ${
      toHex(data.subarray(0, 64))
    }… of ${data.length} B, ${limits.maxWorkPerByte}/B`;
    assertClean(outcome, what);
    assert.ok(outcome.stats.work <= outcome.stats.budget, what);
    assert.equal(outcome.stats.budget, limits.maxWorkPerByte * data.length);
    assert.ok(outcome.ms < SANITY_MS, `${what}: ${outcome.ms.toFixed(1)} ms`);
    if (/units of work/.test(String(outcome.error))) refused++;
    runs++;
  }
  console.log(`gadget fuzz: ${runs} inputs (seed ${SEED + 4}), ${refused} refused for their work`);
  assert.ok(runs >= 50 && refused > 0 && refused < runs, `${refused} of ${runs} refused`);
});

Deno.test("maxWorkPerByte: the course's examples take under 2 units per byte; fewer refuses them", () => {
  for (const example of RECORDED_EXAMPLES) {
    const data = fromHex(example.dataHex);
    const outcome = measure(decodeExpr, data);
    assert.equal(outcome.error, undefined);
    assert.ok(
      outcome.stats.work < 2 * data.length,
      `example ${example.number}: ${outcome.stats.work}`,
    );
    assert.equal(outcome.stats.budget, DEFAULT_DECODE_LIMITS.maxWorkPerByte * data.length);
    // A unit per byte leaves nothing for copies.
    assertOverBudget(measure(decodeExpr, data, { maxWorkPerByte: 1 }), `example ${example.number}`);
  }
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => resolveDecodeLimits({ maxWorkPerByte: bad }), RangeError);
  }
});

Deno.test("decodeResponse() counts the work of exception messages, shared arguments per use", async (t) => {
  await t.step(
    "nested exceptions holding the one below twice, 60 deep, are refused at once",
    () => {
      const outcome = measure(decodeResponse, exceptionDagPickle(60));
      assertOverBudget(outcome, "2^60 leaves");
      assert.ok(outcome.ms < SANITY_MS, `${outcome.ms.toFixed(1)} ms`);
    },
  );
  await t.step("a 4 KB int used 25,000 times is refused at once", () => {
    const outcome = measure(decodeResponse, bigIntArgsPickle());
    assertOverBudget(outcome, "big int arguments");
    assert.ok(outcome.ms < SANITY_MS, `${outcome.ms.toFixed(1)} ms`);
  });
  await t.step("a shared exception is one object, its message as Python's", () => {
    const decoded = decodeResponse(exceptionDagPickle(2, "x"));
    assert.ok(decoded.kind === "error");
    const [first, second] = decoded.error.args;
    assert.ok(first instanceof PyException && first === second);
    const inner = "(ValueError('x'), ValueError('x'))";
    assert.equal(first.str(), inner);
    assert.equal(
      decoded.error.str(),
      `(ValueError(ValueError('x'), ValueError('x')), ValueError(ValueError('x'), ValueError('x')))`,
    );
  });
});

Deno.test("decodeResponse() counts every step's characters each time it is used", async (t) => {
  await t.step("the review's step bomb (one 30,000-character str 17,755 times) is refused", () => {
    const data = stepBombPickle();
    assert.equal(data.length, MAX_PACKET_DATA);
    const outcome = measure(decodeResponse, data);
    assertOverBudget(outcome, "step bomb");
    assert.ok(outcome.ms < SANITY_MS, `${outcome.ms.toFixed(1)} ms`);
  });
  await t.step("a str used again costs its length again: 5 uses of 1,000 characters", () => {
    const long = new PickleWriter().put(0x80, 0x04, 0x4b, 1, 0x5d, 0x28)
      .put(0x58, 0xe8, 0x03, 0, 0, "a".repeat(1000), 0x94) // memo 0: 1,000 characters
      .repeat(4, [0x68, 0]).put(0x65, 0x86, 0x2e).bytes();
    const once = newDecodeStats();
    const decoded = decodeResponse(long, undefined, once);
    assert.ok(decoded.kind === "result" && decoded.steps.length === 5);
    // Reading is about a unit a byte; the four gets cost 1,001 units more each.
    assert.ok(once.work > 5 * 1001 && once.work < 5 * 1001 + 2 * long.length, `${once.work}`);
  });
  await t.step("steps filling a whole answer, each used once, take under 3 units a byte", () => {
    const steps = Array.from({ length: 640 }, (_, i) => `${i} + ${"9".repeat(90)}`);
    const data = encodeResult(1n, steps);
    assert.ok(data.length > 60_000 && data.length <= MAX_PACKET_DATA, `${data.length}`);
    const outcome = measure(decodeResponse, data);
    assert.equal(outcome.error, undefined);
    assert.ok(outcome.stats.work < LINEAR_WORK_PER_BYTE * data.length, `${outcome.stats.work}`);
  });
  await t.step(
    "an empty step used 17,000 times after a long one is cheap: its printing is not",
    () => {
      const outcome = measure(decodeResponse, indentBombPickle());
      assert.equal(outcome.error, undefined, "the client bounds what it prints instead");
    },
  );
});

Deno.test("server --max-decode-work-per-byte is listed with its default and reaches the decoder", async () => {
  const help = await runCli(["server", "--help"]);
  assert.match(
    help.stdout,
    new RegExp(
      `--max-decode-work-per-byte N .*\\(default: ${DEFAULT_DECODE_LIMITS.maxWorkPerByte}\\)`,
    ),
  );
  await using server = await startCli([
    "server",
    "--port",
    "0",
    "--quiet",
    "--max-decode-work-per-byte",
    "1",
  ]);
  const result = await runCli(["client", "-p", String(server.port), "-q", "2 + 2"]);
  assert.equal(result.stdout, "Got error: Received data could not be deserialized\n");
  const bad = await runCli(["server", "--max-decode-work-per-byte", "0"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--max-decode-work-per-byte must be a whole number from 1/);
  assert.equal((await server.stop("SIGTERM")).code, 0);
});
