/**
 * The `random.Random` state a `rand` request carries (docs/PROTOCOL.md §3.1).
 *
 * @module
 */

import { call, type Expr, MT_WORDS, type RandomState } from "./expr.ts";

/**
 * A fresh state, as a newly seeded CPython `Random` has: 624 random words
 * and an exhausted index, so the first draw regenerates the block.
 */
export function freshRandomState(): RandomState {
  const words = crypto.getRandomValues(new Uint32Array(MT_WORDS));
  // CPython's init_by_array always sets the first word's top bit.
  words[0] = 0x80000000;
  return { words, index: MT_WORDS, gauss: null };
}

/**
 * `expr` with every `rand` call bound to `state` (all calls of one tree
 * share one generator, as in Python); other nodes are kept as they are.
 *
 * @example
 * ```ts
 * const expr = withRandomState(parseExpression("rand(1, 2) + rand(1, 2)"), freshRandomState());
 * ```
 */
export function withRandomState(expr: Expr, state: RandomState): Expr {
  switch (expr.kind) {
    case "constant":
    case "named":
      return expr;
    case "unary": {
      const operand = withRandomState(expr.operand, state);
      return operand === expr.operand ? expr : { ...expr, operand };
    }
    case "binary": {
      const left = withRandomState(expr.left, state);
      const right = withRandomState(expr.right, state);
      return left === expr.left && right === expr.right ? expr : { ...expr, left, right };
    }
    case "call": {
      const args = expr.args.map((arg) => withRandomState(arg, state));
      if (expr.name === "rand") return call("rand", args, state);
      const changed = args.some((arg, i) => arg !== expr.args[i]);
      return changed ? { ...expr, args } : expr;
    }
  }
}
