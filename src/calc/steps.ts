/**
 * The computation steps as the course's server writes them (docs/PROTOCOL.md §5),
 * and as its client prints them (§8).
 *
 * @module
 */

import type { Expr, PyNumber } from "./expr.ts";
import type { FlatTree } from "./flat_tree.ts";
import { formatNumber } from "./number_format.ts";

/** A step being assembled: the text before and after the node on the path, and the length counted. */
interface Walk {
  prefix: string;
  suffix: string;
  length: number;
  /** Whether the step has a doubled pair `((…))` for {@linkcode removeBrackets} to delete. */
  doubled: boolean;
}

/**
 * Renders the steps of one evaluated tree as the course server's recursion
 * produces them (docs/PROTOCOL.md §5): one step per operator or call, taken just
 * before that node is applied, then the value.
 *
 * The step of node `m` is the whole expression, fully bracketed — binary
 * `(l op r)`, unary `op(x)`, call `name(a, b)` — in which, along the path
 * from the root to `m`, every operand left of the path is a value, every
 * operand right of it is the original sub-tree (named constants by name), and
 * `m` itself is applied to its operands' values; then it is passed through
 * {@linkcode removeBrackets}.
 *
 * A step is assembled from pieces computed once per tree: the text of every
 * original sub-tree, built bottom-up, and the printed value of every node.
 * Per step, only the path from the root to the node is walked; the sub-trees
 * beside it are reused as they are. The walk also tells from the tree
 * whether the step has a doubled pair `((…))` (only a unary or a call of
 * one argument around a bracketed binary makes one): most steps have none,
 * and then removing brackets only drops the outer pair of a binary root,
 * without reading the text.
 */
export class StepRenderer {
  readonly #tree: FlatTree;
  readonly #values: readonly PyNumber[];
  /** The printed value of each node, computed at most once. */
  readonly #texts: (string | undefined)[];
  /** Each original sub-tree's text: constants as printed, named constants by name. */
  readonly #original: string[];
  /**
   * The characters of constants in each sub-tree: what a step counts against
   * its limit for an original sub-tree (names and the rest are a few
   * characters per node, and the node count is bounded).
   */
  readonly #counts: number[];
  /** Whether each original sub-tree's text has a doubled pair `((…))`. */
  readonly #doubled: boolean[];
  /** The constants alone are longer than any step may be: every step fails. */
  readonly #tooLong: boolean;

  /**
   * `values[i]` is the value of `tree.nodes[i]` (all nodes evaluated);
   * `maxLength` bounds the constants' text, so that a tree whose constants
   * are too long to print fails without formatting all of them.
   */
  constructor(tree: FlatTree, values: readonly PyNumber[], maxLength: number) {
    const n = tree.nodes.length;
    this.#tree = tree;
    this.#values = values;
    // Plain arrays: allocating small typed arrays costs more than using them saves.
    this.#texts = new Array(n);
    this.#original = new Array(n);
    this.#counts = new Array(n);
    this.#doubled = new Array(n);
    let total = 0;
    let tooLong = false;
    for (let j = 0; j < n && !tooLong; j++) {
      total += this.#describe(j);
      // Some step prints every constant: past the limit, it fails.
      tooLong = total > maxLength;
    }
    this.#tooLong = tooLong;
  }

