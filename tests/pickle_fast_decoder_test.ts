/**
 * The server's fast path (src/pickle/expr_fast_decoder.ts) against the
 * general path it stands in for (the unpickler, then the tree reader): over
 * CPython's pickles of random trees at every protocol, at and beyond every
 * limit, over mutated and hostile pickles, and over layouts CPython does not
 * write. Whenever the fast path reads a pickle, the general path must read
 * it to the same tree (objects shared alike) with the same work; whenever the
 * general path refuses one, the fast path must step aside, so that
 * `decodeExpr` refuses it with the general path's error.
 */

import assert from "node:assert/strict";
import type { Expr, RandomState } from "../src/calc/expr.ts";
import { decodeExprFast } from "../src/pickle/expr_fast_decoder.ts";
import { decodeExprGeneral } from "../src/pickle/expr_decoder.ts";
import {
  decodeExpr,
  type DecodeLimits,
  type DecodeStats,
  encodeExpr,
  newDecodeStats,
  pickleDumps,
  PickleError,
  pyGlobal,
  pyInstance,
  pyInterned,
  pyList,
  type PyObject,
  pyReduce,
  pyTuple,
  resolveDecodeLimits,
} from "../src/pickle/mod.ts";
import { RECORDED_EXAMPLES } from "./fixtures/course_examples.ts";
import { randomExpr, SeededRandom, treeJson } from "./helpers/pickle_fixture.ts";
import { type EnumPickling, runFixtureGroups } from "./helpers/python.ts";
import { fromHex, toHex } from "./helpers/bytes.ts";
import { mutated } from "./helpers/mutate.ts";
import * as hostile from "./helpers/hostile_pickles.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20250614);
const DEFAULTS = resolveDecodeLimits();

/** A tree or the error the general path throws. */
type Verdict = { readonly expr: Expr; readonly stats: DecodeStats } | {
  readonly error: PickleError;
};

function generalVerdict(data: Uint8Array, limits: DecodeLimits): Verdict {
  const stats = newDecodeStats();
  try {
    return { expr: decodeExprGeneral(data, limits, stats), stats };
  } catch (error: unknown) {
    if (!(error instanceof PickleError)) throw error;
    return { error };
  }
}

/**
 * Asserts that both paths agree on `data` under `limits`, and that
 * `decodeExpr` gives the general path's tree or error; returns whether the
 * fast path read it.
 */
function assertAgree(data: Uint8Array, limits: DecodeLimits, what: string): boolean {
  const general = generalVerdict(data, limits);
  const stats = newDecodeStats();
  const fast = decodeExprFast(data, limits, stats);
  if (fast === undefined) {
    assert.deepEqual(stats, newDecodeStats(), `${what}: stats untouched when stepping aside`);
  } else {
    if ("error" in general) {
      assert.fail(`${what}: the fast path read what the general path refuses: ${general.error}`);
    }
    assertSameExpr(fast, general.expr, what);
    assert.deepEqual(stats, general.stats, `${what}: the work counted`);
  }
  if (data.length > 0) {
    try {
      const expr = decodeExpr(data, limits);
      assert.ok("expr" in general, `${what}: decodeExpr read what the general path refuses`);
      assertSameExpr(expr, general.expr, what);
    } catch (error: unknown) {
      if (!("error" in general)) throw error;
      assert.ok(error instanceof PickleError);
      assert.equal(error.constructor, general.error.constructor, `${what}: the error class`);
      assert.equal(error.message, general.error.message, `${what}: the error`);
    }
  }
  return fast !== undefined;
}

/**
 * Asserts that two trees are the same, and share alike: a node (or random
 * state) met again in one is met again, as the same object, in the other.
 * Iterative, for trees as deep as the limits allow.
 */
