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
import { DEFAULT_EVAL_LIMITS, evaluate, resolveEvalLimits } from "../src/calc/evaluate.ts";
import { formatNumber } from "../src/calc/number_format.ts";
import { parseExpression } from "../src/calc/parser.ts";
import { PyException } from "../src/calc/py_exception.ts";
import { MersenneTwister } from "../src/calc/mt19937.ts";
import {
  COMPLEX_MESSAGE,
  exceptionToJson,
  fromOracle,
  type OracleAnswer,
  oracleEvaluate,
  type Outcome,
  outcome,
  randomExpr,
  randomState,
  Rng,
} from "./helpers/calc_oracle.ts";

function run(text: string, steps = true): Outcome {
  return outcome(parseExpression(text), steps);
}

function ok(result: string, type: string, steps: string[]): Outcome {
  return { result, type, steps };
}

function fails(error: string, ...args: (string | bigint)[]): Outcome {
  return { error, args };
}

// The course server's answers (docs/PROTOCOL.md §4), as recorded on it, copied here as our
// own fixture.
const REFERENCE_CASES: readonly [string, Outcome][] = [
  ["max(2, 3) + 3", ok("6", "int", ["max(2, 3) + 3", "3 + 3", "6"])],
  ["6 / 2", ok("3.0", "float", ["6 / 2", "3.0"])],
  ["1 / 3", ok("0.3333333333333333", "float", ["1 / 3", "0.3333333333333333"])],
  ["0.1 + 0.2", ok("0.30000000000000004", "float", ["0.1 + 0.2", "0.30000000000000004"])],
  [
    "2 ** 100",
    ok("1267650600228229401496703205376", "int", ["2 ** 100", "1267650600228229401496703205376"]),
  ],
  ["2 ** -1", ok("0.5", "float", ["2 ** -1", "0.5"])],
  ["10 ** 20", ok("100000000000000000000", "int", ["10 ** 20", "100000000000000000000"])],
  ["1e20 + 0", ok("1e+20", "float", ["1e+20 + 0", "1e+20"])],
  ["7 % -3", ok("-2", "int", ["7 % -3", "-2"])],
  ["-7 % 3", ok("2", "int", ["-7 % 3", "2"])],
  ["-(7) % 3", ok("2", "int", ["-(7) % 3", "-7 % 3", "2"])],
  ["7.5 % 2", ok("1.5", "float", ["7.5 % 2", "1.5"])],
  ["-7.5 % 2", ok("0.5", "float", ["-7.5 % 2", "0.5"])],
  ["7 % 0", fails("ZeroDivisionError", "integer modulo by zero")],
  ["0 ** -1", fails("ZeroDivisionError", "0.0 cannot be raised to a negative power")],
  ["0.0 ** -1", fails("ZeroDivisionError", "0.0 cannot be raised to a negative power")],
  ["0 ** 0", ok("1", "int", ["0 ** 0", "1"])],
  ["pow(2, 0.5)", ok("1.4142135623730951", "float", ["pow(2, 0.5)", "1.4142135623730951"])],
  ["pow(2, 3, 5)", ok("3", "int", ["pow(2, 3, 5)", "3"])],
  ["pow(2, -1, 5)", ok("3", "int", ["pow(2, -1, 5)", "3"])],
  ["2 ** 0.5", ok("1.4142135623730951", "float", ["2 ** 0.5", "1.4142135623730951"])],
  ["2 ** 3 ** 2", ok("512", "int", ["2 ** (3 ** 2)", "2 ** 9", "512"])],
  ["10 - 4 - 3", ok("3", "int", ["(10 - 4) - 3", "6 - 3", "3"])],
  ["log(8, 2)", ok("3.0", "float", ["log(8, 2)", "3.0"])],
  ["log(e)", ok("1.0", "float", ["log(2.718281828459045)", "1.0"])],
  ["log(100, 10)", ok("2.0", "float", ["log(100, 10)", "2.0"])],
  ["log(-1)", fails("ValueError", "math domain error")],
  ["log(0)", fails("ValueError", "math domain error")],
  ["sqrt(16)", ok("4.0", "float", ["sqrt(16)", "4.0"])],
  ["sqrt(-1)", fails("ValueError", "math domain error")],
  ["max()", fails("TypeError", "max expected at least 1 argument, got 0")],
  ["min()", fails("TypeError", "min expected at least 1 argument, got 0")],
  ["max(1, 2.0)", ok("2.0", "float", ["max(1, 2.0)", "2.0"])],
  ["max(2, 2.0)", ok("2", "int", ["max(2, 2.0)", "2"])],
  ["max(2.0, 2)", ok("2.0", "float", ["max(2.0, 2)", "2.0"])],
  ["min(3, 1.5)", ok("1.5", "float", ["min(3, 1.5)", "1.5"])],
  ["max(5)", fails("TypeError", "'int' object is not iterable")],
  ["sin(1e300)", ok("-0.8178819121159085", "float", ["sin(1e+300)", "-0.8178819121159085"])],
  [
    "sin(10 ** 22)",
    ok("-0.8522008497671888", "float", [
      "sin(10 ** 22)",
      "sin(10000000000000000000000)",
      "-0.8522008497671888",
    ]),
  ],
  ["sin(2 ** 1024)", fails("OverflowError", "int too large to convert to float")],
  ["sin(inf)", fails("ValueError", "math domain error")],
  [
    "tan(pi / 2)",
    ok("1.633123935319537e+16", "float", [
      "tan(3.141592653589793 / 2)",
      "tan(1.5707963267948966)",
      "1.633123935319537e+16",
    ]),
  ],
  ["cos(pi)", ok("-1.0", "float", ["cos(3.141592653589793)", "-1.0"])],
  ["+tau", ok("6.283185307179586", "float", ["+(6.283185307179586)", "6.283185307179586"])],
  ["pi", ok("3.141592653589793", "float", [])],
  ["5", ok("5", "int", [])],
  ["1 + 2", ok("3", "int", ["1 + 2", "3"])],
  ["-(0.0)", ok("-0.0", "float", ["-(0.0)", "-0.0"])],
  ["-(0)", ok("0", "int", ["-(0)", "0"])],
  ["+(3)", ok("3", "int", ["+(3)", "3"])],
  ["1e308 * 10", ok("inf", "float", ["1e+308 * 10", "inf"])],
  ["inf - inf", ok("nan", "float", ["inf - inf", "nan"])],
  ["10 ** 400 / 1", fails("OverflowError", "integer division result too large for a float")],
  ["2 ** 1024 * 1.0", fails("OverflowError", "int too large to convert to float")],
  ["2 ** 10000.5", fails("OverflowError", 34n, "Numerical result out of range")],
  ["2.0 ** 1024", fails("OverflowError", 34n, "Numerical result out of range")],
  ["True + 1", ok("2", "int", ["True + 1", "2"])],
];

