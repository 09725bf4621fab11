import assert from "node:assert/strict";
import { binary, call, constant, type Expr, named, unary } from "../src/calc/expr.ts";
import { PyException } from "../src/calc/py_exception.ts";
import {
  ComplexResultError,
  decodeExpr,
  decodeResponse,
  DEFAULT_DECODE_LIMITS,
  encodeException,
  encodeExpr,
  encodeResult,
  MAX_EXCEPTION_DEPTH,
  NotAnExpressionError,
  pickleDumps,
  PickleError,
  pyBuiltinType,
  pyGlobal,
  type PyInstance,
  pyInstance,
  pyInterned,
  pyList,
  type PyObject,
  pyReduce,
  pyTuple,
  resolveDecodeLimits,
} from "../src/pickle/mod.ts";
import { RECORDED_EXAMPLES, type RecordedExample } from "./fixtures/course_examples.ts";
import {
  COURSE_EXCEPTIONS,
  exceptionJson,
  expandTree,
  floatHex,
  numberJson,
  randomExpr,
  randomState,
  SeededRandom,
  treeJson,
} from "./helpers/pickle_fixture.ts";
import { runFixtureGroups } from "./helpers/python.ts";
import { concat, fromHex, latin1, toHex } from "./helpers/bytes.ts";

const SEED = 20240612;
const [EXAMPLE_1, EXAMPLE_2] = RECORDED_EXAMPLES as [RecordedExample, RecordedExample];

/** Bytes from latin-1 text and byte arrays. */
function bytes(...parts: (string | readonly number[] | Uint8Array)[]): Uint8Array {
  const chunks = parts.map((part) =>
    typeof part === "string" ? latin1(part) : Uint8Array.from(part)
  );
  return concat(chunks);
}

/** SHORT_BINUNICODE of ASCII `text`. */
function shortStr(text: string): Uint8Array {
  return bytes([0x8c, text.length], text);
}

/** Asserts that decoding throws exactly a PickleError (a subclass only if `cls` says so). */
function assertPickleError(
  decode: () => unknown,
  cls: typeof PickleError = PickleError,
  message?: RegExp,
): void {
  assert.throws(decode, (error: unknown) => {
    assert.ok(error instanceof cls, `expected ${cls.name}, got ${String(error)}`);
    if (cls === PickleError) assert.ok(!(error instanceof NotAnExpressionError), String(error));
    if (message !== undefined) assert.match((error as Error).message, message);
    assert.ok(!(error as Error).message.includes("\n"), "one-line message");
    return true;
  });
}

function assertSameTree(decoded: Expr, expected: Expr, what: string): void {
  const ours = treeJson(decoded);
  const theirs = treeJson(expected);
  assert.deepEqual(expandTree(ours.tree), expandTree(theirs.tree), what);
  assert.deepEqual(ours.states, theirs.states, `states of ${what}`);
}

// The course's classes, for building malformed trees with the generic pickler.
const cls = (name: string) => pyGlobal("calculator", name);
const LEFT = pyReduce(cls("Associativity"), pyTuple([0n]));
const RIGHT = pyReduce(cls("Associativity"), pyTuple([1n]));
const CONSTANT_ONE = pyInstance(cls("Constant"), [["value", 1n]]);
/** An `Associativity` member as CPython 3.11.0–3.11.4 pickle it: `getattr(Associativity, name)`. */
const byName = (name: string) =>
  pyReduce(pyGlobal("builtins", "getattr"), pyTuple([cls("Associativity"), pyInterned(name)]));

function binaryOperator(symbol: string, fn: string, associativity: PyObject): PyInstance {
  return pyInstance(cls("BinaryOperator"), [
    ["symbol", pyInterned(symbol)],
    ["function", pyGlobal("_operator", fn)],
    ["associativity", associativity],
  ]);
}

function binaryExpr(operator: PyObject): PyInstance {
  return pyInstance(cls("BinaryExpr"), [
    ["left_operand", CONSTANT_ONE],
    ["operator", operator],
    ["right_operand", CONSTANT_ONE],
  ]);
}

function functionCall(fn: PyObject, args: PyObject = pyList([CONSTANT_ONE])): PyInstance {
  return pyInstance(cls("FunctionCallExpr"), [["function", fn], ["args", args]]);
}

function courseFunction(name: string, implementation: PyObject): PyInstance {
  return pyInstance(cls("Function"), [["name", pyInterned(name)], ["function", implementation]]);
}

