/**
 * Benchmarks: the closed-loop load generator ({@linkcode runLoad}) behind
 * `calcnet bench`, its report, and the side-by-side suite and memory
 * scenario behind `deno task bench-suite` (`suite_main.ts`, a separate
 * entry point that runs services as their own processes), and the work
 * meter's calibration (`meter_calibration_main.ts`, another).
 *
 * @module
 */

export { type LoadResult, type LoadTarget, runLoad, type TargetTally } from "./load_generator.ts";
export { progressLine } from "./progress_line.ts";
export { formatCount, formatReport } from "./report.ts";
export { benchRequest, courseExample } from "./request_packet.ts";