Deno.test("evaluate() answers every observed case as the reference server", async (t) => {
  for (const [text, expected] of REFERENCE_CASES) {
    await t.step(text, () => {
      assert.deepEqual(run(text), expected);
      const withoutSteps = run(text, false);
      assert.deepEqual(withoutSteps, "steps" in expected ? { ...expected, steps: [] } : expected);
    });
  }
});

Deno.test("evaluate() computes 2 ** 10000 in full (3011 digits)", () => {
  const { result } = evaluate(parseExpression("2 ** 10000"), { showSteps: false });
  const text = formatNumber(result);
  assert.equal(text.length, 3011);
  assert.ok(text.startsWith("199506311688075838488374216268358508382349683188619245485200"));
});

/** A result whose steps this table does not check. */
function value(result: string, type: string): Outcome {
  return { result, type, steps: [] };
}

// Checked against python3 by the next test; steps only where they tell something.
const RULE_CASES: readonly [string, Outcome][] = [
  ["True * 2.5", ok("2.5", "float", ["True * 2.5", "2.5"])],
  ["-True", ok("-1", "int", ["-(True)", "-1"])],
  ["+True", ok("1", "int", ["+(True)", "1"])],
  ["max(True, 1)", ok("True", "bool", ["max(True, 1)", "True"])],
  ["True / False", fails("ZeroDivisionError", "division by zero")],
  ["0 / -5", ok("-0.0", "float", ["0 / -5", "-0.0"])],
  ["1 / 0.0", fails("ZeroDivisionError", "float division by zero")],
  ["1.0 / 0", fails("ZeroDivisionError", "float division by zero")],
  ["1.0 % 0", fails("ZeroDivisionError", "float modulo")],
  ["-0.0 % 5", ok("0.0", "float", ["-0.0 % 5", "0.0"])],
  ["0.0 % -5", ok("-0.0", "float", ["0.0 % -5", "-0.0"])],
  ["-6.0 % 3", ok("0.0", "float", ["-6.0 % 3", "0.0"])],
  ["10 ** 400 / 10 ** 399", value("10.0", "float")],
  ["1 / 10 ** 400", value("0.0", "float")],
  ["(2 ** 53 + 1) / 1", value("9007199254740992.0", "float")],
  ["(2 ** 1100 + 1) / 2 ** 1000", value("1.2676506002282294e+30", "float")],
  ["(-8) ** 2", ok("64", "int", ["-8 ** 2", "64"])],
  ["(-8.0) ** 3", ok("-512.0", "float", ["-8.0 ** 3", "-512.0"])],
  ["(-1) ** 0.5", fails("ValueError", COMPLEX_MESSAGE)],
  ["(-8) ** (1 / 3)", fails("ValueError", COMPLEX_MESSAGE)],
  // Python hands these to complex power, whose modulus overflows.
  ["(-1e300) ** 1.5", fails("OverflowError", "complex exponentiation")],
  ["(-0.5) ** -10000.5", fails("OverflowError", "complex exponentiation")],
  ["pow(-5, 100000000.5)", fails("OverflowError", "complex exponentiation")],
  ["(-1.0) ** 1e300", value("1.0", "float")],
  ["1 ** nan", value("1.0", "float")],
  ["inf ** -3", value("0.0", "float")],
  ["(-inf) ** 3", value("-inf", "float")],
  ["(-0.0) ** 3", value("-0.0", "float")],
  ["0.5 ** -inf", value("inf", "float")],
  ["(10 ** 400) ** 0.5", fails("OverflowError", "int too large to convert to float")],
  ["pow(2, 3, -5)", value("-2", "int")],
  ["pow(0, 0, -3)", value("-2", "int")],
  ["pow(2, -1, 1)", value("0", "int")],
  ["pow(2, -1, 4)", fails("ValueError", "base is not invertible for the given modulus")],
  ["pow(2, 3, 0)", fails("ValueError", "pow() 3rd argument cannot be 0")],
  [
    "pow(2, 3, 5.0)",
    fails("TypeError", "pow() 3rd argument not allowed unless all arguments are integers"),
  ],
  [
    "pow(2.0, 3, 5)",
    fails("TypeError", "pow() 3rd argument not allowed unless all arguments are integers"),
  ],
  ["pow(10 ** 400, -1, 7)", value("2", "int")],
  ["pow()", fails("TypeError", "pow() missing required argument 'base' (pos 1)")],
  ["pow(1)", fails("TypeError", "pow() missing required argument 'exp' (pos 2)")],
  ["pow(1, 2, 3, 4)", fails("TypeError", "pow() takes at most 3 arguments (4 given)")],
  ["max(5.0)", fails("TypeError", "'float' object is not iterable")],
  ["min(False)", fails("TypeError", "'bool' object is not iterable")],
  ["max(nan, 1)", value("nan", "float")],
  ["max(1, nan)", value("1", "int")],
  ["max(2 ** 53 + 1, 2.0 ** 53)", value("9007199254740993", "int")],
  ["min(2 ** 53 + 1, 2.0 ** 53)", value("9007199254740992.0", "float")],
  ["max(10 ** 400, inf)", value("inf", "float")],
  ["sin()", fails("TypeError", "math.sin() takes exactly one argument (0 given)")],
  ["cos(1, 2)", fails("TypeError", "math.cos() takes exactly one argument (2 given)")],
  ["sqrt(1, 2, 3)", fails("TypeError", "math.sqrt() takes exactly one argument (3 given)")],
  ["tan()", fails("TypeError", "math.tan() takes exactly one argument (0 given)")],
  ["log()", fails("TypeError", "math.log requires 1 to 2 arguments")],
  ["log(1, 2, 3)", fails("TypeError", "math.log requires 1 to 2 arguments")],
  ["log(8, 1)", fails("ZeroDivisionError", "float division by zero")],
  ["log(10 ** 400)", value("921.0340371976182", "float")],
  ["log(10 ** 400, 10 ** 300)", value("1.3333333333333333", "float")],
  ["log(2 ** 1024 - 1)", value("709.782712893384", "float")],
  ["log(inf)", value("inf", "float")],
  ["log(-inf)", fails("ValueError", "math domain error")],
  ["log(nan)", value("nan", "float")],
  ["log(True)", value("0.0", "float")],
  ["log(False)", fails("ValueError", "math domain error")],
  ["sqrt(-0.0)", value("-0.0", "float")],
  ["sqrt(10 ** 400)", fails("OverflowError", "int too large to convert to float")],
  ["sin(-0.0)", value("-0.0", "float")],
  ["cos(-inf)", fails("ValueError", "math domain error")],
  ["tan(nan)", value("nan", "float")],
  [
    "rand()",
    fails("TypeError", "Random.uniform() missing 2 required positional arguments: 'a' and 'b'"),
  ],
  ["rand(1)", fails("TypeError", "Random.uniform() missing 1 required positional argument: 'b'")],
  [
    "rand(1, 2, 3)",
    fails("TypeError", "Random.uniform() takes 3 positional arguments but 4 were given"),
  ],
  ["rand(1, 2)", fails("ValueError", "rand() needs a random state, and this call carries none")],
  ["sin(1 / 0, 2)", fails("ZeroDivisionError", "division by zero")],
];

