/**
 * What a check case sends and where, and the finding it throws when the
 * peer does not behave as expected.
 *
 * @module
 */

/** What a case sent last before it failed: a description and the bytes. */
export interface Sent {
  /** A short description, e.g. "request: max(2, 3) + 3, S=1 C=1 max-age 65535". */
  readonly description: string;
  /** The bytes written to the socket. */
  readonly bytes: Uint8Array;
}

/** A target under test. */
export interface Target {
  /** Host name or address. */
  readonly hostname: string;
  /** TCP port. */
  readonly port: number;
}

/** "host:port" of a target, for messages. */
export function targetName(target: Target): string {
  return target.hostname.includes(":")
    ? `[${target.hostname}]:${target.port}`
    : `${target.hostname}:${target.port}`;
}

/**
 * A case's finding that the peer did not behave as expected. Cases throw
 * it; the runner turns it into a FAIL or a WARN. `sent` overrides what the
 * runner saw the case send last (a case that failed while preparing, in an
 * earlier phase, carries what it sent then).
 */
export class CaseFailure extends Error {
  /** The class name, as messages and logs show it. */
  override name: string = "CaseFailure";
  /** What the protocol (or the course's implementation) does. */
  readonly expected: string;
  /** What came back. */
  readonly got: string;
  /** What was sent, when not the last thing the case's context recorded. */
  readonly sent?: Sent;

  /** A finding: `expected` against what was `got`, and optionally what was sent. */
  constructor(expected: string, got: string, sent?: Sent) {
    super(`expected ${expected}, got ${got}`);
    this.expected = expected;
    this.got = got;
    if (sent !== undefined) this.sent = sent;
  }
}