function assertSameExpr(ours: Expr, theirs: Expr, what: string): void {
  const nodes = new Map<Expr, Expr>();
  const seen = new Set<Expr>();
  const states = new Map<RandomState, RandomState>();
  const pending: [Expr, Expr][] = [[ours, theirs]];
  while (pending.length > 0) {
    const [a, b] = pending.pop() as [Expr, Expr];
    const known = nodes.get(a);
    if (known !== undefined || seen.has(b)) {
      assert.equal(known, b, `${what}: sharing differs`);
      continue;
    }
    nodes.set(a, b);
    seen.add(b);
    assert.equal(a.kind, b.kind, `${what}: kind`);
    switch (a.kind) {
      case "constant":
      case "named":
        assert.ok(Object.is(a.value, (b as typeof a).value), `${what}: value ${a.value}`);
        assert.equal(typeof a.value, typeof (b as typeof a).value, `${what}: type of value`);
        if (a.kind === "named") assert.equal(a.name, (b as typeof a).name, `${what}: name`);
        break;
      case "binary": {
        const other = b as typeof a;
        assert.equal(a.operator, other.operator, `${what}: operator`);
        pending.push([a.left, other.left], [a.right, other.right]);
        break;
      }
      case "unary": {
        const other = b as typeof a;
        assert.equal(a.operator, other.operator, `${what}: operator`);
        pending.push([a.operand, other.operand]);
        break;
      }
      case "call": {
        const other = b as typeof a;
        assert.equal(a.name, other.name, `${what}: function`);
        assert.equal(a.args.length, other.args.length, `${what}: argument count`);
        a.args.forEach((arg, i) => pending.push([arg, other.args[i] as Expr]));
        assert.equal(a.random === undefined, other.random === undefined, `${what}: random`);
        if (a.random !== undefined && other.random !== undefined) {
          const state = states.get(a.random);
          if (state === undefined) {
            assert.ok(![...states.values()].includes(other.random), `${what}: states shared`);
            assert.deepEqual(a.random, other.random, `${what}: random state`);
            states.set(a.random, other.random);
          } else {
            assert.equal(state, other.random, `${what}: states shared alike`);
          }
        }
        break;
      }
    }
  }
}

/** CPython's pickles of `trees`, at every protocol, in both enum forms and both modules. */
async function cpythonPickles(trees: readonly Expr[]): Promise<Map<string, Uint8Array[]>> {
  const items = (options: { protocol: number; module?: string }): unknown[] =>
    trees.map((tree) => ({ ...treeJson(tree), ...options }));
  const groups = (): unknown[][] => [
    ...[2, 3, 4, 5].map((protocol) => items({ protocol })),
    items({ protocol: 4, module: "api" }),
  ];
  const forms: EnumPickling[] = ["value", "name"];
  const answers = await Promise.all(
    forms.map((form) => runFixtureGroups("encode-expr", groups(), form)),
  );
  const pickles = new Map<string, Uint8Array[]>();
  forms.forEach((form, f) => {
    const names = ["protocol 2", "protocol 3", "protocol 4", "protocol 5", "module api"];
    names.forEach((name, g) => {
      pickles.set(`${name}, enums by ${form}`, (answers[f]?.[g] ?? []).map(fromHex));
    });
  });
  return pickles;
}

const rng = new SeededRandom(SEED);
const TREES = Array.from({ length: 150 }, () => randomExpr(rng, 1 + rng.int(7)));
const PICKLES = await cpythonPickles(TREES);

Deno.test("decodeExprFast() reads CPython's pickles of random trees as the general path", async (t) => {
  console.log(`random trees from seed ${SEED}`);
  for (const [layout, pickles] of PICKLES) {
    await t.step(layout, () => {
      pickles.forEach((data, i) => {
        assert.ok(assertAgree(data, DEFAULTS, `tree ${i}`), `tree ${i} is read by the fast path`);
      });
    });
  }
  await t.step("the course's recorded examples", () => {
    for (const example of RECORDED_EXAMPLES) {
      const data = fromHex(example.dataHex);
      assert.ok(assertAgree(data, DEFAULTS, `example ${example.number}`));
      assertSameExpr(decodeExpr(data), example.expr, `example ${example.number}`);
    }
  });
  await t.step("encodeExpr()'s pickles, deep and wide", () => {
    let deep: Expr = { kind: "constant", value: 1n };
    for (let i = 1; i < DEFAULTS.maxDepth; i++) deep = { kind: "call", name: "sin", args: [deep] };
    const wide: Expr = {
      kind: "call",
      name: "max",
      args: Array.from({ length: 2500 }, (_, i) => ({ kind: "constant", value: BigInt(i) })),
    };
    for (const tree of [deep, wide]) assert.ok(assertAgree(encodeExpr(tree), DEFAULTS, tree.kind));
  });
});

/** Limits to try, each a default with one limit set to values around where trees cross it. */
const LIMIT_SWEEPS: readonly [keyof DecodeLimits, readonly number[]][] = [
  ["maxDepth", [1, 2, 3, 4, 5, 6, 7, 8]],
  ["maxNodes", [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144]],
  ["maxWorkPerByte", [1, 2, 3]],
  ["maxValues", [1, 3, 10, 30, 100, 300, 1000, 3000]],
  ["maxIntBytes", [1, 2, 3, 4, 5, 6, 7, 8, 9, 64, 255]],
];