/** Drops the steps of `actual` when `expected` does not check them. */
function comparable(actual: Outcome, expected: Outcome): Outcome {
  return "steps" in actual && "steps" in expected && expected.steps.length === 0
    ? { ...actual, steps: [] }
    : actual;
}

Deno.test("evaluate() follows CPython's number rules", async (t) => {
  for (const [text, expected] of RULE_CASES) {
    await t.step(text, () => assert.deepEqual(comparable(run(text), expected), expected));
  }
});

/** A tree to evaluate, with or without steps. */
type OracleCase = { expr: Expr; steps: boolean };

/** The cases of every test below, for one python3 run shared by the tests. */
const oracleCases: OracleCase[] = [];
let oracleRun: Promise<OracleAnswer[]> | undefined;

/**
 * Adds `cases` to the file's one oracle run (while the file loads); the
 * function returned awaits their answers, starting the run on first call.
 */
function askOracle(cases: readonly OracleCase[]): () => Promise<OracleAnswer[]> {
  const start = oracleCases.length;
  oracleCases.push(...cases);
  return async () => {
    oracleRun ??= oracleEvaluate(oracleCases);
    return (await oracleRun).slice(start, start + cases.length);
  };
}

const RULE_TEXTS = RULE_CASES.map(([text]) => text);
const ruleAnswers = askOracle(
  RULE_TEXTS.map((text) => ({ expr: parseExpression(text), steps: true })),
);

