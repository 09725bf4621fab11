import assert from "node:assert/strict";
import {
  binary,
  call,
  constant,
  type Expr,
  named,
  type RandomState,
  unary,
} from "../src/calc/expr.ts";
import { PyException } from "../src/calc/py_exception.ts";
import {
  encodeException,
  encodeExpr,
  encodeResult,
  MAX_ENCODE_DEPTH,
  pickleDumps,
  PickleError,
  pyBuiltinType,
  pyDict,
  pyGlobal,
  pyInstance,
  pyInterned,
  pyList,
  type PyObject,
  pyReduce,
  pyTuple,
} from "../src/pickle/mod.ts";
import { RECORDED_EXAMPLES } from "./fixtures/course_examples.ts";
import {
  COURSE_EXCEPTIONS,
  exceptionJson,
  expandTree,
  firstDifference,
  INT_EDGES,
  numberJson,
  randomExpr,
  randomState,
  randomValue,
  SeededRandom,
  type TreeDocument,
  treeJson,
  valueJson,
} from "./helpers/pickle_fixture.ts";
import { runFixture, runFixtureGroups } from "./helpers/python.ts";
import { toHex } from "./helpers/bytes.ts";

const SEED = 20240611;

/** The fixture's `encode-expr` items for `trees` (protocol 4, module calculator). */
function exprItems(trees: readonly Expr[]): unknown[] {
  return trees.map((tree) => ({ ...treeJson(tree), module: "calculator", protocol: 4 }));
}

/** The fixture's `encode-value` items for `values` (protocol 4). */
function valueItems(values: readonly PyObject[]): unknown[] {
  return values.map((value) => ({ value: valueJson(value), protocol: 4 }));
}

function assertSameBytes(ours: Uint8Array, cpython: string, what: string): void {
  const hex = toHex(ours);
  if (hex !== cpython) assert.fail(`${what}: ${firstDifference(hex, cpython)}`);
}

Deno.test("encodeExpr() writes the course's six examples byte for byte", () => {
  for (const example of RECORDED_EXAMPLES) {
    assertSameBytes(encodeExpr(example.expr), example.dataHex, `example ${example.number}`);
  }
});

Deno.test("the Python mirror of the course classes writes the six examples byte for byte", async () => {
  const [hex] = await runFixtureGroups("encode-expr", [
    exprItems(RECORDED_EXAMPLES.map((example) => example.expr)),
  ]);
  assert.deepEqual(hex, RECORDED_EXAMPLES.map((example) => example.dataHex));
});

Deno.test("encodeExpr() is byte-identical to CPython", async (t) => {
  console.log(`random trees from seed ${SEED}`);
  const rng = new SeededRandom(SEED);
  const randomTrees = Array.from({ length: 400 }, () => randomExpr(rng, 1 + rng.int(7)));
  const numbers = [...INT_EDGES, 0, -0, Infinity, -Infinity, NaN, 5e-324, 1e308, true, false];
  const numberTrees = numbers.map((value) => constant(value));
  const signs = binary(
    unary("-", binary(constant(1n), "-", constant(2n))),
    "+",
    unary("+", binary(constant(3n), "+", unary("-", constant(4n)))),
  );
  const stateRng = new SeededRandom(SEED + 1);
  const state = randomState(stateRng);
  const other = randomState(stateRng);
  const randTrees = [
    call("rand", [constant(1n), constant(2n)], state),
    call("max", [call("rand", [], state), call("rand", [constant(0.5)], state)]),
    binary(call("rand", [], state), "+", call("rand", [], other)),
    call("rand", [], { ...state, index: 0, gauss: 0.25 }),
  ];
  const shared = binary(constant(6n), "*", constant(7n));
  const sharing = binary(shared, "-", call("sin", [shared]));
  const namedTrees = [
    binary(named("PI"), "+", binary(named("TAU"), "*", named("E"))),
    binary(named("E"), "**", named("E")),
    binary({ kind: "named", name: "PI", value: 3 }, "-", named("PI")),
  ];
  // CPython pickles the trees of all the steps in one run.
  const [randomHex, numberHex, [signsHex], randHex, [sharingHex], namedHex] =
    await runFixtureGroups("encode-expr", [
      exprItems(randomTrees),
      exprItems(numberTrees),
      exprItems([signs]),
      exprItems(randTrees),
      exprItems([sharing]),
      exprItems(namedTrees),
    ]);

  await t.step("for 400 random trees", () => {
    randomTrees.forEach((tree, i) =>
      assertSameBytes(encodeExpr(tree), randomHex[i] as string, `tree ${i}`)
    );
  });

  await t.step("for constants of every int size, floats and bools", () => {
    numberTrees.forEach((tree, i) =>
      assertSameBytes(encodeExpr(tree), numberHex[i] as string, `${numbers[i]}`)
    );
  });

  await t.step("for both '-' and both '+', which share one str", () => {
    assertSameBytes(encodeExpr(signs), signsHex as string, "signs");
  });

  await t.step("for rand, its state shared by every call", () => {
    randTrees.forEach((tree, i) =>
      assertSameBytes(encodeExpr(tree), randHex[i] as string, `rand ${i}`)
    );
  });

  await t.step("for a sub-tree that is one object in two places", () => {
    const bytes = encodeExpr(sharing);
    assertSameBytes(bytes, sharingHex as string, "shared");
    assert.ok(
      bytes.length <
        encodeExpr(binary(shared, "-", call("sin", [binary(constant(6n), "*", constant(7n))])))
          .length,
    );
  });

  await t.step("for named constants, with the course's values and others", () => {
    namedTrees.forEach((tree, i) =>
      assertSameBytes(encodeExpr(tree), namedHex[i] as string, `named ${i}`)
    );
  });
});

