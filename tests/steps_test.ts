import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import {
  binary,
  BINARY_SYMBOLS,
  call,
  constant,
  type Expr,
  named,
  unary,
} from "../src/calc/expr.ts";
import { evaluate } from "../src/calc/evaluate.ts";
import { parseExpression } from "../src/calc/parser.ts";
import { COURSE_EXAMPLES } from "../src/calc/course_examples.ts";
import { formatNumber } from "../src/calc/number_format.ts";
import { formatSteps, removeBrackets } from "../src/calc/steps.ts";
import {
  exprToJson,
  fromOracle,
  libmExplains,
  type OracleAnswer,
  oracleBrackets,
  oracleEvaluate,
  outcome,
  randomStepsExpr,
  Rng,
} from "./helpers/calc_oracle.ts";
import { EXAMPLE_ANSWERS } from "../src/check/course_answers.ts";

function stepsOf(text: string): string[] {
  return evaluate(parseExpression(text), { showSteps: true }).steps;
}

// The reference server's steps for the course's examples (docs/PROTOCOL.md §5, §8).
const EXAMPLE_STEPS: readonly (readonly string[])[] = EXAMPLE_ANSWERS.map((answer) => answer.steps);

Deno.test("evaluate() records the reference's steps for the six course examples", async (t) => {
  for (const [i, example] of COURSE_EXAMPLES.entries()) {
    await t.step(example.text, () => {
      const { result, steps } = evaluate(parseExpression(example.text), { showSteps: true });
      assert.equal(formatNumber(result), example.repr);
      assert.deepEqual(steps, EXAMPLE_STEPS[i]);
    });
  }
});

// Observed on the course server (docs/PROTOCOL.md §5): a named constant shows by name
// only inside an operand that has not been reached yet.
const NAMED_OBSERVED: readonly [string, string[]][] = [
  ["tau / pi", ["6.283185307179586 / 3.141592653589793", "2.0"]],
  ["1 + (e * 2)", ["1 + (2.718281828459045 * 2)", "1 + 5.43656365691809", "6.43656365691809"]],
  ["(2 * 3) + (e * 2)", [
    "(2 * 3) + (E * 2)",
    "6 + (2.718281828459045 * 2)",
    "6 + 5.43656365691809",
    "11.43656365691809",
  ]],
  ["max(1, pi) * (2 + e)", [
    "max(1, 3.141592653589793) * (2 + E)",
    "3.141592653589793 * (2 + 2.718281828459045)",
    "3.141592653589793 * 4.718281828459045",
    "14.82291952985315",
  ]],
  ["sin(pi) + cos(2 * tau)", [
    "(sin(3.141592653589793) + cos(2 * TAU))",
    "(1.2246467991473532e-16 + cos(2 * 6.283185307179586))",
    "1.2246467991473532e-16 + cos(12.566370614359172)",
    "1.2246467991473532e-16 + 1.0",
    "1.0000000000000002",
  ]],
  ["min(2 * 3, e, pi - 1)", [
    "min((2 * 3), E, (PI - 1))",
    "min(6, 2.718281828459045, (3.141592653589793 - 1))",
    "min(6, 2.718281828459045, 2.141592653589793)",
    "2.141592653589793",
  ]],
  ["-pi", ["-(3.141592653589793)", "-3.141592653589793"]],
  ["log(e)", ["log(2.718281828459045)", "1.0"]],
  ["cos(pi)", ["cos(3.141592653589793)", "-1.0"]],
  ["+tau", ["+(6.283185307179586)", "6.283185307179586"]],
  ["tan(pi / 2)", [
    "tan(3.141592653589793 / 2)",
    "tan(1.5707963267948966)",
    "1.633123935319537e+16",
  ]],
];

Deno.test("evaluate() records the course server's steps where named constants sit in operands", async (t) => {
  for (const [text, expected] of NAMED_OBSERVED) {
    await t.step(text, () => assert.deepEqual(stepsOf(text), expected));
  }
});