Deno.test("evaluate() agrees with python3 on every rule case", async () => {
  const answers = await ruleAnswers();
  RULE_TEXTS.forEach((text, i) =>
    assert.deepEqual(run(text), fromOracle(answers[i] as OracleAnswer), text)
  );
});

/** 300 true divisions of ints near a rounding edge. */
function divisionCases(): OracleCase[] {
  const rng = new Rng(20240611);
  const cases: OracleCase[] = [];
  for (let i = 0; i < 300; i++) {
    const size = BigInt(1 + rng.int(1100));
    const a = (1n << size) + BigInt(rng.int(4) - 2) * (1n << BigInt(rng.int(Number(size))));
    const b = (1n << BigInt(rng.int(1100))) + BigInt(rng.int(1000)) * (rng.next() < 0.5 ? 1n : 3n);
    cases.push({
      expr: binary(constant(rng.next() < 0.2 ? -a : a), "/", constant(b)),
      steps: false,
    });
  }
  return cases;
}

const DIVISIONS = divisionCases();
const divisionAnswers = askOracle(DIVISIONS);

Deno.test("evaluate() true-divides ints exactly as CPython, near every rounding edge", async () => {
  const answers = await divisionAnswers();
  DIVISIONS.forEach(({ expr }, i) =>
    assert.deepEqual(outcome(expr, false), fromOracle(answers[i] as OracleAnswer))
  );
});