  /**
   * Sets the original text of sub-tree `j`, its constants' characters and
   * whether it has a doubled pair, from its operands'; returns the
   * characters of a constant (0 for any other node).
   */
  #describe(j: number): number {
    const { nodes, sizes } = this.#tree;
    const original = this.#original;
    const counts = this.#counts;
    const doubled = this.#doubled;
    const node = nodes[j] as Expr;
    switch (node.kind) {
      case "constant": {
        const text = this.#text(j);
        original[j] = text;
        counts[j] = text.length;
        doubled[j] = false;
        return text.length;
      }
      case "named":
        original[j] = node.name;
        counts[j] = 0;
        doubled[j] = false;
        return 0;
      case "unary":
        original[j] = `${node.operator}(` + original[j - 1] + ")";
        counts[j] = counts[j - 1] as number;
        doubled[j] = (nodes[j - 1] as Expr).kind === "binary" || doubled[j - 1] as boolean;
        return 0;
      case "binary": {
        const right = j - 1;
        const left = right - (sizes[right] as number);
        original[j] = "(" + original[left] + ` ${node.operator} ` + original[right] + ")";
        counts[j] = (counts[left] as number) + (counts[right] as number);
        doubled[j] = doubled[left] as boolean || doubled[right] as boolean;
        return 0;
      }
      case "call": {
        let args = ")";
        let count = 0;
        let double = node.args.length === 1 && (nodes[j - 1] as Expr).kind === "binary";
        let child = j - 1;
        for (let k = node.args.length; k > 0; k--) {
          args = (k > 1 ? ", " : "") + original[child] + args;
          count += counts[child] as number;
          double ||= doubled[child] as boolean;
          child -= sizes[child] as number;
        }
        original[j] = `${node.name}(` + args;
        counts[j] = count;
        doubled[j] = double;
        return 0;
      }
    }
  }

  /**
   * The step taken just before node `m` (an operator or a call, in
   * post-order) is applied. Returns undefined when the printed values and
   * constants it shows add up to more than `maxLength` characters.
   */
  render(m: number, maxLength: number): string | undefined {
    if (this.#tooLong) return undefined;
    const nodes = this.#tree.nodes;
    // Walk down from the root to `m`: operands left of the path are values,
    // those right of it original sub-trees.
    const walk: Walk = { prefix: "", suffix: "", length: 0, doubled: false };
    let k = nodes.length - 1;
    while (k > m) {
      const node = nodes[k] as Expr;
      switch (node.kind) {
        case "unary":
          walk.prefix += `${node.operator}(`;
          walk.suffix = ")" + walk.suffix;
          // Its operand is on the path: bracketed if a binary, applied or not.
          walk.doubled ||= (nodes[k - 1] as Expr).kind === "binary";
          k--;
          break;
        case "binary":
          k = this.#stepIntoBinary(node.operator, k, m, walk);
          break;
        case "call":
          k = this.#stepIntoCall(node.name, node.args.length, k, m, walk);
          break;
        default:
          // A leaf has no sub-tree holding `m`: unreachable.
          throw new Error(`node ${k} is not an ancestor of node ${m}`);
      }
    }
    const applied = this.#applied(m);
    if (walk.length + applied.length > maxLength) return undefined;
    // Rendered without a binary root's outer pair: all that removeBrackets()
    // does to a step without a doubled pair is drop it (a step whose root is
    // not a binary starts with a name or a sign, not a pair).
    const text = walk.prefix + applied + walk.suffix;
    if (!walk.doubled) return text;
    return removeBrackets(this.#rootIsBinary() ? "(" + text + ")" : text);
  }

  #rootIsBinary(): boolean {
    const nodes = this.#tree.nodes;
    return (nodes[nodes.length - 1] as Expr).kind === "binary";
  }

  /** Walks from binary node `k` into the operand that holds `m`; returns that operand. */
  #stepIntoBinary(operator: string, k: number, m: number, walk: Walk): number {
    const sizes = this.#tree.sizes;
    const right = k - 1;
    const left = right - (sizes[right] as number);
    // The root's pair is left out (see render()).
    const root = k === sizes.length - 1;
    if (m <= left) {
      if (!root) walk.prefix += "(";
      walk.suffix = ` ${operator} ${this.#original[right]}` + (root ? "" : ")") + walk.suffix;
      walk.length += this.#counts[right] as number;
      walk.doubled ||= this.#doubled[right] as boolean;
      return left;
    }
    const text = this.#text(left);
    walk.prefix += (root ? "" : "(") + `${text} ${operator} `;
    if (!root) walk.suffix = ")" + walk.suffix;
    walk.length += text.length;
    return right;
  }

  /** Walks from call node `k` (of `arity` arguments) into the argument that holds `m`. */
  #stepIntoCall(name: string, arity: number, k: number, m: number, walk: Walk): number {
    const sizes = this.#tree.sizes;
    let child = k - 1;
    let remaining = arity;
    let after = ")";
    while (child - (sizes[child] as number) >= m) {
      after = ", " + this.#original[child] + after;
      walk.length += this.#counts[child] as number;
      walk.doubled ||= this.#doubled[child] as boolean;
      child -= sizes[child] as number;
      remaining--;
    }
    const onPath = child;
    // A lone argument on the path is bracketed if a binary, applied or not.
    walk.doubled ||= arity === 1 && (this.#tree.nodes[onPath] as Expr).kind === "binary";
    let before = "";
    for (remaining--; remaining > 0; remaining--) {
      child -= sizes[child] as number;
      const text = this.#text(child);
      before = text + ", " + before;
      walk.length += text.length;
    }
    walk.prefix += `${name}(` + before;
    walk.suffix = after + walk.suffix;
    return onPath;
  }

  /**
   * Node `m` applied to its operands' values: `(l op r)` (`l op r` at the
   * root, see render()), `op(x)` or `name(a, b)`.
   */
  #applied(m: number): string {
    const node = this.#tree.nodes[m] as Expr;
    const sizes = this.#tree.sizes;
    switch (node.kind) {
      case "unary":
        return `${node.operator}(` + this.#text(m - 1) + ")";
      case "binary": {
        const left = m - 1 - (sizes[m - 1] as number);
        const bare = this.#text(left) + ` ${node.operator} ` + this.#text(m - 1);
        return m === sizes.length - 1 ? bare : "(" + bare + ")";
      }
      case "call": {
        let args = ")";
        let child = m - 1;
        for (let k = node.args.length; k > 0; k--) {
          args = (k > 1 ? ", " : "") + this.#text(child) + args;
          child -= sizes[child] as number;
        }
        return `${node.name}(` + args;
      }
      default:
        throw new Error(`node ${m} is a leaf: it has no step`);
    }
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
 * The course server's bracket removal, quirks included (docs/PROTOCOL.md §5):
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
  const small = n <= SCRATCH_LENGTH;
  // Steps are short and many: reuse buffers instead of allocating per step.
  // Only `closeOf` entries of `(` already paired in this call are read.
  const closeOf = small ? SCRATCH_CLOSE : new Int32Array(n);
  const opens = small ? SCRATCH_OPENS : new Int32Array(n);
  let depth = 0;
  let outer = -1;
  const deletions = small ? SCRATCH_DELETIONS : new Int32Array(n);
  let deletionCount = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 40) {
      opens[depth++] = i;
    } else if (c === 41) {
      // A `)` without its `(` pairs with nothing (our renderings are balanced).
      if (depth === 0) continue;
      const l = opens[--depth] as number;
      closeOf[l] = i;
      if (l === 0) outer = i;
      if (l + 1 < i && text.charCodeAt(l + 1) === 40 && closeOf[l + 1] === i - 1) {
        deletions[deletionCount++] = l;
      }
    }
  }
  if (deletionCount === 0) return outer === n - 1 ? text.slice(1, -1) : text;
  const alive = small ? SCRATCH_ALIVE : new Alive(n);
  alive.reset(n);
  for (let d = 0; d < deletionCount; d++) {
    const l = deletions[d] as number;
    const r = closeOf[l] as number;
    const length = alive.count;
    // Python's s[:l] + s[l + 1:r - 1] + s[r:] on the current string.
    const atRight = r - 1 < length ? alive.position(r - 1) : -1;
    if (l < length) alive.remove(alive.position(l));
    if (atRight >= 0) alive.remove(atRight);
  }
  let out = "";
  let start = 0;
  for (let i = 0; i < n; i++) {
    if (!alive.has(i)) {
      out += text.slice(start, i);
      start = i + 1;
    }
  }
  out += text.slice(start);
  return outer >= 0 && outer === out.length - 1 ? out.slice(1, -1) : out;
}