Deno.test("decodeExprFast() reads within every limit and steps aside beyond it, as the general path", async (t) => {
  for (const [name, values] of LIMIT_SWEEPS) {
    await t.step(name, () => {
      let read = 0;
      let refused = 0;
      for (const value of values) {
        const limits = resolveDecodeLimits({ [name]: value });
        for (const [layout, pickles] of PICKLES) {
          pickles.forEach((data, i) => {
            const what = `tree ${i}, ${layout}, ${name} ${value}`;
            if (assertAgree(data, limits, what)) read++;
            else if ("error" in generalVerdict(data, limits)) refused++;
          });
        }
      }
      assert.ok(read > 0 && refused > 0, `${name}: ${read} read, ${refused} refused`);
    });
  }
});

Deno.test("decodeExprFast() reads mutated pickles as the general path, or steps aside", () => {
  const mutations = new SeededRandom(SEED + 1);
  const corpus = [...PICKLES.values()].flat();
  const deadline = performance.now() + 4000;
  let count = 0;
  let read = 0;
  while (performance.now() < deadline) {
    const data = mutated(mutations, mutations.pick(corpus), corpus);
    count++;
    try {
      if (assertAgree(data, DEFAULTS, "mutated")) read++;
    } catch (error: unknown) {
      throw new Error(`${toHex(data)} (FUZZ_SEED=${SEED}): ${error}`);
    }
  }
  console.log(`${count} mutated pickles, ${read} read by the fast path`);
  assert.ok(count > 1000 && read > 50, `${count} tried, ${read} read`);
});

Deno.test("decodeExprFast() steps aside from the hostile pickles, as cheap as the general path", () => {
  const shapes: [string, Uint8Array][] = [
    ["memo extremes", fromHex(hostile.MEMO_EXTREMES_HEX)],
    ["repeated BUILD", hostile.repeatedBuildPickle()],
    ["rebuild from memo", hostile.rebuildFromMemoPickle()],
    ["shared dict copies", hostile.sharedDictCopiesPickle()],
    ["big int keys", hostile.bigIntKeysPickle()],
    ["colliding keys", hostile.collidingKeysPickle()],
    ["random rebuild", hostile.randomRebuildPickle()],
    ["complex reduce", hostile.complexReducePickle()],
    ["deep marks", hostile.deepMarksPickle()],
    ["dense memo", hostile.denseMemoPickle()],
    ["big int args", hostile.bigIntArgsPickle()],
    ["exception DAG", hostile.exceptionDagPickle()],
  ];
  for (const [name, data] of shapes) {
    const started = performance.now();
    assert.equal(assertAgree(data, DEFAULTS, name), false, `${name} is no course pickle`);
    const took = performance.now() - started;
    assert.ok(took < 200, `${name} took ${took.toFixed(0)} ms`);
  }
});

// Layouts CPython does not write for the course's classes, but the general
// path reads (or refuses): the fast path leaves each to it.
const cls = (name: string) => pyGlobal("calculator", name);
const LEFT = pyReduce(cls("Associativity"), pyTuple([0n]));
const PLUS = pyInstance(cls("BinaryOperator"), [
  ["symbol", pyInterned("+")],
  ["function", pyGlobal("_operator", "add")],
  ["associativity", LEFT],
]);
const ONE = pyInstance(cls("Constant"), [["value", 1n]]);