const RANDOM_SEED = 1_000_003;

/** 600 random expressions from `seed`, their rand calls sharing two states. */
function randomCases(seed: number): OracleCase[] {
  const rng = new Rng(seed);
  const states = [randomState(rng), randomState(rng)];
  return Array.from({ length: 600 }, () => ({ expr: randomExpr(rng, 5, states), steps: true }));
}

const RANDOM_CASES = randomCases(RANDOM_SEED);
const randomAnswers = askOracle(RANDOM_CASES);

Deno.test(`evaluate() matches CPython on 600 random expressions, steps included (seed ${RANDOM_SEED})`, async () => {
  const seed = RANDOM_SEED;
  const answers = await randomAnswers();
  let failures = 0;
  RANDOM_CASES.forEach(({ expr }, i) => {
    const expected = fromOracle(answers[i] as OracleAnswer);
    assert.deepEqual(outcome(expr, true), expected, `random case ${i} (seed ${seed})`);
    if ("error" in expected) failures++;
  });
  // The generator must exercise both outcomes.
  assert.ok(failures > 50 && failures < 550, `${failures} of 600 cases fail`);
});

/** Three rand calls, two of them drawing from one state. */
function randCase(): { expr: Expr; shared: RandomState } {
  const rng = new Rng(77);
  const shared = randomState(rng);
  const other = randomState(rng);
  const expr = binary(
    binary(
      call("rand", [constant(1n), constant(2n)], shared),
      "+",
      call("rand", [constant(0), constant(10n)], shared),
    ),
    "*",
    call("rand", [constant(-5n), constant(5n)], other),
  );
  return { expr, shared };
}

const RAND = randCase();
const randAnswers = askOracle([{ expr: RAND.expr, steps: true }]);

Deno.test("evaluate() draws rand like CPython's random.uniform, one sequence per state", async () => {
  const { expr, shared } = RAND;
  const [answer] = await randAnswers();
  assert.deepEqual(outcome(expr, true), fromOracle(answer as OracleAnswer));
  // The state objects themselves are left as they were.
  assert.deepEqual(
    Array.from(shared.words.slice(0, 3)),
    Array.from(randomState(new Rng(77)).words.slice(0, 3)),
  );
});

/**
 * `min()` of 40 rand(0, 1) calls sharing a state at index 620: uniform(0, 1)
 * is exactly random(), and all calls share the state, so one sequence.
 */
function blockBoundaryCase(): { expr: Expr; state: RandomState } {
  const state: RandomState = { words: randomState(new Rng(5)).words, index: 620, gauss: null };
  const expr = call(
    "min",
    Array.from({ length: 40 }, () => call("rand", [constant(0n), constant(1n)], state)),
  );
  return { expr, state };
}

const BLOCK_BOUNDARY = blockBoundaryCase();
const blockBoundaryAnswers = askOracle([{ expr: BLOCK_BOUNDARY.expr, steps: true }]);

Deno.test("MersenneTwister draws CPython's random() sequence across a block boundary", async () => {
  const { expr, state } = BLOCK_BOUNDARY;
  const generator = new MersenneTwister(state);
  // Index 620 leaves two draws in the block, so the third comes from a new one.
  const draws = Array.from({ length: 40 }, () => generator.random());
  const ours = evaluate(expr, { showSteps: true });
  assert.equal(ours.steps.at(-2), `min(${draws.map(formatNumber).join(", ")})`);
  const [answer] = await blockBoundaryAnswers();
  assert.deepEqual(outcome(expr, true), fromOracle(answer as OracleAnswer));
});