/**
 * The characters of a string still present after deletions: a Fenwick tree
 * over the original positions, so finding "the character now at position p"
 * takes O(log n) instead of rebuilding the string. One instance serves
 * strings of up to its capacity, one after the other ({@linkcode Alive.reset}).
 */
class Alive {
  readonly #tree: Int32Array;
  readonly #present: Uint8Array;
  #n = 0;
  #top = 0;
  count = 0;

  constructor(capacity: number) {
    this.#tree = new Int32Array(capacity + 1);
    this.#present = new Uint8Array(capacity);
  }

  /** Starts over with a string of `n` characters, all present. */
  reset(n: number): void {
    // With every character present, node i covers i & -i of them.
    for (let i = 0; i <= n; i++) this.#tree[i] = i & -i;
    this.#present.fill(1, 0, n);
    let top = 1;
    while (top * 2 <= n) top *= 2;
    this.#n = n;
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
      if (next <= this.#n && (this.#tree[next] as number) < rest) {
        index = next;
        rest -= this.#tree[next] as number;
      }
    }
    return index;
  }

  remove(i: number): void {
    this.#present[i] = 0;
    this.count--;
    for (let j = i + 1; j <= this.#n; j += j & -j) {
      this.#tree[j] = (this.#tree[j] as number) - 1;
    }
  }
}

/** The longest text {@linkcode removeBrackets} handles with the shared buffers. */
const SCRATCH_LENGTH = 1024;
const SCRATCH_CLOSE = new Int32Array(SCRATCH_LENGTH);
const SCRATCH_OPENS = new Int32Array(SCRATCH_LENGTH);
const SCRATCH_DELETIONS = new Int32Array(SCRATCH_LENGTH);
const SCRATCH_ALIVE = new Alive(SCRATCH_LENGTH);

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