Deno.test("decodeExprFast() leaves layouts CPython does not write to the general path", async (t) => {
  const cases: [string, PyObject, boolean][] = [
    ["an extra attribute", pyInstance(cls("Constant"), [["value", 1n], ["x", 2n]]), false],
    [
      "attributes in another order",
      pyInstance(cls("BinaryExpr"), [
        ["right_operand", ONE],
        ["operator", PLUS],
        ["left_operand", ONE],
      ]),
      true,
    ],
    ["a missing attribute", pyInstance(cls("BinaryExpr"), [["left_operand", ONE]]), false],
    [
      "args as a tuple",
      pyInstance(cls("FunctionCallExpr"), [
        [
          "function",
          pyInstance(cls("Function"), [["name", "sin"], ["function", pyGlobal("math", "sin")]]),
        ],
        ["args", pyTuple([ONE])],
      ]),
      false,
    ],
    ["a list of args shared by two calls", sharedArgs(), false],
    ["a Constant made by REDUCE", pyReduce(cls("Constant"), pyTuple([])), false],
    ["a bare number", 42n, false],
  ];
  for (const [name, value, fast] of cases) {
    await t.step(name, () => {
      const data = pickleDumps(value);
      assert.equal(assertAgree(data, DEFAULTS, name), fast);
    });
  }
  await t.step("objects built by a later BUILD, memo gaps, POP and DUP", () => {
    const data = encodeExpr({ kind: "constant", value: 7n });
    // 80 04 95 <frame> then the body; splice in opcodes the fast path does not take.
    const body = data.subarray(11, data.length - 1);
    const variants = [
      [...body, 0x32, 0x30, 0x2e], // DUP, POP
      [...body, 0x72, 0x00, 0x01, 0x00, 0x00, 0x2e], // LONG_BINPUT 256: a gap
      [...body, 0x4e, 0x30, 0x2e], // None, POP
      [...body, 0x7d, 0x62, 0x2e], // a second BUILD, with {}
      [0x80, 0x02, ...body, 0x2e], // no frame, protocol 2: still CPython's opcodes
    ];
    variants.forEach((bytes, i) => {
      const read = assertAgree(Uint8Array.from(bytes), DEFAULTS, `variant ${i}`);
      assert.equal(read, i === variants.length - 1, `variant ${i}`);
    });
  });
});

Deno.test("decodeExprFast() steps aside from course objects the general path refuses", async (t) => {
  const fn = (name: string, implementation: PyObject): PyObject =>
    pyInstance(cls("Function"), [["name", pyInterned(name)], ["function", implementation]]);
  const callOf = (implementation: PyObject): PyObject =>
    pyInstance(cls("FunctionCallExpr"), [["function", implementation], ["args", pyList([ONE])]]);
  const binaryWith = (operator: PyObject): PyObject =>
    pyInstance(cls("BinaryExpr"), [
      ["left_operand", ONE],
      ["operator", operator],
      ["right_operand", ONE],
    ]);
  const operator = (symbol: string, name: string, member: bigint): PyObject =>
    pyInstance(cls("BinaryOperator"), [
      ["symbol", pyInterned(symbol)],
      ["function", pyGlobal("_operator", name)],
      ["associativity", pyReduce(cls("Associativity"), pyTuple([member]))],
    ]);
  const stateless = pyReduce(pyGlobal("random", "Random"), pyTuple([]));
  const uniform = pyReduce(pyGlobal("builtins", "getattr"), pyTuple([stateless, "uniform"]));
  const cases: [string, PyObject][] = [
    ["rand whose random.Random has no state", callOf(fn("rand", uniform))],
    ["sin with math.cos", callOf(fn("sin", pyGlobal("math", "cos")))],
    ["an unknown function", callOf(fn("exp", pyGlobal("math", "sin")))],
    ["+ with _operator.sub", binaryWith(operator("+", "sub", 0n))],
    ["+ right-associative", binaryWith(operator("+", "add", 1n))],
    ["** left-associative", binaryWith(operator("**", "pow", 0n))],
    ["a Constant of a str", pyInstance(cls("Constant"), [["value", "1"]])],
    ["a NamedConstant X", pyInstance(cls("NamedConstant"), [["name", "X"], ["value", 1]])],
    [
      "a NamedConstant PI of an int",
      pyInstance(cls("NamedConstant"), [["name", "PI"], ["value", 3n]]),
    ],
    [
      "a unary *",
      pyInstance(cls("UnaryExpr"), [
        [
          "operator",
          pyInstance(cls("UnaryOperator"), [["symbol", "*"], [
            "function",
            pyGlobal("_operator", "neg"),
          ]]),
        ],
        ["operand", ONE],
      ]),
    ],
    ["an operator as the tree", PLUS],
  ];
  for (const [name, value] of cases) {
    await t.step(name, () => {
      const data = pickleDumps(value);
      assert.equal(assertAgree(data, DEFAULTS, name), false);
      assert.ok("error" in generalVerdict(data, DEFAULTS), `${name} is refused`);
    });
  }
});

function sharedArgs(): PyObject {
  const args = pyList([ONE]);
  const fn = pyInstance(cls("Function"), [["name", "sin"], ["function", pyGlobal("math", "sin")]]);
  const first = pyInstance(cls("FunctionCallExpr"), [["function", fn], ["args", args]]);
  const second = pyInstance(cls("FunctionCallExpr"), [["function", fn], ["args", args]]);
  return pyInstance(cls("BinaryExpr"), [
    ["left_operand", first],
    ["operator", PLUS],
    ["right_operand", second],
  ]);
}