Deno.test("evaluate() shows a named constant by name only in an operand not reached yet", () => {
  // Right of the operator whose left operand is still being evaluated: by name.
  assert.deepEqual(stepsOf("(1 + 2) * pi"), [
    "(1 + 2) * PI",
    "3 * 3.141592653589793",
    "9.42477796076938",
  ]);
  // Inside the operand being evaluated: by value, though the root was never reached.
  assert.deepEqual(stepsOf("max(2, log(e))"), [
    "max(2, log(2.718281828459045))",
    "max(2, 1.0)",
    "2",
  ]);
  assert.deepEqual(stepsOf("1 + pi * 2"), [
    "1 + (3.141592653589793 * 2)",
    "1 + 6.283185307179586",
    "7.283185307179586",
  ]);
  // Both operands leaves: no step shows a name.
  assert.deepEqual(stepsOf("pi + e"), [
    "3.141592653589793 + 2.718281828459045",
    "5.859874482048838",
  ]);
  // Several levels down, each sibling on the right keeps its names until reached.
  assert.deepEqual(stepsOf("((e + 1) * (pi - 2)) / -(tau)"), [
    "((2.718281828459045 + 1) * (PI - 2)) / -(TAU)",
    "(3.718281828459045 * (3.141592653589793 - 2)) / -(TAU)",
    "(3.718281828459045 * 1.1415926535897931) / -(TAU)",
    "4.244763219345269 / -(6.283185307179586)",
    "4.244763219345269 / -6.283185307179586",
    "-0.6755750486134667",
  ]);
  // A unary chain over a constant: the innermost minus is applied to its value.
  assert.deepEqual(stepsOf("-(+(-(e)))"), [
    "-(+(-(2.718281828459045)))",
    "-(+(-2.718281828459045))",
    "-(-2.718281828459045)",
    "2.718281828459045",
  ]);
});

Deno.test("steps keep the reference's bracket quirks", () => {
  assert.deepEqual(stepsOf("2 ** 3 ** 2"), ["2 ** (3 ** 2)", "2 ** 9", "512"]);
  assert.deepEqual(stepsOf("10 - 4 - 3"), ["(10 - 4) - 3", "6 - 3", "3"]);
  assert.deepEqual(stepsOf("tan(pi / 2)"), [
    "tan(3.141592653589793 / 2)",
    "tan(1.5707963267948966)",
    "1.633123935319537e+16",
  ]);
  // A negative constant as a base prints as if the minus applied to the power.
  assert.deepEqual(stepsOf("(-2) ** 2"), ["-2 ** 2", "4"]);
  // A unary minus over a value keeps its brackets.
  assert.deepEqual(stepsOf("-(4 + 5)"), ["-(4 + 5)", "-(9)", "-9"]);
  // After one deletion, a second pair's positions point at other characters.
  assert.deepEqual(stepsOf("-(1 + 2) + -(3 + 4)")[0], "(-(1 + 2) + -(( + 4))");
});

Deno.test("steps are empty for a bare constant and when not asked for", () => {
  assert.deepEqual(stepsOf("5"), []);
  assert.deepEqual(stepsOf("pi"), []);
  assert.deepEqual(stepsOf("-5"), []);
  assert.deepEqual(evaluate(parseExpression("1 + 2"), { showSteps: false }).steps, []);
});

Deno.test("steps print values as Python prints them", () => {
  assert.deepEqual(
    evaluate(binary(constant(true), "+", constant(1e20)), { showSteps: true }).steps,
    [
      "True + 1e+20",
      "1e+20",
    ],
  );
  assert.deepEqual(evaluate(call("max", [constant(-0), named("TAU")]), { showSteps: true }).steps, [
    "max(-0.0, 6.283185307179586)",
    "6.283185307179586",
  ]);
});

