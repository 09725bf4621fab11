/**
 * The work meter's calibration table (see `meter_calibration.ts` and
 * `src/calc/meter.ts`): every kind of work, as much as the limits allow,
 * its units and its time, printed as Markdown. Run it as the server runs:
 *
 * ```sh
 * deno run --v8-flags=--expose-gc,--max-semi-space-size=2,--heap-growing-percent=10 \
 *   src/bench/meter_calibration_main.ts [--rounds N] [--runs N]
 * ```
 *
 * Flags: `--rounds N` (rounds over all cases, default 5), `--runs N`
 * (timed runs of a case per round, default 3); `--help` lists them. It
 * takes a minute or two.
 *
 * @module
 */

import { ExitCode } from "../base/mod.ts";
import { type Command, command, type CommandSpec, flag, type ParsedArgs } from "../term/mod.ts";
import { calibrate, calibrationCases, calibrationTable } from "./meter_calibration.ts";
import { runScript } from "./script_main.ts";

/** The most rounds or runs a calibration may ask for. */
const MAX_REPEATS = 100;

/** Flags of the calibration. */
export const CALIBRATION_FLAGS = {
  rounds: flag.integer("rounds over all cases", { min: 1, max: MAX_REPEATS, default: 5 }),
  runs: flag.integer("timed runs of a case per round", { min: 1, max: MAX_REPEATS, default: 3 }),
} as const;

/** The calibration's interface. */
export const CALIBRATION_SPEC: CommandSpec<typeof CALIBRATION_FLAGS> = {
  name: "meter_calibration_main.ts",
  summary: "the work meter's calibration table, as Markdown",
  flags: CALIBRATION_FLAGS,
  examples: [
    "deno run --v8-flags=--expose-gc,--max-semi-space-size=2,--heap-growing-percent=10 " +
    "src/bench/meter_calibration_main.ts --rounds 3",
  ],
  permissions: [],
};

/** Prints the table. */
function calibrationMain({ flags }: ParsedArgs<typeof CALIBRATION_FLAGS>): Promise<ExitCode> {
  console.log(calibrationTable(calibrate(calibrationCases(), flags.rounds, flags.runs)));
  return Promise.resolve(ExitCode.Ok);
}

/** The calibration as a command. */
export const calibrationCommand: Command = command(CALIBRATION_SPEC, calibrationMain);

if (import.meta.main) {
  Deno.exitCode = await runScript(calibrationCommand, Deno.args);
}
