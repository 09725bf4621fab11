/**
 * The error classes the CLI turns into exit codes. Anything else that reaches
 * `main.ts` is a bug and is rethrown.
 *
 * @module
 */

/** Exit codes shared by every subcommand. */
export const ExitCode = {
  /** Everything worked. */
  Ok: 0,
  /** The peer answered with an error (client), or a check failed. */
  Failure: 1,
  /** Bad command line or expression. */
  Usage: 2,
  /** The connection failed or the peer broke the protocol. */
  Connection: 3,
  /** Interrupted by the user (Ctrl-C at the interactive prompt): 128 + SIGINT, as shells report it. */
  Interrupted: 130,
} as const;

/** One of {@linkcode ExitCode}'s values. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];

/** The base of calcnet's own errors: a one-line message and an exit code. */
export abstract class CalcnetError extends Error {
  /** The exit code the CLI ends with. */
  abstract readonly exitCode: ExitCode;
}

/** A bad command line, flag value or expression text. */
export class UsageError extends CalcnetError {
  /** The exit code: {@linkcode ExitCode}.Usage. */
  readonly exitCode: ExitCode = ExitCode.Usage;
  /** The class name, as messages and logs show it. */
  override name: string = "UsageError";
}

/**
 * A permission Deno was not given (`--allow-net`, `--allow-run`, …): how the
 * program was run, like a usage error.
 */
export class PermissionError extends CalcnetError {
  /** How it was run was wrong: {@linkcode ExitCode.Usage}. */
  readonly exitCode: ExitCode = ExitCode.Usage;
  /** The class's name, for messages. */
  override name = "PermissionError";
}

/** A peer that broke the protocol (bad header, bad pickle, wrong frame). */
export class ProtocolError extends CalcnetError {
  /** The exit code: {@linkcode ExitCode}.Connection. */
  readonly exitCode: ExitCode = ExitCode.Connection;
  /** The class name, as messages and logs show it. */
  override name: string = "ProtocolError";
}

/** A connection that could not be made, was refused, timed out or broke. */
export class ConnectionError extends CalcnetError {
  /** The exit code: {@linkcode ExitCode}.Connection. */
  readonly exitCode: ExitCode = ExitCode.Connection;
  /** The class name, as messages and logs show it. */
  override name: string = "ConnectionError";
}

/** A peer that did not connect or answer in time (callers tell it from other failures). */
export class ConnectionTimeoutError extends ConnectionError {
  /** The class name, as messages and logs show it. */
  override name: string = "ConnectionTimeoutError";
}