Deno.test("removeBrackets() replicates the course server's algorithm", async (t) => {
  const cases: readonly [string, string][] = [
    ["(3 + ((4 * 2) / ((1 - 5) ** (2 ** 3))))", "3 + ((4 * 2) / ((1 - 5) ** (2 ** 3)))"],
    ["-(-(((1 + (2 + 3)) ** -((4 + 5)))))", "-(-((1 + (2 + 3)) ** -(4 + 5)))"],
    ["-(-((6 ** -(9))))", "-(-(6 ** -(9)))"],
    ["tan((3.141592653589793 / 2))", "tan(3.141592653589793 / 2)"],
    ["(-8 ** (1 / 3))", "-8 ** (1 / 3)"],
    ["(-((1 + 2)) + -((3 + 4)))", "(-(1 + 2) + -(( + 4))"],
    ["((1))", "(1)"],
    ["(1) + (2)", "(1) + (2)"],
    ["", ""],
    ["6", "6"],
    [")(", ")("],
  ];
  for (const [input, expected] of cases) {
    await t.step(JSON.stringify(input), () => assert.equal(removeBrackets(input), expected));
  }
});

const SEED = 2718;

Deno.test(`removeBrackets() matches the Python algorithm on 2000 random bracketings (seed ${SEED})`, async () => {
  const rng = new Rng(SEED);
  const gen = (depth: number): string => {
    if (depth === 0 || rng.next() < 0.2) return rng.pick(["1", "x", "-2", "3.5"]);
    const r = rng.next();
    if (r < 0.35) return `(${gen(depth - 1)} ${rng.pick(["+", "**"])} ${gen(depth - 1)})`;
    if (r < 0.55) return `-(${gen(depth - 1)})`;
    if (r < 0.75) return `((${gen(depth - 1)}))`;
    return `f(${gen(depth - 1)}, ${gen(depth - 1)})`;
  };
  const texts = Array.from({ length: 2000 }, () => gen(7));
  const expected = await oracleBrackets(texts);
  texts.forEach((text, i) => assert.equal(removeBrackets(text), expected[i], text));
});

Deno.test("formatSteps() prints steps as the course client does", () => {
  assert.equal(
    formatSteps(["max(2, 3) + 3", "3 + 3", "6"]),
    "max(2, 3) + 3 = 3 + 3\n              = 6",
  );
  assert.equal(formatSteps(["1 + 2", "3"]), "1 + 2 = 3");
  assert.equal(formatSteps(["7"]), "7");
  assert.equal(formatSteps([]), "");
  assert.equal(
    formatSteps(EXAMPLE_STEPS[3] ?? []),
    [
      "((1 + 2) ** (3 * 4)) / (5 * 6) = (3 ** (3 * 4)) / (5 * 6)",
      "                               = (3 ** 12) / (5 * 6)",
      "                               = 531441 / (5 * 6)",
      "                               = 531441 / 30",
      "                               = 17714.7",
    ].join("\n"),
  );
});

/**
 * Named constants in every position: left and right of each binary operator
 * (beside a leaf and beside a sub-expression that has steps of its own),
 * inside unary chains, as each argument of 1- to 5-argument calls, nested
 * several levels, and alone at the top.
 */
