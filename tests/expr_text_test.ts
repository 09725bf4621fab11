import assert from "node:assert/strict";
import { binary, call, constant, type Expr, named, unary } from "../src/calc/expr.ts";
import { exprText } from "../src/calc/expr_text.ts";
import { parseExpression } from "../src/calc/parser.ts";
import { COURSE_EXAMPLES } from "../src/calc/course_examples.ts";
import {
  exprToJson,
  randomExpr,
  randomState,
  randomStepsExpr,
  Rng,
} from "./helpers/calc_oracle.ts";

/** A tree's oracle JSON (floats by their bits) without `rand`'s random states, which text cannot carry. */
function comparable(expr: Expr): string {
  return JSON.stringify(exprToJson(expr), (key, value) => key === "state" ? undefined : value);
}

/** Asserts that the text of `expr` parses back to `expr`. */
function assertRoundTrip(expr: Expr): void {
  const text = exprText(expr);
  assert.equal(comparable(parseExpression(text)), comparable(expr), text);
}

Deno.test("exprText() writes what users type, with the fewest brackets", () => {
  const cases: [typed: string, written: string][] = [
    ["max(2,3)+3", "max(2, 3) + 3"],
    ["(2-3)-4", "2 - 3 - 4"],
    ["2-(3-4)", "2 - (3 - 4)"],
    ["2*(3+4)", "2 * (3 + 4)"],
    ["(2*3)+4", "2 * 3 + 4"],
    ["2/(3*4)", "2 / (3 * 4)"],
    ["2**3**2", "2 ** 3 ** 2"],
    ["(2**3)**2", "(2 ** 3) ** 2"],
    ["-2**2", "-2 ** 2"],
    ["(-2)**2", "(-2) ** 2"],
    ["2**-1", "2 ** -1"],
    ["-(5)", "-(5)"],
    ["--5", "-(-5)"],
    ["+-5", "+(-5)"],
    ["-(-pi)", "-(-pi)"],
    ["-(1+2)*3", "-(1 + 2) * 3"],
    ["PI*TAU+E", "pi * tau + e"],
    ["sqrt(-1)", "sqrt(-1)"],
    ["-inf+nan", "-inf + nan"],
    ["1e20/3", "1e+20 / 3"],
    ["-0.0", "-0.0"],
    ["-True", "-True"],
    ["rand(1,10)", "rand(1, 10)"],
    ["max()", "max()"],
  ];
  for (const [typed, written] of cases) {
    assert.equal(exprText(parseExpression(typed)), written, typed);
    assert.equal(comparable(parseExpression(written)), comparable(parseExpression(typed)), typed);
  }
});

Deno.test("exprText() brackets built trees the parser could not read otherwise", () => {
  const cases: [tree: Expr, written: string][] = [
    [unary("-", constant(5n)), "-(5)"],
    [unary("-", constant(Infinity)), "-(inf)"],
    [binary(constant(-2.5), "**", constant(2n)), "(-2.5) ** 2"],
    [binary(unary("-", named("PI")), "**", constant(2n)), "(-pi) ** 2"],
    [binary(constant(1n), "-", unary("-", constant(1n))), "1 - -(1)"],
    [binary(constant(1n), "%", binary(constant(2n), "**", constant(3n))), "1 % 2 ** 3"],
    [call("pow", [binary(constant(1n), "+", constant(2n)), constant(true)]), "pow(1 + 2, True)"],
  ];
  for (const [tree, written] of cases) {
    assert.equal(exprText(tree), written);
    assertRoundTrip(tree);
  }
});

Deno.test("exprText() writes ints beyond the parser's 4300 digits in hex", () => {
  const huge = 10n ** 5000n + 7n;
  assert.match(exprText(constant(huge)), /^0x[0-9a-f]+$/);
  assert.match(exprText(constant(-huge)), /^-0x[0-9a-f]+$/);
  assertRoundTrip(binary(constant(-huge), "+", constant(10n ** 4299n)));
});

Deno.test("exprText() text parses back to the same tree: course examples and 3,000 random trees", () => {
  for (const example of COURSE_EXAMPLES) assertRoundTrip(parseExpression(example.text));
  const rng = new Rng(2024);
  const states = [randomState(rng)];
  for (let i = 0; i < 1500; i++) {
    assertRoundTrip(randomExpr(rng, 1 + rng.int(7), states));
    assertRoundTrip(randomStepsExpr(rng, 1 + rng.int(7)));
  }
});

Deno.test("exprText() cuts text beyond maxChars off with an ellipsis", () => {
  let tree: Expr = constant(123456789n);
  for (let i = 0; i < 20; i++) tree = binary(tree, "*", tree);
  const text = exprText(tree, 40);
  assert.equal(text.length, 41);
  assert.ok(text.endsWith("…"));
  assert.equal(text.slice(0, 40), "123456789 * 123456789 * (123456789 * 123");
  assert.equal(exprText(constant(1n), 1), "1");
});
