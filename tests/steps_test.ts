import assert from "node:assert/strict";
import { binary, call, constant, named } from "../src/calc/expr.ts";
import { evaluate } from "../src/calc/evaluate.ts";
import { parseExpression } from "../src/calc/parser.ts";
import { COURSE_EXAMPLES } from "../src/calc/course_examples.ts";
import { formatNumber } from "../src/calc/number_format.ts";
import { formatSteps, removeBrackets } from "../src/calc/steps.ts";
import { oracleBrackets, Rng } from "./helpers/calc_oracle.ts";
import { EXAMPLE_ANSWERS } from "../src/check/course_answers.ts";

function stepsOf(text: string): string[] {
  return evaluate(parseExpression(text), { steps: true }).steps;
}

// The reference server's steps for the course's examples (PROTOCOL §5, §8).
const EXAMPLE_STEPS: readonly (readonly string[])[] = EXAMPLE_ANSWERS.map((answer) => answer.steps);

Deno.test("evaluate() records the reference's steps for the six course examples", async (t) => {
  for (const [i, example] of COURSE_EXAMPLES.entries()) {
    await t.step(example.text, () => {
      const { result, steps } = evaluate(parseExpression(example.text), { steps: true });
      assert.equal(formatNumber(result), example.expected);
      assert.deepEqual(steps, EXAMPLE_STEPS[i]);
    });
  }
});

Deno.test("steps show a named constant by name in the first step only", () => {
  assert.deepEqual(stepsOf("max(2, log(e))"), ["max(2, log(E))", "max(2, 1.0)", "2"]);
  assert.deepEqual(stepsOf("1 + pi * 2"), [
    "1 + (PI * 2)",
    "1 + 6.283185307179586",
    "7.283185307179586",
  ]);
  // A constant that is the first leaf is already a value when the first step
  // is taken (the reference's log(e), cos(pi), tan(pi / 2) and tau steps).
  assert.deepEqual(stepsOf("log(e)"), ["log(2.718281828459045)", "1.0"]);
  assert.deepEqual(stepsOf("cos(pi)"), ["cos(3.141592653589793)", "-1.0"]);
  assert.deepEqual(stepsOf("+tau"), ["+(6.283185307179586)", "6.283185307179586"]);
  assert.deepEqual(stepsOf("pi + e"), ["3.141592653589793 + E", "5.859874482048838"]);
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
  assert.deepEqual(evaluate(parseExpression("1 + 2"), { steps: false }).steps, []);
});

Deno.test("steps print values as Python prints them", () => {
  assert.deepEqual(evaluate(binary(constant(true), "+", constant(1e20)), { steps: true }).steps, [
    "True + 1e+20",
    "1e+20",
  ]);
  assert.deepEqual(evaluate(call("max", [constant(-0), named("TAU")]), { steps: true }).steps, [
    "max(-0.0, TAU)",
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