/** `Random()` with `state` (the pickle of a `random.Random`). */
function randomObject(state: PyObject): PyObject {
  return pyReduce(pyGlobal("random", "Random"), pyTuple([]), state);
}

function randomStateTuple(words: number, index: bigint, version = 3n): PyObject {
  const internal: PyObject[] = Array.from({ length: words }, (_, i) => BigInt(i));
  internal.push(index);
  return pyTuple([version, pyTuple(internal), null]);
}

/** The pickle of `sin(sin(…(1)…))`, `depth` levels, written opening by opening. */
function nestedCallsPickle(depth: number): Uint8Array {
  const head = bytes(
    [0x80, 0x04],
    shortStr("calculator"),
    [0x94],
    shortStr("FunctionCallExpr"),
    [0x94, 0x93, 0x94], // memo 0, 1, class 2
    shortStr("Function"),
    [0x94, 0x68, 0, 0x68, 3, 0x93, 0x94], // memo 3, class 4
    [0x68, 4, 0x29, 0x81, 0x94, 0x7d, 0x94, 0x28], // Function object 5, its dict 6
    shortStr("name"),
    [0x94],
    shortStr("sin"),
    [0x94],
    shortStr("function"),
    [0x94], // 9
    shortStr("math"),
    [0x94],
    shortStr("sin"),
    [0x94, 0x93, 0x94, 0x75, 0x62, 0x30], // math.sin, SETITEMS, BUILD, POP
    shortStr("args"),
    [0x94], // 13
    shortStr("Constant"),
    [0x94, 0x30], // 14
  );
  const open = [0x68, 2, 0x29, 0x81, 0x7d, 0x28, 0x68, 9, 0x68, 5, 0x68, 13, 0x5d];
  const inner = bytes([0x68, 0, 0x68, 14, 0x93, 0x29, 0x81, 0x7d], shortStr("value"), [
    0x4b,
    1,
    0x73,
    0x62,
  ]);
  const close = [0x61, 0x75, 0x62];
  const out = new Uint8Array(
    head.length + (depth - 1) * (open.length + close.length) + inner.length + 1,
  );
  out.set(head);
  let at = head.length;
  for (let i = 1; i < depth; i++, at += open.length) out.set(open, at);
  out.set(inner, at);
  at += inner.length;
  for (let i = 1; i < depth; i++, at += close.length) out.set(close, at);
  out[at] = 0x2e;
  return out;
}

Deno.test("decodeExpr() reads the course's six examples", () => {
  for (const example of RECORDED_EXAMPLES) {
    assert.deepEqual(
      decodeExpr(fromHex(example.dataHex)),
      example.expr,
      `example ${example.number}`,
    );
  }
});

Deno.test("decodeExpr() reads CPython's pickles of random trees", async (t) => {
  console.log(`random trees from seed ${SEED}`);
  const rng = new SeededRandom(SEED);
  const trees = Array.from({ length: 120 }, () => randomExpr(rng, 1 + rng.int(6)));
  const items = (options: { protocol?: number; module?: string }): unknown[] =>
    trees.map((tree) => ({ ...treeJson(tree), ...options }));
  // CPython pickles the trees of all the steps at once: one run per enum pickling.
  const [[hex2, hex3, hex4, hex5, hexApi, hexCopyreg], [byName2, byName4]] = await Promise.all([
    runFixtureGroups("encode-expr", [
      items({ protocol: 2 }),
      items({ protocol: 3 }),
      items({ protocol: 4 }),
      items({ protocol: 5 }),
      items({ module: "api" }),
      [0, 1].map((protocol) => ({ ...treeJson(EXAMPLE_2.expr), protocol })),
    ]),
    runFixtureGroups("encode-expr", [items({ protocol: 2 }), items({ protocol: 4 })], "name"),
  ]);

  for (const [protocol, answer] of new Map([[2, hex2], [3, hex3], [4, hex4], [5, hex5]])) {
    await t.step(`at protocol ${protocol}`, () => {
      trees.forEach((tree, i) => {
        assertSameTree(decodeExpr(fromHex(answer[i] as string)), tree, `tree ${i}`);
      });
    });
  }

  await t.step(
    "with enum members pickled by name, as CPython 3.11.0-3.11.4 write them",
    () => {
      for (const [protocol, answer] of new Map([[2, byName2], [4, byName4]])) {
        let byName = 0;
        trees.forEach((tree, i) => {
          const hex = answer[i] as string;
          // 'getattr' and 'LEFT' or 'RIGHT' in the stream
          if (hex.includes("67657461747472") && /4c454654|5249474854/.test(hex)) byName++;
          assertSameTree(decodeExpr(fromHex(hex)), tree, `tree ${i} at protocol ${protocol}`);
        });
        const withOperators = trees.filter((tree) =>
          JSON.stringify(treeJson(tree)).includes('"bin"')
        );
        assert.equal(
          byName,
          withOperators.length,
          "every tree with a binary operator names its member",
        );
      }
    },
  );

  await t.step("with the classes named in module api", () => {
    trees.forEach((tree, i) => {
      const hex = hexApi[i] as string;
      assert.ok(hex.includes("8c03617069"), "names module api");
      assertSameTree(decodeExpr(fromHex(hex)), tree, `tree ${i}`);
    });
  });

  await t.step("but not protocols 0 and 1, which rebuild objects with copyreg", () => {
    for (const hex of hexCopyreg) {
      assertPickleError(() => decodeExpr(fromHex(hex)), PickleError, /copy_?reg/);
    }
  });
});