Deno.test("CPython unpickles encodeExpr() output to the same tree", async () => {
  const rng = new SeededRandom(SEED + 2);
  const trees = Array.from({ length: 150 }, () => randomExpr(rng, 1 + rng.int(6)));
  const answer = (await runFixture("decode-expr", {
    items: trees.map((tree) => toHex(encodeExpr(tree))),
  })) as { items: TreeDocument[] };
  trees.forEach((tree, i) => {
    // Compared expanded: CPython shares the course's singletons (two E nodes
    // are one NamedConstant) where a JS tree may hold two equal objects.
    const ours = treeJson(tree);
    const theirs = answer.items[i] as TreeDocument;
    assert.deepEqual(expandTree(theirs.tree), expandTree(ours.tree), `tree ${i}`);
    assert.deepEqual(theirs.states, ours.states, `states of tree ${i}`);
  });
});

Deno.test("encodeExpr() rejects trees Python cannot have built", async (t) => {
  const state: RandomState = { words: new Uint32Array(624), index: 624, gauss: null };

  await t.step("rand without a random state", () => {
    assert.throws(() => encodeExpr(call("rand", [])), PickleError);
  });

  await t.step("a random state of the wrong size or index", () => {
    assert.throws(
      () => encodeExpr(call("rand", [], { ...state, words: new Uint32Array(3) })),
      PickleError,
    );
    assert.throws(() => encodeExpr(call("rand", [], { ...state, index: 625 })), PickleError);
  });

  await t.step("a random state on another function", () => {
    assert.throws(() => encodeExpr(call("sin", [constant(1n)], state)), PickleError);
  });

  await t.step(`a tree deeper than ${MAX_ENCODE_DEPTH} levels, without a RangeError`, () => {
    let deep: Expr = constant(1n);
    for (let i = 1; i < MAX_ENCODE_DEPTH; i++) deep = call("sin", [deep]);
    encodeExpr(deep);
    for (let i = 0; i < 50_000; i++) deep = unary("-", deep);
    assert.throws(() => encodeExpr(deep), PickleError);
  });
});

/** Lists and dicts at every batch boundary, and tuples of up to five items. */
function batchBoundaryValues(): PyObject[] {
  const values: PyObject[] = [];
  for (const size of [0, 1, 2, 999, 1000, 1001, 2000, 2001]) {
    values.push(pyList(Array.from({ length: size }, (_, i) => BigInt(i))));
    values.push(pyDict(Array.from({ length: size }, (_, i) => [BigInt(i), `v${i}`])));
    values.push(pyTuple(Array.from({ length: Math.min(size, 5) }, (_, i) => BigInt(i))));
  }
  return values;
}

