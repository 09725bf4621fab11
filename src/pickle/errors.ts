/**
 * The errors of the pickle layer.
 *
 * @module
 */

/**
 * Bytes that are not a pickle calcnet will unpickle (truncated, an opcode or
 * a global outside the whitelist, a limit exceeded), or a value the pickler
 * cannot write. The message is one line.
 */
export class PickleError extends Error {
  /** The class name, as `Error` names print. */
  override name = "PickleError";
}

/**
 * A pickle that unpickles but is not an expression: another kind of object,
 * no data at all, or an expression object whose attributes are not those of
 * the course's classes. The course server answers it with
 * `ValueError('Received data is not an Expression2')`, while a plain
 * {@linkcode PickleError} gets `'Received data could not be deserialized'`;
 * test for this subclass first.
 */
export class NotAnExpressionError extends PickleError {
  /** The class name, as `Error` names print. */
  override name = "NotAnExpressionError";
}

/**
 * A 200 response whose result is a Python `complex` (the Python server
 * answers `(-8) ** (1 / 3)` that way). calcnet has no complex numbers, so the
 * response cannot be decoded; the parts are kept for the message a client
 * prints.
 */
export class ComplexResultError extends PickleError {
  /** The class name, as `Error` names print. */
  override name = "ComplexResultError";
  /** The real part. */
  readonly real: number;
  /** The imaginary part. */
  readonly imag: number;

  /** A complex result of parts `real` and `imag`. */
  constructor(real: number, imag: number) {
    super(
      `the result is a complex number (real ${real}, imaginary ${imag}), not an int or a float`,
    );
    this.real = real;
    this.imag = imag;
  }
}