Deno.test("decodeExpr() reverses encodeExpr()", async (t) => {
  await t.step("for 300 random trees", () => {
    const rng = new SeededRandom(SEED + 1);
    for (let i = 0; i < 300; i++) {
      const tree = randomExpr(rng, 1 + rng.int(7));
      assert.deepEqual(decodeExpr(encodeExpr(tree)), tree, `tree ${i}`);
    }
  });

  await t.step("keeping a shared sub-tree one object", () => {
    const shared = binary(constant(6n), "*", constant(7n));
    const decoded = decodeExpr(encodeExpr(binary(shared, "-", unary("-", shared))));
    assert.ok(decoded.kind === "binary" && decoded.right.kind === "unary");
    assert.equal(decoded.left, decoded.right.operand);
  });

  await t.step("keeping one random state for every rand call", () => {
    const state = randomState(new SeededRandom(SEED + 2));
    const decoded = decodeExpr(
      encodeExpr(call("max", [call("rand", [], state), call("rand", [constant(1n)], state)])),
    );
    assert.ok(decoded.kind === "call");
    const [first, second] = decoded.args;
    assert.ok(first?.kind === "call" && second?.kind === "call");
    assert.ok(first.random !== undefined);
    assert.equal(first.random, second.random);
    assert.deepEqual(first.random, state);
  });

  await t.step("keeping a named constant's transmitted value", () => {
    const odd: Expr = { kind: "named", name: "TAU", value: 6 };
    assert.deepEqual(
      decodeExpr(encodeExpr(binary(odd, "+", named("TAU")))),
      binary(odd, "+", named("TAU")),
    );
  });

  await t.step("at exactly the depth limit, and not beyond", () => {
    let deep: Expr = constant(1n);
    for (let i = 1; i < DEFAULT_DECODE_LIMITS.maxDepth; i++) deep = call("sin", [deep]);
    const data = encodeExpr(deep);
    // Compared by re-encoding: assert.deepEqual recurses too deep for this tree.
    assert.deepEqual(encodeExpr(decodeExpr(data)), data);
    assertPickleError(
      () => decodeExpr(data, { maxDepth: DEFAULT_DECODE_LIMITS.maxDepth - 1 }),
      PickleError,
      /deeper/,
    );
  });
});