Deno.test("evaluate() refuses ints beyond maxIntDigits before computing them", async (t) => {
  await t.step("9 ** 9 ** 9 answers in microseconds", () => {
    const start = performance.now();
    assert.deepEqual(
      run("9 ** 9 ** 9"),
      fails("OverflowError", "integer too large: more than 4300 digits (calcnet limit)"),
    );
    assert.ok(performance.now() - start < 50);
  });
  await t.step("the limit is exact: 4300 digits pass, 4301 do not", () => {
    assert.equal(
      formatNumber(evaluate(parseExpression("9 * 10 ** 4299"), { showSteps: false }).result).length,
      4300,
    );
    assert.deepEqual(
      outcome(parseExpression("10 * 10 ** 4299"), false),
      fails("OverflowError", "integer too large: more than 4300 digits (calcnet limit)"),
    );
    assert.deepEqual(
      outcome(parseExpression("(10 ** 2150) * (10 ** 2150)"), false),
      fails("OverflowError", "integer too large: more than 4300 digits (calcnet limit)"),
    );
  });
  await t.step("constants count too", () => {
    assert.deepEqual(
      outcome(binary(constant(10n ** 5000n), "*", constant(0n)), false),
      fails("OverflowError", "integer too large: more than 4300 digits (calcnet limit)"),
    );
  });
  await t.step("2 ** 20000, which the reference cannot print", () => {
    assert.deepEqual(
      run("2 ** 20000"),
      fails("OverflowError", "integer too large: more than 4300 digits (calcnet limit)"),
    );
  });
  await t.step("the limit is configurable", () => {
    assert.deepEqual(
      outcome(parseExpression("10 ** 20"), false, { maxIntDigits: 20 }),
      fails("OverflowError", "integer too large: more than 20 digits (calcnet limit)"),
    );
    assert.equal(
      formatNumber(
        evaluate(parseExpression("2 ** 20000"), {
          showSteps: false,
          limits: { maxIntDigits: 7000 },
        }).result,
      ).length,
      6021,
    );
  });
});

Deno.test("evaluate() bounds the work a request may ask for", async (t) => {
  await t.step("a three-argument pow with 4300-digit numbers is refused up front", () => {
    const start = performance.now();
    const expr = call("pow", [
      constant(3n ** 9000n),
      constant(10n ** 4299n - 1n),
      constant(10n ** 4299n + 7n),
    ]);
    assert.deepEqual(
      outcome(expr, false),
      fails("OverflowError", "expression too expensive to evaluate (calcnet limit)"),
    );
    assert.ok(performance.now() - start < 100);
  });
  await t.step("a small pickle sharing sub-trees cannot ask for 2 ** 60 nodes", () => {
    let expr: Expr = constant(1n);
    for (let i = 0; i < 60; i++) expr = binary(expr, "+", expr);
    assert.deepEqual(
      outcome(expr, true),
      fails("OverflowError", "expression too large: more than 20000 nodes (calcnet limit)"),
    );
  });
  await t.step("the largest shared tree allowed costs milliseconds, steps included", () => {
    // 2 ** 14 - 1 = 16,383 nodes from a pickle of a few hundred bytes.
    let expr: Expr = constant(1n);
    for (let i = 0; i < 13; i++) expr = binary(expr, "+", expr);
    outcome(expr, true); // warm up
    const start = performance.now();
    assert.equal(evaluate(expr, { showSteps: false }).result, 8192n);
    // Its steps cost more work than is left long before they reach 1,000,000 characters.
    assert.deepEqual(
      outcome(expr, true),
      fails("OverflowError", "expression too expensive to evaluate (calcnet limit)"),
    );
    assert.deepEqual(
      outcome(expr, true, { maxWork: 1_000_000_000 }),
      fails("OverflowError", "steps too long: more than 1000000 characters (calcnet limit)"),
    );
    // ~20 ms here; the bound only catches a blow-up (a shared tree rendered quadratically).
    const elapsed = performance.now() - start;
    assert.ok(elapsed < 1000, `${elapsed} ms`);
  });
  await t.step("shared sub-trees within the limit evaluate at each occurrence", () => {
    let expr: Expr = constant(1n);
    for (let i = 0; i < 10; i++) expr = binary(expr, "+", expr);
    assert.equal(evaluate(expr, { showSteps: false }).result, 1024n);
  });
  await t.step("steps too long to ever send are refused", () => {
    const big = constant(10n ** 4000n);
    let expr: Expr = big;
    for (let i = 0; i < 400; i++) expr = binary(expr, "-", big);
    // 1.6 million characters of constants: more than the work limit pays for
    // (so they are not even formatted), and than the length limit allows.
    assert.deepEqual(
      outcome(expr, true),
      fails("OverflowError", "expression too expensive to evaluate (calcnet limit)"),
    );
    assert.deepEqual(
      outcome(expr, true, { maxWork: 1_000_000_000 }),
      fails("OverflowError", "steps too long: more than 1000000 characters (calcnet limit)"),
    );
    assert.equal(evaluate(expr, { showSteps: false }).result, -399n * 10n ** 4000n);
  });
  await t.step("the defaults are documented values", () => {
    assert.deepEqual(DEFAULT_EVAL_LIMITS, {
      maxIntDigits: 4300,
      maxNodes: 20_000,
      maxWork: 20_000_000,
      maxStepsLength: 1_000_000,
    });
  });
});