function namedPositionCases(): Expr[] {
  const pi = (): Expr => named("PI");
  const e = (): Expr => named("E");
  const small = (): Expr => binary(constant(1n), "+", constant(2n));
  const cases: Expr[] = [named("PI"), named("TAU"), named("E")];
  for (const op of BINARY_SYMBOLS) {
    cases.push(
      binary(pi(), op, constant(2n)),
      binary(constant(2n), op, e()),
      binary(pi(), op, small()),
      binary(small(), op, e()),
      binary(binary(e(), "*", constant(2n)), op, binary(pi(), "-", constant(1n))),
      binary(unary("-", pi()), op, unary("+", e())),
    );
  }
  for (let chain = 1; chain <= 4; chain++) {
    let inner: Expr = named("TAU");
    let beside: Expr = binary(small(), "*", named("TAU"));
    for (let k = 0; k < chain; k++) {
      inner = unary(k % 2 ? "+" : "-", inner);
      beside = unary(k % 2 ? "+" : "-", beside);
    }
    cases.push(inner, beside, binary(inner, "+", pi()));
  }
  for (const name of ["max", "min"] as const) {
    for (let arity = 1; arity <= 5; arity++) {
      for (let at = 0; at < arity; at++) {
        // The others alternate between sub-expressions and leaves.
        const args = Array.from(
          { length: arity },
          (_, k) => k === at ? named("E") : k % 2 ? constant(BigInt(k)) : small(),
        );
        cases.push(call(name, args), binary(call(name, args), "*", pi()));
      }
    }
  }
  cases.push(
    call("log", [pi()]),
    call("log", [small(), e()]),
    call("log", [e(), small()]),
    call("pow", [pi(), constant(2n)]),
    call("pow", [small(), e()]),
    call("pow", [constant(2n), constant(5n), binary(constant(3n), "+", constant(4n))]),
  );
  // Nested several levels: a constant at the bottom of each side.
  let left: Expr = pi();
  let right: Expr = e();
  for (let level = 0; level < 5; level++) {
    left = binary(left, level % 2 ? "*" : "+", constant(BigInt(level + 1)));
    right = call("max", [constant(BigInt(level)), right]);
    cases.push(binary(left, "-", right), binary(right, "/", left));
  }
  return cases;
}

const POSITION_CASES = namedPositionCases();

Deno.test(`evaluate() agrees with the §5 oracle on named constants in ${POSITION_CASES.length} positions`, async () => {
  const answers = await oracleEvaluate(POSITION_CASES.map((expr) => ({ expr, steps: true })));
  let withNames = 0;
  POSITION_CASES.forEach((expr, i) => {
    const expected = fromOracle(answers[i] as OracleAnswer);
    assert.deepEqual(outcome(expr, true), expected, JSON.stringify(exprToJson(expr)));
    if ("steps" in expected && expected.steps.some((step) => /PI|TAU|E\b/.test(step))) withNames++;
  });
  // Both kinds occur: steps that show a name and steps that show only values.
  assert.ok(withNames > 20 && withNames < POSITION_CASES.length - 20, `${withNames} with names`);
});

/** The seed of the differential test: CALCNET_TEST_SEED, or a new one each run. */
const DIFF_SEED = Number(Deno.env.get("CALCNET_TEST_SEED") ?? Math.floor(Math.random() * 2 ** 31));
const DIFF_COUNT = 2500;

Deno.test(`evaluate() matches the §5 oracle on ${DIFF_COUNT} random trees (seed ${DIFF_SEED}; CALCNET_TEST_SEED replays)`, async () => {
  console.log(`steps differential seed ${DIFF_SEED}`);
  const rng = new Rng(DIFF_SEED);
  const exprs = Array.from({ length: DIFF_COUNT }, () => randomStepsExpr(rng, 6));
  const answers = await oracleEvaluate(exprs.map((expr) => ({ expr, steps: true })), 4300, true);
  let libm = 0;
  let named = 0;
  exprs.forEach((expr, i) => {
    const answer = answers[i] as OracleAnswer;
    const expected = fromOracle(answer);
    const got = outcome(expr, true);
    if ("steps" in expected && expected.steps.some((step) => /PI|TAU|E\b/.test(step))) named++;
    if (isDeepStrictEqual(got, expected)) return;
    // The C library's last digit (docs/PROTOCOL.md §4) is the one difference allowed.
    if (libmExplains(answer.libm ?? [])) {
      libm++;
      return;
    }
    assert.deepEqual(
      got,
      expected,
      `tree ${i} (seed ${DIFF_SEED}): ${JSON.stringify(exprToJson(expr))}`,
    );
  });
  console.log(
    `${libm} of ${DIFF_COUNT} trees differ only by the C library's last digit; ${named} show a name`,
  );
  assert.ok(libm < DIFF_COUNT / 50, `${libm} trees differ by the C library's last digit`);
  assert.ok(named > DIFF_COUNT / 20, `only ${named} trees show a named constant in a step`);
});
