import assert from "node:assert/strict";
import { freshRandomState, withRandomState } from "../src/calc/random_state.ts";
import { parseExpression } from "../src/calc/parser.ts";
import type { Expr, FunctionCallExpr } from "../src/calc/expr.ts";

function randCalls(expr: Expr): FunctionCallExpr[] {
  switch (expr.kind) {
    case "constant":
    case "named":
      return [];
    case "unary":
      return randCalls(expr.operand);
    case "binary":
      return [...randCalls(expr.left), ...randCalls(expr.right)];
    case "call":
      return [...(expr.name === "rand" ? [expr] : []), ...expr.args.flatMap(randCalls)];
  }
}

Deno.test("freshRandomState() is a state CPython's setstate accepts in shape", () => {
  const a = freshRandomState(), b = freshRandomState();
  assert.equal(a.words.length, 624);
  assert.equal(a.index, 624);
  assert.equal(a.gauss, null);
  assert.notDeepEqual(a.words, b.words);
});

Deno.test("withRandomState() binds every rand call of a tree to one shared state", () => {
  const state = freshRandomState();
  const expr = withRandomState(parseExpression("rand(1, 2) + max(rand(3, 4), 5)"), state);
  const calls = randCalls(expr);
  assert.equal(calls.length, 2);
  for (const call of calls) assert.equal(call.random, state);
});

Deno.test("withRandomState() returns a tree without rand unchanged", () => {
  const expr = parseExpression("max(2, 3) + 3");
  assert.equal(withRandomState(expr, freshRandomState()), expr);
});