Deno.test("decodeExpr() tells data that is not an expression", async (t) => {
  await t.step("empty data", () => {
    assertPickleError(() => decodeExpr(new Uint8Array()), NotAnExpressionError);
  });

  await t.step("a pickle of 42, of a list, of a Function", () => {
    for (
      const value of [42n, pyList([CONSTANT_ONE]), courseFunction("sin", pyGlobal("math", "sin"))]
    ) {
      assertPickleError(() => decodeExpr(pickleDumps(value)), NotAnExpressionError);
    }
    assertPickleError(() => decodeExpr(latin1("\x80\x04K*.")), NotAnExpressionError, /int/);
  });

  await t.step("an operator whose symbol does not match its function", () => {
    assertPickleError(
      () => decodeExpr(pickleDumps(binaryExpr(binaryOperator("+", "sub", LEFT)))),
      NotAnExpressionError,
      /_operator.add/,
    );
  });

  await t.step("an Associativity member named, not numbered, means the same member", () => {
    const onePlusOne = binary(constant(1n), "+", constant(1n));
    assert.deepEqual(
      decodeExpr(pickleDumps(binaryExpr(binaryOperator("+", "add", byName("LEFT"))))),
      onePlusOne,
    );
    assertPickleError(
      () => decodeExpr(pickleDumps(binaryExpr(binaryOperator("+", "add", byName("RIGHT"))))),
      NotAnExpressionError,
    );
    assertPickleError(
      () => decodeExpr(pickleDumps(binaryExpr(binaryOperator("**", "pow", byName("LEFT"))))),
      NotAnExpressionError,
    );
  });

  await t.step("** that is left-associative, + that is right-associative", () => {
    assertPickleError(
      () => decodeExpr(pickleDumps(binaryExpr(binaryOperator("**", "pow", LEFT)))),
      NotAnExpressionError,
    );
    assertPickleError(
      () => decodeExpr(pickleDumps(binaryExpr(binaryOperator("+", "add", RIGHT)))),
      NotAnExpressionError,
    );
  });

  await t.step("a function whose name does not match its global", () => {
    assertPickleError(
      () => decodeExpr(pickleDumps(functionCall(courseFunction("sin", pyGlobal("math", "cos"))))),
      NotAnExpressionError,
    );
    assertPickleError(
      () =>
        decodeExpr(pickleDumps(functionCall(courseFunction("rand", pyGlobal("builtins", "max"))))),
      NotAnExpressionError,
    );
  });

  await t.step("bad attributes", () => {
    const cases: PyObject[] = [
      pyInstance(cls("Constant"), [["value", "1"]]),
      pyInstance(cls("Constant"), []),
      pyInstance(cls("NamedConstant"), [["name", pyInterned("X")], ["value", 1.0]]),
      pyInstance(cls("NamedConstant"), [["name", pyInterned("PI")], ["value", 3n]]),
      pyInstance(cls("BinaryExpr"), [["left_operand", CONSTANT_ONE], [
        "operator",
        binaryOperator("+", "add", LEFT),
      ]]),
      binaryExpr(CONSTANT_ONE),
      pyInstance(cls("UnaryExpr"), [["operator", binaryOperator("-", "sub", LEFT)], [
        "operand",
        CONSTANT_ONE,
      ]]),
      functionCall(courseFunction("sin", pyGlobal("math", "sin")), CONSTANT_ONE),
      functionCall(courseFunction("sin", pyGlobal("math", "sin")), pyList([42n])),
      functionCall(courseFunction("tanh", pyGlobal("math", "sin"))),
    ];
    for (const value of cases) {
      assertPickleError(() => decodeExpr(pickleDumps(value)), NotAnExpressionError);
    }
  });

  await t.step("but accepts args as a tuple and extra attributes, as Python does", () => {
    const tree = pyInstance(cls("FunctionCallExpr"), [
      ["function", courseFunction("max", pyGlobal("builtins", "max"))],
      ["args", pyTuple([CONSTANT_ONE, CONSTANT_ONE])],
      ["note", "ignored"],
    ]);
    assert.deepEqual(decodeExpr(pickleDumps(tree)), call("max", [constant(1n), constant(1n)]));
  });
});

