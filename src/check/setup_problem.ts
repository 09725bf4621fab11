/**
 * What keeps a run from checking what it was asked to check (a server that
 * does not stop when told to): reported once, with a hint, and not as the
 * failure of every case that depends on it.
 *
 * @module
 */

/** Thrown by an action step; the runner reports it and runs no further steps. */
export class SetupProblem extends Error {
  /** The class's name, for messages. */
  override name = "SetupProblem";
  /** What to do about it. */
  readonly hint: string;

  /** A problem described by `message`, with `hint` on what to do about it. */
  constructor(message: string, hint: string) {
    super(message);
    this.hint = hint;
  }
}

/** A setup problem as a report shows it. */
export interface SetupProblemReport {
  /** What went wrong. */
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
  /** The cases that were therefore not run. */
  readonly skipped: number;
}