Deno.test("evaluate() handles trees 2000 levels deep without recursion", async (t) => {
  let minus: Expr = constant(7n);
  for (let i = 0; i < 2000; i++) minus = unary("-", minus);
  let sum: Expr = constant(0n);
  for (let i = 0; i < 2000; i++) sum = binary(sum, "+", constant(1n));
  let right: Expr = constant(1n);
  for (let i = 0; i < 2000; i++) right = binary(constant(1n), "*", right);
  // Rendering 2000 steps of a 2000-node tree is quadratic: lift the limits.
  const options = {
    showSteps: true,
    limits: { maxStepsLength: 100_000_000, maxWork: 10_000_000_000 },
  };
  await t.step("a unary minus chain", () => {
    const { result, steps } = evaluate(minus, options);
    assert.equal(result, 7n);
    assert.equal(steps.length, 2001);
    assert.equal(steps.at(-2), "-(-7)");
  });
  await t.step("a left-leaning sum", () => {
    const { result, steps } = evaluate(sum, options);
    assert.equal(result, 2000n);
    assert.equal(steps.at(-2), "1999 + 1");
  });
  await t.step("a right-leaning product", () => {
    assert.equal(evaluate(right, { showSteps: false }).result, 1n);
  });
});

Deno.test("evaluate() never modifies the tree it is given", () => {
  const state = randomState(new Rng(9));
  const words = Array.from(state.words);
  const tree = binary(named("PI"), "+", call("rand", [constant(1n), constant(2n)], state));
  const freeze = (e: Expr): void => {
    Object.freeze(e);
    if (e.kind === "binary") [e.left, e.right].forEach(freeze);
    if (e.kind === "unary") freeze(e.operand);
    if (e.kind === "call") e.args.forEach(freeze);
  };
  freeze(tree);
  const first = evaluate(tree, { showSteps: true });
  const second = evaluate(tree, { showSteps: true });
  assert.deepEqual(first, second);
  assert.deepEqual(Array.from(state.words), words);
  assert.equal(state.index, randomState(new Rng(9)).index);
});

Deno.test("evaluate() reports errors as PyExceptions with CPython's class and args", () => {
  try {
    evaluate(parseExpression("2 ** 10000.5"), { showSteps: true });
    assert.fail("no error");
  } catch (error: unknown) {
    assert.ok(error instanceof PyException);
    assert.deepEqual(exceptionToJson(error), {
      type: "OverflowError",
      args: [{ int: "34" }, "Numerical result out of range"],
    });
    assert.equal(error.str(), "(34, 'Numerical result out of range')");
  }
});

Deno.test("resolveEvalLimits() fills in defaults, rejects a bad limit and checks frozen limits once", () => {
  assert.equal(resolveEvalLimits(), DEFAULT_EVAL_LIMITS);
  const resolved = resolveEvalLimits({ maxIntDigits: 20, maxNodes: undefined });
  assert.deepEqual(resolved, { ...DEFAULT_EVAL_LIMITS, maxIntDigits: 20 });
  assert.ok(Object.isFrozen(resolved));
  assert.equal(resolveEvalLimits(resolved), resolved, "the resolved limits are remembered");
  const mutable: { maxWork: number } = { maxWork: 5 };
  resolveEvalLimits(mutable);
  mutable.maxWork = 6;
  assert.equal(resolveEvalLimits(mutable).maxWork, 6, "a mutable object is read each time");
  for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
    assert.throws(() => resolveEvalLimits({ maxWork: bad }), {
      name: "RangeError",
      message: `eval limit maxWork must be a positive integer, not ${bad}`,
    });
  }
  assert.deepEqual(
    outcome(parseExpression("10 ** 20"), false, resolved),
    fails("OverflowError", "integer too large: more than 20 digits (calcnet limit)"),
  );
});
