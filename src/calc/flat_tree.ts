/**
 * An expression tree laid out in evaluation order, so that evaluating and
 * rendering need no recursion however deep the tree is.
 *
 * @module
 */

import type { Expr } from "./expr.ts";
import { PyException } from "./py_exception.ts";

/**
 * The nodes of a tree in post-order (each node after its operands, operands
 * left to right): the order in which Python's recursive evaluation finishes
 * them. A sub-tree that occurs twice in the input is laid out twice.
 */
export interface FlatTree {
  /** The nodes; the root is last. */
  readonly nodes: readonly Expr[];
  /** `sizes[i]`: how many nodes the sub-tree ending at `i` has. */
  readonly sizes: readonly number[];
}

/**
 * Lays out `expr` in post-order, refusing trees of more than `maxNodes`
 * nodes (shared sub-trees counted each time they occur, so a small pickle
 * that shares sub-trees cannot ask for an exponential amount of work).
 */
export function flatten(expr: Expr, maxNodes: number): FlatTree {
  // Pre-order with the operands visited right to left is post-order reversed.
  const nodes: Expr[] = [];
  const stack: Expr[] = [expr];
  while (stack.length > 0) {
    const node = stack.pop() as Expr;
    nodes.push(node);
    if (nodes.length > maxNodes) {
      throw new PyException("OverflowError", [
        `expression too large: more than ${maxNodes} nodes (calcnet limit)`,
      ]);
    }
    switch (node.kind) {
      case "binary":
        stack.push(node.left, node.right);
        break;
      case "unary":
        stack.push(node.operand);
        break;
      case "call":
        for (const arg of node.args) stack.push(arg);
        break;
    }
  }
  nodes.reverse();
  // A plain array: allocating a small typed array costs more than using it saves.
  const sizes: number[] = new Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    let size = 1;
    let child = i - 1;
    for (let k = operandCount(nodes[i] as Expr); k > 0; k--) {
      size += sizes[child] as number;
      child -= sizes[child] as number;
    }
    sizes[i] = size;
  }
  return { nodes, sizes };
}

/** How many operands a node has. */
function operandCount(node: Expr): number {
  switch (node.kind) {
    case "binary":
      return 2;
    case "unary":
      return 1;
    case "call":
      return node.args.length;
    default:
      return 0;
  }
}