Deno.test("decodeExpr() rejects a global outside the whitelist", async (t) => {
  await t.step("os.system by GLOBAL", () => {
    assertPickleError(
      () => decodeExpr(latin1("cos\nsystem\n(S'echo pwned'\ntR.")),
      PickleError,
      /os\.system/,
    );
    assertPickleError(
      () => decodeExpr(latin1("\x80\x02cos\nsystem\nX\x04\x00\x00\x00echo\x85R.")),
      PickleError,
      /os\.system/,
    );
  });

  await t.step("os.system by STACK_GLOBAL", () => {
    const data = pickleDumps(pyReduce(pyGlobal("os", "system"), pyTuple(["echo pwned"])));
    assertPickleError(() => decodeExpr(data), PickleError, /os\.system/);
  });

  await t.step("builtins.eval, exec, __import__ and subprocess", () => {
    for (
      const [module, name] of [
        ["builtins", "eval"],
        ["builtins", "exec"],
        ["builtins", "__import__"],
        [
          "subprocess",
          "Popen",
        ],
        ["calculator", "Expression"],
        ["math", "pi"],
        ["operator", "add"],
      ]
    ) {
      const data = pickleDumps(
        pyReduce(pyGlobal(module as string, name as string), pyTuple(["1 + 1"])),
      );
      assertPickleError(() => decodeExpr(data), PickleError, /not allowed/);
    }
  });

  await t.step("Python 2 names in a protocol 3+ stream", () => {
    assertPickleError(
      () => decodeExpr(latin1("\x80\x03c__builtin__\nmax\n.")),
      PickleError,
      /not allowed/,
    );
    assertPickleError(
      () => decodeExpr(latin1("\x80\x02cexceptions\nmax\n.")),
      PickleError,
      /not allowed/,
    );
  });

  await t.step("whitelisted globals used for anything else", () => {
    const cases: PyObject[] = [
      pyReduce(pyGlobal("math", "sin"), pyTuple([1.0])),
      pyReduce(pyGlobal("builtins", "getattr"), pyTuple([randomObject(null), pyInterned("seed")])),
      pyReduce(
        pyGlobal("builtins", "getattr"),
        pyTuple([pyGlobal("math", "sin"), pyInterned("uniform")]),
      ),
      byName("UP"),
      pyReduce(pyGlobal("builtins", "getattr"), pyTuple([cls("Constant"), pyInterned("LEFT")])),
      pyReduce(pyGlobal("random", "Random"), pyTuple([42n])),
      pyReduce(cls("Constant"), pyTuple([1n])),
      pyReduce(cls("Associativity"), pyTuple([2n])),
      pyInstance(cls("Associativity"), []),
      pyInstance(pyGlobal("random", "Random"), []),
    ];
    for (const value of cases) assertPickleError(() => decodeExpr(pickleDumps(value)), PickleError);
  });
});

Deno.test("decodeExpr() fails cleanly on broken pickles", async (t) => {
  await t.step("truncated at every byte of every example", () => {
    for (const example of RECORDED_EXAMPLES) {
      const data = fromHex(example.dataHex);
      for (let length = 0; length < data.length; length++) {
        assert.throws(() => decodeExpr(data.subarray(0, length)), PickleError);
      }
    }
  });

  await t.step("a memo reference to nothing", () => {
    assertPickleError(() => decodeExpr(latin1("\x80\x04h\x05.")), PickleError, /memo/);
    assertPickleError(() => decodeExpr(latin1("\x80\x04j\x00\x00\x00\x01.")), PickleError, /memo/);
    assertPickleError(() => decodeExpr(latin1("(g7\n.")), PickleError, /memo/);
  });

  await t.step("stack underflow and a missing MARK", () => {
    for (
      const data of [
        "\x80\x04.",
        "\x80\x04a.",
        "\x80\x04N(a.",
        "\x80\x04t.",
        "\x80\x04N\x86.",
        "\x80\x04Nb.",
        "\x80\x04)R.",
      ]
    ) {
      assertPickleError(() => decodeExpr(latin1(data)));
    }
  });

  await t.step("opcodes calcnet does not read", () => {
    const opcodes = [
      "P1\n",
      "Q",
      "i__main__\nX\n",
      "o",
      "\x82\x01",
      "\x83\x01\x00",
      "\x84\x01\x00\x00\x00",
      "B\x00\x00\x00\x00",
      "C\x00",
      "\x8e" + "\x00".repeat(8),
      "\x8f",
      "\x91",
      "\x96" + "\x00".repeat(8),
      "\x97",
      "\x98",
      "S'x'\n",
      "\xff",
      "\x00",
    ];
    for (const opcode of opcodes) {
      assertPickleError(
        () => decodeExpr(latin1(`\x80\x04N${opcode}.`)),
        PickleError,
        /unsupported opcode/,
      );
    }
  });

  await t.step("an unknown protocol", () => {
    assertPickleError(() => decodeExpr(latin1("\x80\x06N.")), PickleError, /protocol/);
  });

  await t.step("huge lengths, without allocating them", () => {
    const cases = [
      "\x80\x04\x8b\xff\xff\xff\x7f.",
      "\x80\x04\x8b\xff\xff\xff\xff.",
      "\x80\x04X\xff\xff\xff\xff.",
      "\x80\x04\x8d\x00\x00\x00\x00\x00\x01\x00\x00.",
      "\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\x7fN.",
      "\x80\x04\x8c\x05ab.",
    ];
    for (const data of cases) assertPickleError(() => decodeExpr(latin1(data)));
  });

  await t.step("ints over the size limit", () => {
    const long1 = bytes([0x80, 0x04, 0x8a, 200], new Uint8Array(200), [0x2e]);
    assertPickleError(() => decodeExpr(long1, { maxIntBytes: 100 }), PickleError, /int/);
    assertPickleError(() => decodeExpr(latin1(`L${"9".repeat(20_000)}L\n.`)), PickleError, /int/);
    assertPickleError(() => decodeExpr(latin1(`I${"9".repeat(20_000)}\n.`)), PickleError, /int/);
  });

  await t.step("limits that are not positive integers (a caller's mistake)", () => {
    for (
      const limits of [{ maxDepth: NaN }, { maxNodes: 0 }, { maxValues: -1 }, { maxIntBytes: 1.5 }]
    ) {
      assert.throws(() => decodeExpr(fromHex(EXAMPLE_1.dataHex), limits), RangeError);
    }
  });

  await t.step("more values than allowed", () => {
    assertPickleError(
      () => decodeExpr(fromHex(EXAMPLE_1.dataHex), { maxValues: 50 }),
      PickleError,
      /values/,
    );
  });

  await t.step("a str that is not UTF-8", () => {
    assertPickleError(() => decodeExpr(latin1("\x80\x04\x8c\x02\xc3\x28.")), PickleError, /UTF-8/);
    assertPickleError(
      () => decodeExpr(latin1("\x80\x04\x8c\x03\xf4\x90\x80.")),
      PickleError,
      /UTF-8/,
    );
  });

  await t.step("a rand whose Random has a bad state, or none", () => {
    const rand = (random: PyObject) =>
      functionCall(
        courseFunction(
          "rand",
          pyReduce(pyGlobal("builtins", "getattr"), pyTuple([random, pyInterned("uniform")])),
        ),
      );
    for (
      const state of [
        randomStateTuple(623, 0n),
        randomStateTuple(624, 625n),
        randomStateTuple(624, -1n),
        randomStateTuple(624, 0n, 2n),
        pyTuple([]),
      ]
    ) {
      assertPickleError(
        () => decodeExpr(pickleDumps(rand(randomObject(state)))),
        PickleError,
        /random state/,
      );
    }
    assertPickleError(
      () => decodeExpr(pickleDumps(rand(randomObject(null)))),
      PickleError,
      /without a state/,
    );
    assert.ok(
      decodeExpr(pickleDumps(rand(randomObject(randomStateTuple(624, 624n))))).kind === "call",
    );
  });
});

