/**
 * How the benchmark's own entry points (`suite_main.ts`, `echo_main.ts`) run
 * a command: as `calcnet` does, a mistake on the command line is one line
 * and exit code 2, not a stack trace.
 *
 * @module
 */

import { CalcnetError, type ExitCode } from "../base/mod.ts";
import type { Command } from "../term/mod.ts";

/**
 * Runs `command` with `argv`; returns its exit code, or the code of a
 * calcnet error it threw after printing that error as one line.
 */
export async function runScript(command: Command, argv: readonly string[]): Promise<ExitCode> {
  try {
    return await command.run(argv);
  } catch (error: unknown) {
    if (!(error instanceof CalcnetError)) throw error;
    console.error(`${command.spec.name}: ${error.message}`);
    return error.exitCode;
  }
}
