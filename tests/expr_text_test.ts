import assert from "node:assert/strict";
import { COURSE_EXAMPLES } from "../src/calc/course_examples.ts";
import { binary, call, type Expr, NAMED_CONSTANT_VALUES, unary } from "../src/calc/expr.ts";
import { exprText, TRUNCATION_MARK } from "../src/calc/expr_text.ts";
import { parseExpression } from "../src/calc/parser.ts";
import { randomExpr, SeededRandom } from "./helpers/pickle_fixture.ts";
import {
  exprToJson,
  oracleParse,
  randomExpr as randomOracleExpr,
  randomState,
  Rng,
} from "./helpers/calc_oracle.ts";

Deno.test("exprText() prints the course examples without redundant brackets", () => {
  assert.deepEqual(COURSE_EXAMPLES.map(({ text }) => exprText(parseExpression(text))), [
    "sin(max(2, 3 * 4, 5, 6 * (7 * 8 / 9), 10 / 11)) / 12 * 13",
    "max(2, 3) + 3",
    "3 + 4 * 2 / (1 - 5) ** 2 ** 3",
    "(1 + 2) ** (3 * 4) / (5 * 6)",
    "-(-((1 + (2 + 3)) ** -(4 + 5)))",
    "max(2, 3 * 4, log(E), 6 * 7, 9 / 8)",
  ]);
});

Deno.test("exprText() keeps exactly the brackets Python's grammar needs", () => {
  const cases: [string, string][] = [
    ["1 - (2 - 3)", "1 - (2 - 3)"],
    ["(1 - 2) - 3", "1 - 2 - 3"],
    ["(1 + 2) * 3", "(1 + 2) * 3"],
    ["1 + (2 * 3)", "1 + 2 * 3"],
    ["2 / (3 * 4)", "2 / (3 * 4)"],
    ["(2 ** 3) ** 2", "(2 ** 3) ** 2"],
    ["2 ** (3 ** 2)", "2 ** 3 ** 2"],
    ["(-2) ** 2", "(-2) ** 2"],
    ["-(2 ** 2)", "-(2 ** 2)"],
    ["(-(2)) ** 2", "(-(2)) ** 2"],
    ["2 ** -1", "2 ** -1"],
    ["2 ** -(1)", "2 ** -(1)"],
    ["2 ** (1 + 1)", "2 ** (1 + 1)"],
    ["-(5)", "-(5)"],
    ["-5", "-5"],
    ["+5", "+5"],
    ["-(-5)", "-(-5)"],
    ["-pi", "-PI"],
    ["-sin(1)", "-sin(1)"],
    ["-True", "-True"],
    ["-(1 + 2)", "-(1 + 2)"],
    ["3 * -2", "3 * -2"],
    ["3 - -(2)", "3 - -(2)"],
    ["-inf + nan", "-inf + nan"],
    ["1e20 * 1e-5", "1e+20 * 1e-05"],
    ["max(1 + 2, (3))", "max(1 + 2, 3)"],
  ];
  for (const [input, expected] of cases) {
    const expr = parseExpression(input);
    assert.equal(exprText(expr), expected, input);
    assert.deepEqual(parseExpression(expected), expr, `${expected} reads back`);
  }
});

/** `expr` as the parser would build it: standard named-constant values, no random state. */
function asParsed(expr: Expr): Expr {
  switch (expr.kind) {
    case "named":
      return { kind: "named", name: expr.name, value: NAMED_CONSTANT_VALUES[expr.name] };
    case "binary":
      return { ...expr, left: asParsed(expr.left), right: asParsed(expr.right) };
    case "unary":
      return { ...expr, operand: asParsed(expr.operand) };
    case "call":
      return { kind: "call", name: expr.name, args: expr.args.map(asParsed) };
    default:
      return expr;
  }
}

Deno.test("exprText() of 2,000 random trees reads back as the same tree", () => {
  const rng = new SeededRandom(99);
  for (let i = 0; i < 2000; i++) {
    const expr = asParsed(randomExpr(rng, 6));
    const text = exprText(expr);
    assert.deepEqual(parseExpression(text), expr, text);
  }
});

Deno.test("exprText() cuts a text longer than its limit and marks the cut", () => {
  let expr = parseExpression("123456789 + 1");
  for (let i = 0; i < 30; i++) expr = { kind: "binary", operator: "*", left: expr, right: expr };
  const text = exprText(expr, 50);
  assert.equal(text.length, 50 + TRUNCATION_MARK.length);
  assert.ok(text.endsWith(TRUNCATION_MARK));
  assert.equal(text.slice(0, 50), exprText(expr, 1000).slice(0, 50));
  assert.equal(exprText(parseExpression("1 + 2"), 5), "1 + 2");
});

/** `expr` with every rand call's random state dropped: text does not carry it. */
function withoutStates(expr: Expr): Expr {
  switch (expr.kind) {
    case "binary":
      return binary(withoutStates(expr.left), expr.operator, withoutStates(expr.right));
    case "unary":
      return unary(expr.operator, withoutStates(expr.operand));
    case "call":
      return call(expr.name, expr.args.map(withoutStates));
    default:
      return expr;
  }
}

const PYTHON_SEED = 20240513;

Deno.test(`Python's own parser reads exprText(e) as e (500 random trees, seed ${PYTHON_SEED})`, async () => {
  const rng = new Rng(PYTHON_SEED);
  const states = [randomState(rng)];
  const exprs = Array.from({ length: 500 }, () => randomOracleExpr(rng, 1 + rng.int(6), states));
  const texts = exprs.map((expr) => exprText(expr));
  const parsed = await oracleParse(texts);
  exprs.forEach((expr, i) =>
    assert.deepEqual(parsed[i], exprToJson(withoutStates(expr)), texts[i])
  );
});