Deno.test("decodeExpr() refuses hostile structures quickly", async (t) => {
  const budgetMs = 2000;

  await t.step("100,000 nested lists", () => {
    const start = performance.now();
    const data = latin1(`\x80\x04${"]".repeat(100_000)}${"a".repeat(99_999)}.`);
    assertPickleError(() => decodeExpr(data), PickleError, /nested deeper/);
    assert.ok(performance.now() - start < budgetMs);
  });

  await t.step("100,000 nested tuples and dicts", () => {
    const start = performance.now();
    assertPickleError(
      () => decodeExpr(latin1(`\x80\x04${"(".repeat(100_000)}${"t".repeat(100_000)}.`)),
      PickleError,
      /nested deeper/,
    );
    assertPickleError(
      () => decodeExpr(latin1(`\x80\x04}${"K\x01}".repeat(99_999)}${"s".repeat(99_999)}.`)),
      PickleError,
      /nested deeper/,
    );
    assert.ok(performance.now() - start < budgetMs);
  });

  await t.step("120,000 nested function calls, with any depth limit", () => {
    const start = performance.now();
    const data = nestedCallsPickle(120_000);
    const deep = { maxDepth: 1_000_000 };
    assertPickleError(() => decodeExpr(data), PickleError, /nested deeper/);
    assertPickleError(() => decodeExpr(data, deep), PickleError, /nodes/);
    assertPickleError(
      () => decodeExpr(data, { ...deep, maxValues: 500_000 }),
      PickleError,
      /values/,
    );
    const ok = decodeExpr(data, { ...deep, maxNodes: 1_000_000 });
    assert.equal(ok.kind, "call");
    assert.ok(performance.now() - start < 3 * budgetMs);
  });

  await t.step("an expression that contains itself", () => {
    // The pickler memoizes the object before its attributes, so its left
    // operand is a reference back to it.
    const attributes: [string, PyObject][] = [];
    const self = pyInstance(cls("BinaryExpr"), attributes);
    attributes.push(
      ["left_operand", self],
      ["operator", binaryOperator("+", "add", LEFT)],
      ["right_operand", CONSTANT_ONE],
    );
    assertPickleError(() => decodeExpr(pickleDumps(self)), PickleError, /contains itself/);
  });

  await t.step("a tree of 2^60 nodes sharing sub-trees", () => {
    let tree: Expr = constant(1n);
    for (let i = 0; i < 60; i++) tree = binary(tree, "+", tree);
    const data = encodeExpr(tree);
    assert.ok(data.length < 2000);
    const start = performance.now();
    assertPickleError(() => decodeExpr(data), PickleError, /nodes/);
    assert.ok(performance.now() - start < budgetMs);
  });

  await t.step("random garbage and mutated examples (fuzz)", () => {
    const rng = new SeededRandom(SEED + 3);
    const examples = RECORDED_EXAMPLES.map((example) => fromHex(example.dataHex));
    const start = performance.now();
    let runs = 0;
    let decoded = 0;
    while (performance.now() - start < budgetMs) {
      let data: Uint8Array;
      if (rng.chance(0.5)) {
        data = Uint8Array.from({ length: 2 + rng.int(64) }, () => rng.int(256));
        if (rng.chance(0.5)) data.set([0x80, 2 + rng.int(4)]);
      } else {
        data = (rng.pick(examples)).slice();
        for (let flips = 1 + rng.int(4); flips > 0; flips--) {
          data[rng.int(data.length)] = rng.int(256);
        }
      }
      try {
        decodeExpr(data);
        decoded++;
      } catch (error: unknown) {
        if (!(error instanceof PickleError)) {
          throw new Error(
            `fuzz input ${toHex(data)}: ${error}`,
          );
        }
      }
      runs++;
    }
    console.log(
      `fuzz: ${runs} inputs (seed ${SEED + 3}), ${decoded} decoded, the rest PickleError`,
    );
    assert.ok(runs > 1000);
  });
});