/** Pickles of several frames and str bodies beyond 64 KiB. */
function largeValues(): PyObject[] {
  return [
    pyList(Array.from({ length: 3000 }, (_, i) => `${"x".repeat(100)}${i}`)),
    "y".repeat(70_000),
    pyList([
      "a",
      "é".repeat(40_000),
      pyInterned("c"),
      "dd",
      "z".repeat(65_535),
      "w".repeat(65_536),
    ]),
    pyTuple([pyList(Array.from({ length: 700 }, () => "q".repeat(100))), "e".repeat(66_000), 1n]),
    pyDict([[pyInterned("k"), "€".repeat(30_000)]]),
    pyList(
      Array.from(
        { length: 3000 },
        (_, i) =>
          pyInstance(pyGlobal("calculator", i % 2 ? "Constant" : "UnaryExpr"), [
            ["value", BigInt(i)],
            ["name", `n${i}`],
            ["function", pyGlobal(i % 3 ? "math" : "builtins", i % 3 ? "sin" : "max")],
          ]),
      ),
    ),
    pyList(
      Array.from({ length: 2500 }, (_, i) =>
        pyReduce(
          pyBuiltinType("ValueError"),
          pyTuple([`e${i}`, BigInt(i)]),
          pyDict([[pyInterned("a"), 1n]]),
        )),
    ),
  ];
}

/** Pickles whose frame passes 64 KiB at every point of a repeated object. */
function frameBoundaryValues(): PyObject[] {
  // The frame passes 64 KiB at a different byte of the repeated item (about
  // 45 bytes) in each value, so every place where CPython may end a frame is met.
  const item = (i: number): PyObject =>
    pyInstance(pyGlobal("calculator", "Constant"), [
      [
        "value",
        pyReduce(
          pyBuiltinType("ValueError"),
          pyTuple([`e${i}`]),
          pyDict([[pyInterned("a"), 1n]]),
        ),
      ],
      ["name", pyInstance(pyGlobal("calculator", "UnaryExpr"), [])],
      ["function", pyGlobal("math", "sin")],
    ]);
  const items = Array.from({ length: 200 }, (_, i) => item(i));
  return Array.from(
    { length: 60 },
    (_, shift) => pyList(["p".repeat(60_000 + shift), ...items]),
  );
}

/** Shared and unshared str, globals and instances. */
function sharingValues(): PyObject[] {
  const shared = pyTuple([1n, 2n, 3n, 4n]);
  const instance = pyInstance(pyGlobal("calculator", "Constant"), [["value", 1n]]);
  return [
    pyTuple(["ab", "ab", pyInterned("ab"), pyInterned("ab"), "a", "a", "", ""]),
    pyList([shared, shared, pyTuple([]), pyTuple([]), instance, instance]),
    pyList([pyGlobal("math", "sin"), pyGlobal("math", "cos"), pyGlobal("math", "sin")]),
    pyInstance(pyGlobal("calculator", "Constant"), []),
    pyReduce(pyGlobal("builtins", "ValueError"), pyTuple(["x", 7n]), null),
    pyList(Array.from({ length: 300 }, (_, i) => pyInterned(`s${i % 280}`))),
  ];
}

Deno.test("pickleDumps() is byte-identical to CPython", async (t) => {
  const rng = new SeededRandom(SEED + 3);
  const randomValues = Array.from({ length: 300 }, () => randomValue(rng, 1 + rng.int(5)));
  const ints: PyObject[] = [pyList(INT_EDGES), ...INT_EDGES];
  const containers = batchBoundaryValues();
  const large = largeValues();
  const shifted = frameBoundaryValues();
  const sharing = sharingValues();
  // CPython pickles the values of all the steps in one run.
  const [randomHex, intHex, containerHex, largeHex, shiftedHex, sharingHex] =
    await runFixtureGroups("encode-value", [
      valueItems(randomValues),
      valueItems(ints),
      valueItems(containers),
      valueItems(large),
      valueItems(shifted),
      valueItems(sharing),
    ]);

  await t.step("for 300 random values", () => {
    randomValues.forEach((value, i) =>
      assertSameBytes(pickleDumps(value), randomHex[i] as string, `value ${i}`)
    );
  });

  await t.step("for every int encoding boundary", () => {
    ints.forEach((value, i) =>
      assertSameBytes(pickleDumps(value), intHex[i] as string, `int ${i}`)
    );
  });

  await t.step("for lists and dicts at every batch boundary", () => {
    containers.forEach((value, i) =>
      assertSameBytes(pickleDumps(value), containerHex[i] as string, `container ${i}`)
    );
  });

  await t.step("for pickles of several frames and str bodies beyond 64 KiB", () => {
    large.forEach((value, i) =>
      assertSameBytes(pickleDumps(value), largeHex[i] as string, `large ${i}`)
    );
  });

  await t.step("for a frame boundary at every point of an object", () => {
    shifted.forEach((value, i) =>
      assertSameBytes(pickleDumps(value), shiftedHex[i] as string, `shift ${i}`)
    );
  });

  await t.step("for shared and unshared str, globals and instances", () => {
    sharing.forEach((value, i) =>
      assertSameBytes(pickleDumps(value), sharingHex[i] as string, `shared ${i}`)
    );
  });

  await t.step("refuses nesting deeper than its bound, without a RangeError", () => {
    let deep: PyObject = 1n;
    for (let i = 0; i < 100_000; i++) deep = pyList([deep]);
    assert.throws(() => pickleDumps(deep), PickleError);
  });
});

