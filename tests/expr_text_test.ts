import assert from "node:assert/strict";
import { binary, call, constant, type Expr, named, unary } from "../src/calc/expr.ts";
import { exprToText } from "../src/calc/expr_text.ts";
import { parseExpression } from "../src/calc/parser.ts";
import { COURSE_EXAMPLES } from "../src/calc/course_examples.ts";
import { exprToJson, oracleParse, randomExpr, randomState, Rng } from "./helpers/calc_oracle.ts";

const SEED = 20240512;

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

Deno.test("exprToText() prints the course examples with only the brackets Python needs", () => {
  const expected = [
    "sin(max(2, 3 * 4, 5, 6 * (7 * 8 / 9), 10 / 11)) / 12 * 13",
    "max(2, 3) + 3",
    "3 + 4 * 2 / (1 - 5) ** 2 ** 3",
    "(1 + 2) ** (3 * 4) / (5 * 6)",
    "-(-((1 + (2 + 3)) ** -(4 + 5)))",
    "max(2, 3 * 4, log(e), 6 * 7, 9 / 8)",
  ];
  assert.deepEqual(
    COURSE_EXAMPLES.map((example) => exprToText(parseExpression(example.text))),
    expected,
  );
});

Deno.test("exprToText() brackets by precedence and associativity", () => {
  const c = (value: bigint | number): Expr => constant(value);
  const cases: [Expr, string][] = [
    [binary(c(2n), "-", binary(c(3n), "-", c(4n))), "2 - (3 - 4)"],
    [binary(binary(c(2n), "-", c(3n)), "-", c(4n)), "2 - 3 - 4"],
    [binary(c(2n), "/", binary(c(3n), "*", c(4n))), "2 / (3 * 4)"],
    [binary(binary(c(2n), "+", c(3n)), "%", c(4n)), "(2 + 3) % 4"],
    [binary(c(2n), "**", binary(c(3n), "**", c(2n))), "2 ** 3 ** 2"],
    [binary(binary(c(2n), "**", c(3n)), "**", c(2n)), "(2 ** 3) ** 2"],
    [binary(c(2n), "**", unary("-", c(1n))), "2 ** -(1)"],
    [binary(c(2n), "**", c(-1n)), "2 ** -1"],
    [binary(c(-2n), "**", c(2n)), "(-2) ** 2"],
    [binary(unary("-", c(2n)), "**", c(2n)), "(-(2)) ** 2"],
    [binary(c(2n), "*", c(-3n)), "2 * -3"],
    [binary(c(2n), "-", unary("-", named("PI"))), "2 - -pi"],
  ];
  for (const [expr, text] of cases) assert.equal(exprToText(expr), text);
});

Deno.test("exprToText() keeps a unary minus on a number apart from a negative number", () => {
  assert.equal(exprToText(unary("-", constant(1n))), "-(1)");
  assert.equal(exprToText(constant(-1n)), "-1");
  assert.equal(exprToText(unary("-", constant(-1n))), "-(-1)");
  assert.equal(exprToText(unary("-", constant(Infinity))), "-(inf)");
  assert.equal(exprToText(constant(-Infinity)), "-inf");
  assert.equal(exprToText(unary("-", constant(true))), "-True");
  assert.equal(exprToText(unary("+", constant(1n))), "+1");
  assert.equal(exprToText(unary("-", binary(constant(2n), "**", constant(2n)))), "-(2 ** 2)");
});

Deno.test("exprToText() writes numbers, names and calls as Python reads them", () => {
  assert.equal(exprToText(constant(1e20)), "1e+20");
  assert.equal(exprToText(constant(3)), "3.0");
  assert.equal(exprToText(constant(NaN)), "nan");
  assert.equal(exprToText(constant(-0)), "-0.0");
  assert.equal(exprToText(named("TAU")), "tau");
  assert.equal(exprToText(call("max", [])), "max()");
  const huge = 10n ** 5000n + 1n;
  assert.equal(exprToText(constant(huge)), `0x${huge.toString(16)}`);
  assert.equal(exprToText(constant(-huge)), `-0x${huge.toString(16)}`);
  assert.deepEqual(parseExpression(exprToText(constant(-huge))), constant(-huge));
});

Deno.test(`parseExpression(exprToText(e)) builds e again (3,000 random trees, seed ${SEED})`, () => {
  const rng = new Rng(SEED);
  const states = [randomState(rng), randomState(rng)];
  for (let i = 0; i < 3000; i++) {
    const expr = randomExpr(rng, 1 + rng.int(7), states);
    const text = exprToText(expr);
    assert.deepEqual(exprToJson(parseExpression(text)), exprToJson(withoutStates(expr)), text);
  }
});

Deno.test(`Python's own parser reads exprToText(e) as e (500 random trees, seed ${SEED + 1})`, async () => {
  const rng = new Rng(SEED + 1);
  const states = [randomState(rng)];
  const exprs = Array.from({ length: 500 }, () => randomExpr(rng, 1 + rng.int(6), states));
  const texts = exprs.map(exprToText);
  const parsed = await oracleParse(texts);
  exprs.forEach((expr, i) =>
    assert.deepEqual(parsed[i], exprToJson(withoutStates(expr)), texts[i])
  );
});