Deno.test("decodeResponse() reads what the course's server and proxy send", async (t) => {
  const results = [
    { result: 6n, steps: ["max(2, 3) + 3", "3 + 3", "6"] },
    { result: 6n, steps: [] },
    {
      result: -0.38748277824137206,
      steps: ["(sin(37.333333333333336) / 12) * 13", "-0.38748277824137206"],
    },
    { result: 2n ** 100n, steps: [] },
    { result: -(2n ** 31n) - 1n, steps: [] },
    { result: -5n, steps: [] },
    { result: true, steps: ["é€😀 \ud800 \\u0041 \n"] },
    { result: NaN, steps: [] },
    { result: -0, steps: [] },
    { result: Infinity, steps: [] },
  ];

  const protocols = [0, 1, 2, 3, 4, 5];
  const responses = (protocol: number): unknown[] => [
    ...results.map(({ result, steps }) => ({ result: numberJson(result), steps, protocol })),
    ...COURSE_EXCEPTIONS.map((error) => ({ exception: exceptionJson(error), protocol })),
  ];
  // CPython pickles the responses of all the steps in one run.
  const [complex, ...atProtocol] = await runFixtureGroups("encode-response", [
    [{ complex: [floatHex(1.0000000000000002), floatHex(1.7320508075688772)] }],
    ...protocols.map(responses),
  ]);

  for (const [p, protocol] of protocols.entries()) {
    await t.step(`pickled by CPython at protocol ${protocol}`, () => {
      const answer = atProtocol[p] as string[];
      results.forEach(({ result, steps }, i) => {
        assert.deepEqual(decodeResponse(fromHex(answer[i] as string)), {
          kind: "result",
          result,
          steps,
        });
      });
      COURSE_EXCEPTIONS.forEach((error, i) => {
        const decoded = decodeResponse(fromHex(answer[results.length + i] as string));
        assert.ok(decoded.kind === "error");
        assert.equal(decoded.error.repr(), error.repr());
        assert.deepEqual(decoded.error.args, error.args);
      });
    });
  }

  await t.step("as encodeResult() and encodeException() write them", () => {
    for (const { result, steps } of results) {
      assert.deepEqual(decodeResponse(encodeResult(result, steps)), {
        kind: "result",
        result,
        steps,
      });
    }
    for (const error of COURSE_EXCEPTIONS) {
      const decoded = decodeResponse(encodeException(error));
      assert.ok(decoded.kind === "error");
      assert.equal(decoded.error.type, error.type);
      assert.equal(decoded.error.str(), error.str());
    }
  });

  await t.step("and refuses a complex result clearly", () => {
    assert.throws(
      () => decodeResponse(fromHex(complex[0] as string)),
      (error: unknown) =>
        error instanceof ComplexResultError && error.real === 1.0000000000000002 &&
        error.imag === 1.7320508075688772 && /complex/.test(error.message),
    );
  });
});

