/**
 * The computation steps as the course's server writes them (PROTOCOL §5),
 * and as its client prints them (§8).
 *
 * @module
 */

import type { PyNumber } from "./expr.ts";
import type { FlatTree } from "./flat_tree.ts";
import { formatNumber } from "./number_format.ts";

/**
 * Renders the intermediate forms of one evaluated tree. Each step is the
 * whole expression, fully bracketed — binary `(l op r)`, unary `op(x)`, call
 * `name(a, b)` — with the nodes evaluated so far replaced by their values,
 * then passed through {@linkcode removeBrackets}.
 */
export class StepRenderer {
  readonly #tree: FlatTree;
  readonly #values: readonly PyNumber[];
  /** The printed value of each node, computed at most once. */
  readonly #texts: (string | undefined)[];

  /** `values[i]` is the value of `tree.nodes[i]` (all nodes evaluated). */
  constructor(tree: FlatTree, values: readonly PyNumber[]) {
    this.#tree = tree;
    this.#values = values;
    this.#texts = new Array(values.length);
  }

  /**
   * The step after the nodes `0..evaluated` (in post-order) have become
   * values. With `names`, a named constant not yet evaluated prints as its
   * name (`E`); otherwise as its value. Returns undefined as soon as the
   * rendering grows beyond `maxLength` characters.
   */
  render(evaluated: number, names: boolean, maxLength: number): string | undefined {
    const { nodes, sizes } = this.#tree;
    const parts: string[] = [];
    let length = 0;
    const stack: (number | string)[] = [nodes.length - 1];
    while (stack.length > 0) {
      const item = stack.pop() as number | string;
      if (typeof item === "string") {
        parts.push(item);
        continue;
      }
      const node = nodes[item];
      if (node === undefined || item <= evaluated || node.kind === "constant") {
        const text = this.#text(item);
        length += text.length;
        // Counting values suffices to stop early: the rest is a few
        // characters per node, and the node count is bounded.
        if (length > maxLength) return undefined;
        parts.push(text);
        continue;
      }
      switch (node.kind) {
        case "named":
          parts.push(names ? node.name : this.#text(item));
          break;
        case "unary":
          stack.push(")", item - 1, `${node.operator}(`);
          break;
        case "binary":
          stack.push(
            ")",
            item - 1,
            ` ${node.operator} `,
            item - 1 - (sizes[item - 1] as number),
            "(",
          );
          break;
        case "call": {
          stack.push(")");
          let child = item - 1;
          for (let k = node.args.length; k > 0; k--) {
            stack.push(child);
            if (k > 1) stack.push(", ");
            child -= sizes[child] as number;
          }
          stack.push(`${node.name}(`);
          break;
        }
      }
    }
    return removeBrackets(parts.join(""));
  }

  #text(index: number): string {
    let text = this.#texts[index];
    if (text === undefined) {
      text = formatNumber(this.#values[index] as PyNumber);
      this.#texts[index] = text;
    }
    return text;
  }
}

/**
 * The course server's bracket removal, quirks included (PROTOCOL §5):
 *
 * 1. pair every `(` with its `)`, in the order the `)` appear;
 * 2. for each pair (l, r) such that (l + 1, r - 1) is also a pair, delete
 *    the characters *now* at positions l and r - 1 — positions of the
 *    original string applied to the string as edited so far, so after a
 *    first deletion later ones may hit other characters, as the reference's
 *    do (out-of-range positions delete nothing, like Python slicing);
 * 3. if the pair that starts at 0 closes at the current last position, drop
 *    the first and last characters.
 *
 * @example
 * ```ts
 * removeBrackets("(3 + ((4 * 2) / 5))"); // "3 + ((4 * 2) / 5)"
 * removeBrackets("-(-((6 ** -(9))))"); // "-(-(6 ** -(9)))"
 * removeBrackets("(-((1 + 2)) + -((3 + 4)))"); // "(-(1 + 2) + -(( + 4))"
 * ```
 */
export function removeBrackets(text: string): string {
  const n = text.length;
  const closeOf = new Int32Array(n).fill(-1);
  const opens: number[] = [];
  const deletions: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 40) {
      opens.push(i);
    } else if (c === 41) {
      // A `)` without its `(` pairs with nothing (our renderings are balanced).
      const l = opens.pop();
      if (l === undefined) continue;
      closeOf[l] = i;
      if (l + 1 < i && closeOf[l + 1] === i - 1) deletions.push(l);
    }
  }
  const outer = n > 0 ? closeOf[0] as number : -1;
  if (deletions.length === 0) return outer === n - 1 ? text.slice(1, -1) : text;
  const alive = new Alive(n);
  for (const l of deletions) {
    const r = closeOf[l] as number;
    const length = alive.count;
    // Python's s[:l] + s[l + 1:r - 1] + s[r:] on the current string.
    const atRight = r - 1 < length ? alive.position(r - 1) : -1;
    if (l < length) alive.remove(alive.position(l));
    if (atRight >= 0) alive.remove(atRight);
  }
  let out = "";
  for (let i = 0; i < n; i++) if (alive.has(i)) out += text[i];
  return outer >= 0 && outer === out.length - 1 ? out.slice(1, -1) : out;
}

/**
 * The characters of a string still present after deletions: a Fenwick tree
 * over the original positions, so finding "the character now at position p"
 * takes O(log n) instead of rebuilding the string.
 */
class Alive {
  readonly #tree: Int32Array;
  readonly #present: Uint8Array;
  readonly #top: number;
  count: number;

  constructor(n: number) {
    // With every character present, node i covers i & -i of them.
    this.#tree = new Int32Array(n + 1).map((_, i) => i & -i);
    this.#present = new Uint8Array(n).fill(1);
    let top = 1;
    while (top * 2 <= n) top *= 2;
    this.#top = top;
    this.count = n;
  }

  has(i: number): boolean {
    return this.#present[i] === 1;
  }

  /** The original position of the character now at `p` (0-based, p < count). */
  position(p: number): number {
    let index = 0;
    let rest = p + 1;
    for (let step = this.#top; step > 0; step >>= 1) {
      const next = index + step;
      if (next < this.#tree.length && (this.#tree[next] as number) < rest) {
        index = next;
        rest -= this.#tree[next] as number;
      }
    }
    return index;
  }

  remove(i: number): void {
    this.#present[i] = 0;
    this.count--;
    for (let j = i + 1; j < this.#tree.length; j += j & -j) {
      this.#tree[j] = (this.#tree[j] as number) - 1;
    }
  }
}

/**
 * Prints steps as the course's client does: `first = second`, then every
 * further step on its own line, indented by the length of the first, as
 * ` = step`. No steps print as the empty string.
 *
 * @example
 * ```ts
 * formatSteps(["max(2, 3) + 3", "3 + 3", "6"]);
 * // "max(2, 3) + 3 = 3 + 3\n              = 6"
 * ```
 */
export function formatSteps(steps: readonly string[]): string {
  const [first, second, ...rest] = steps;
  if (first === undefined) return "";
  if (second === undefined) return first;
  const indent = " ".repeat(first.length);
  return [`${first} = ${second}`, ...rest.map((step) => `${indent} = ${step}`)].join("\n");
}