Deno.test("encodeResult() and encodeException() are byte-identical to CPython", async (t) => {
  const cases = [
    { result: 6n, steps: ["max(2, 3) + 3", "3 + 3", "6"] },
    { result: 6n, steps: [] },
    { result: 3.0001220703125, steps: ["3 + 0.0001220703125", "3.0001220703125"] },
    { result: 2n ** 100n, steps: ["2 ** 100", "1267650600228229401496703205376"] },
    { result: -(2n ** 31n) - 1n, steps: ["x"] },
    { result: true, steps: ["é€ ok"] },
    { result: NaN, steps: [] },
    { result: -0, steps: Array.from({ length: 1200 }, (_, i) => `step ${i}`) },
    // CPython's singleton strs come back as BINGET.
    { result: 1n, steps: ["1", "", "1", "", "é", "é", "€", "€"] },
    { result: 0n, steps: Array.from({ length: 300 }, (_, i) => String.fromCharCode(i % 260)) },
    // ASCII up to the one-byte length, and past it; non-ASCII late in a str.
    { result: 1n, steps: ["a".repeat(255), "b".repeat(256), "c\u007f", "abcdefé", "x\ud800"] },
    // Around one frame's 64 KiB, and a str that bypasses the frame.
    { result: 2n ** 1000n, steps: ["x".repeat(65_000), "y".repeat(300)] },
    { result: 5n, steps: ["x".repeat(65_518)] },
    { result: 5n, steps: ["x".repeat(65_519)] },
    { result: 5n, steps: ["z".repeat(70_000), "6"] },
  ];
  // CPython pickles the responses of both steps in one run.
  const [resultHex, exceptionHex] = await runFixtureGroups("encode-response", [
    cases.map(({ result, steps }) => ({ result: numberJson(result), steps })),
    COURSE_EXCEPTIONS.map((error) => ({ exception: exceptionJson(error) })),
  ]);

  await t.step("for results with and without steps", () => {
    cases.forEach(({ result, steps }, i) =>
      assertSameBytes(encodeResult(result, steps), resultHex[i] as string, `result ${i}`)
    );
  });

  await t.step("after room for a header: zeros, then the same bytes, in one buffer", () => {
    // Every case twice, largest first, so that each reuses a buffer the one before filled.
    const order = [...cases.keys(), ...cases.keys()].sort((a, b) => b - a);
    for (const i of order) {
      const { result, steps } = cases[i] as (typeof cases)[number];
      const packet = encodeResult(result, steps, 12);
      assert.equal(toHex(packet.subarray(0, 12)), "00".repeat(12), `result ${i}`);
      assertSameBytes(packet.subarray(12), resultHex[i] as string, `result ${i} after room`);
      assert.equal(packet.byteOffset, 0, "a buffer of its own");
      assert.equal(packet.buffer.byteLength, packet.length, "a buffer of its own");
    }
    COURSE_EXCEPTIONS.forEach((error, i) => {
      const packet = encodeException(error, 12);
      assert.equal(toHex(packet.subarray(0, 12)), "00".repeat(12), error.repr());
      assertSameBytes(packet.subarray(12), exceptionHex[i] as string, error.repr());
    });
  });

  await t.step("for every exception the course sends, nested ones included", () => {
    COURSE_EXCEPTIONS.forEach((error, i) =>
      assertSameBytes(encodeException(error), exceptionHex[i] as string, error.repr())
    );
  });

  await t.step("for the proxy's error, as the course's proxy sends it", () => {
    const error = new PyException("CalculatorServerError", [
      "Internal proxy error",
      new PyException("CalculatorServerError", [
        "Connection refused by server and the request was not in the cache/it was stale",
      ]),
    ]);
    const bytes = encodeException(error);
    assert.equal(bytes.length, 158);
    // The class is written once; the inner exception refers back to it.
    assert.equal(toHex(bytes.subarray(65, 68)), "946802");
  });
});