Deno.test("decodeResponse() rejects anything else", async (t) => {
  await t.step("an expression, a bare number, a 3-tuple", () => {
    for (
      const data of [
        fromHex(EXAMPLE_2.dataHex),
        pickleDumps(6n),
        pickleDumps(pyTuple([6n, pyList([]), null])),
      ]
    ) {
      assertPickleError(() => decodeResponse(data), PickleError, /neither/);
    }
  });

  await t.step("a result or steps of the wrong type", () => {
    assertPickleError(
      () => decodeResponse(pickleDumps(pyTuple(["6", pyList([])]))),
      PickleError,
      /result/,
    );
    assertPickleError(
      () => decodeResponse(pickleDumps(pyTuple([6n, pyList([6n])]))),
      PickleError,
      /step/,
    );
    assertPickleError(() => decodeResponse(pickleDumps(pyTuple([6n, null]))), PickleError, /steps/);
  });

  await t.step("an exception outside the whitelist or with odd args", () => {
    assertPickleError(
      () => decodeResponse(pickleDumps(pyReduce(pyBuiltinType("KeyError"), pyTuple(["x"])))),
      PickleError,
      /not allowed/,
    );
    assertPickleError(
      () => decodeResponse(pickleDumps(pyReduce(pyBuiltinType("ValueError"), pyTuple([1.5])))),
      PickleError,
      /float/,
    );
    assertPickleError(
      () =>
        decodeResponse(
          pickleDumps(pyReduce(pyGlobal("builtins", "CalculatorClientError"), pyTuple([]))),
        ),
      PickleError,
      /not allowed/,
    );
  });

  await t.step("100,000 nested exceptions, without a RangeError", () => {
    const depth = 100_000;
    const data = bytes(
      "\x80\x04cbuiltins\nValueError\n\x94",
      "h\x00".repeat(depth),
      "h\x00)R",
      "\x85R".repeat(depth),
      ".",
    );
    assertPickleError(() => decodeResponse(data), PickleError, /nested deeper/);
    assertPickleError(
      () => decodeResponse(data, { maxDepth: 10 * depth }),
      PickleError,
      /exceptions nested deeper than 100/,
    );
    const shallow = bytes(
      "\x80\x04cbuiltins\nValueError\n\x94",
      "h\x00".repeat(MAX_EXCEPTION_DEPTH),
      "h\x00)R",
      "\x85R".repeat(MAX_EXCEPTION_DEPTH - 1),
      ".",
    );
    const ok = decodeResponse(shallow);
    assert.ok(ok.kind === "error" && ok.error.args[0] instanceof PyException);
  });
});

Deno.test("resolveDecodeLimits() fills in defaults, rejects a bad limit and checks frozen limits once", () => {
  assert.equal(resolveDecodeLimits(), DEFAULT_DECODE_LIMITS);
  const resolved = resolveDecodeLimits({ maxDepth: 5 });
  assert.deepEqual(resolved, { ...DEFAULT_DECODE_LIMITS, maxDepth: 5 });
  assert.ok(Object.isFrozen(resolved));
  assert.equal(resolveDecodeLimits(resolved), resolved, "the resolved limits are remembered");
  const frozen = Object.freeze({ maxNodes: 7 });
  assert.equal(resolveDecodeLimits(frozen), resolveDecodeLimits(frozen));
  const mutable: { maxDepth: number } = { maxDepth: 5 };
  resolveDecodeLimits(mutable);
  mutable.maxDepth = 6;
  assert.equal(resolveDecodeLimits(mutable).maxDepth, 6, "a mutable object is read each time");
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => resolveDecodeLimits({ maxDepth: bad }), RangeError);
  }
  // The server's limits reach the decoder: a 3-deep tree is too deep for maxDepth 2.
  const deep = encodeExpr(unary("-", unary("-", unary("-", constant(1n)))));
  assert.throws(() => decodeExpr(deep, resolveDecodeLimits({ maxDepth: 2 })), PickleError);
  assert.equal(decodeExpr(deep, resolveDecodeLimits({ maxDepth: 4 })).kind, "unary");
});
