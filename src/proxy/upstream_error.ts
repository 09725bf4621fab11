/**
 * Why the proxy got no usable answer from the server.
 *
 * @module
 */

/**
 * The kinds of failure: the server refused the connection; it could not be
 * reached at all (its name does not resolve, no route, no descriptors
 * left); it did not answer in time; too many requests already wait for a
 * connection to it; it closed the connection; or it broke the protocol.
 */
export type UpstreamFailure =
  | "refused"
  | "unreachable"
  | "timeout"
  | "busy"
  | "broken"
  | "invalid";

/** The server could not be reached, did not answer in time, or answered nonsense. */
export class UpstreamError extends Error {
  /** The class name, as messages and logs show it. */
  override name: string = "UpstreamError";
  /** What went wrong. */
  readonly failure: UpstreamFailure;

  /** An error of kind `failure`, described by `message`. */
  constructor(failure: UpstreamFailure, message: string) {
    super(message);
    this.failure = failure;
  }
}
