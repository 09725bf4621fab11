/**
 * The course's six example expressions (docs/PROTOCOL.md §8) and the results the
 * reference server answers for them.
 *
 * @module
 */

/** One course example: the text to type and the result's `repr`. */
export interface CourseExample {
  /** The expression as the course writes it; `parseExpression` builds the course's tree. */
  readonly text: string;
  /** The result as the reference prints it. */
  readonly expected: string;
}

/**
 * The six examples, in the course's order.
 *
 * @example
 * ```ts
 * COURSE_EXAMPLES[1]; // { text: "max(2, 3) + 3", expected: "6" }
 * ```
 */
export const COURSE_EXAMPLES: readonly CourseExample[] = [
  {
    text: "(sin(max(2, 3 * 4, 5, 6 * ((7 * 8) / 9), 10 / 11)) / 12) * 13",
    expected: "-0.38748277824137206",
  },
  { text: "max(2, 3) + 3", expected: "6" },
  { text: "3 + ((4 * 2) / ((1 - 5) ** (2 ** 3)))", expected: "3.0001220703125" },
  { text: "((1 + 2) ** (3 * 4)) / (5 * 6)", expected: "17714.7" },
  { text: "-(-((1 + (2 + 3)) ** -(4 + 5)))", expected: "9.92290301275212e-08" },
  { text: "max(2, (3 * 4), log(e), (6 * 7), (9 / 8))", expected: "42" },
];
