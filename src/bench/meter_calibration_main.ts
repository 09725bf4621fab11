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
 * Options: `--rounds N` (rounds over all cases, default 5), `--runs N`
 * (timed runs of a case per round, default 3). It takes a minute or two.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { calibrate, calibrationCases, calibrationTable } from "./meter_calibration.ts";

const DEFAULT_ROUNDS = 5;
const DEFAULT_RUNS = 3;

/** Prints the table; returns the process exit code. */
function calibrationMain(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { rounds: { type: "string" }, runs: { type: "string" } },
  });
  const rounds = Number(values.rounds ?? DEFAULT_ROUNDS);
  const runs = Number(values.runs ?? DEFAULT_RUNS);
  if (!Number.isSafeInteger(rounds) || rounds < 1 || !Number.isSafeInteger(runs) || runs < 1) {
    console.error("--rounds and --runs take positive integers");
    return 2;
  }
  console.log(calibrationTable(calibrate(calibrationCases(), rounds, runs)));
  return 0;
}

if (import.meta.main) Deno.exit(calibrationMain(Deno.args));
