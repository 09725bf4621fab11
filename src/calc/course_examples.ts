/**
 * The course's six example expressions (docs/PROTOCOL.md §8) and the results the
 * reference server answers for them.
 *
 * @module
 */

/** One of the course's example expressions and the result the reference server answers. */
export interface CourseExample {
  /** Its number in the course's list, 1 to 6. */
  readonly number: number;
  /** The expression as the course writes it; `parseExpression` builds the course's tree. */
  readonly text: string;
  /** Python's `repr()` of the result, as the reference server answers it. */
  readonly repr: string;
}

/**
 * The six examples, in the course's order.
 *
 * @example
 * ```ts
 * COURSE_EXAMPLES[1]; // { number: 2, text: "max(2, 3) + 3", repr: "6" }
 * ```
 */
export const COURSE_EXAMPLES: readonly CourseExample[] = [
  {
    number: 1,
    text: "(sin(max(2, 3 * 4, 5, 6 * ((7 * 8) / 9), 10 / 11)) / 12) * 13",
    repr: "-0.38748277824137206",
  },
  { number: 2, text: "max(2, 3) + 3", repr: "6" },
  { number: 3, text: "3 + ((4 * 2) / ((1 - 5) ** (2 ** 3)))", repr: "3.0001220703125" },
  { number: 4, text: "((1 + 2) ** (3 * 4)) / (5 * 6)", repr: "17714.7" },
  { number: 5, text: "-(-((1 + (2 + 3)) ** -(4 + 5)))", repr: "9.92290301275212e-08" },
  { number: 6, text: "max(2, (3 * 4), log(e), (6 * 7), (9 / 8))", repr: "42" },
];
