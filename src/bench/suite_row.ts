/**
 * One scenario of the side-by-side benchmark, summarised from its runs: the
 * median rate, the median ratio to the echo server with its spread over the
 * rounds, the median CPU time per request of the service under test, median
 * latencies, and the failures of all runs.
 *
 * @module
 */

import type { ErrorKind } from "./error_kind.ts";
import type { LoadResult } from "./load_generator.ts";
import type { SuiteModeName, SuiteSetting, SuiteTarget } from "./suite_plan.ts";

/** One run of a scenario: what the load generator saw, and the service's CPU time meanwhile. */
export interface SuiteRun {
  /** The load run. */
  readonly result: LoadResult;
  /** Milliseconds of CPU the service under test used during it (undefined without /proc). */
  readonly cpuMs: number | undefined;
}

/** One scenario: the figures of its median run and its ratio to the echo server. */
export interface SuiteRow {
  /** The setting's name. */
  readonly setting: SuiteSetting["name"];
  /** What was measured. */
  readonly target: SuiteTarget;
  /** How. */
  readonly mode: SuiteModeName;
  /** The run whose rate is closest to the median rate. */
  readonly result: LoadResult;
  /** The medians over the rounds of each run's latency percentiles, in milliseconds. */
  readonly latencyMs: { readonly p50: number; readonly p99: number };
  /**
   * The rate of every round, in order: requests answered per second (for
   * hits mixed with misses, the hits answered per second).
   */
  readonly rates: readonly number[];
  /** The median of {@linkcode SuiteRow.rates}. */
  readonly rate: number;
  /** Failed requests by kind, over all rounds. */
  readonly errors: Readonly<Partial<Record<ErrorKind, number>>>;
  /** The median over the rounds of the rate divided by the echo server's in the same round. */
  readonly ratio: number;
  /** The lowest and highest of those ratios. */
  readonly ratioRange: readonly [number, number];
  /**
   * The median over the rounds of the service's CPU time per request, in
   * microseconds (per connection, with a new connection per request);
   * undefined where it could not be read.
   */
  readonly cpuUs: number | undefined;
}

/** The median of a list (0 for an empty one). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[middle] ?? 0
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** A run's rate: requests per second, or for hits mixed with misses, hits (the first packet) per second. */
export function runRate(target: SuiteTarget, result: LoadResult): number {
  if (target !== "proxy-mixed") return result.requestsPerSecond;
  return result.elapsedMs > 0 ? (result.okByPacket[0] ?? 0) / (result.elapsedMs / 1000) : 0;
}

/** A run's CPU time per exchange in microseconds, if measured. */
function cpuPerRequest(run: SuiteRun): number | undefined {
  const exchanges = run.result.ok + run.result.errorCount;
  return run.cpuMs === undefined || exchanges === 0 ? undefined : run.cpuMs * 1000 / exchanges;
}

/** Failed requests by kind, summed over runs. */
function allErrors(runs: readonly SuiteRun[]): Partial<Record<ErrorKind, number>> {
  const errors: Partial<Record<ErrorKind, number>> = {};
  for (const { result } of runs) {
    for (const [kind, count] of Object.entries(result.errors) as [ErrorKind, number][]) {
      errors[kind] = (errors[kind] ?? 0) + count;
    }
  }
  return errors;
}

/**
 * Summarises a scenario's runs, round by round, against the echo server's
 * runs in the same mode and rounds (for the echo server itself, its own).
 *
 * @throws {RangeError} when there are no runs.
 */
export function suiteRow(
  scenario: { readonly setting: SuiteSetting["name"]; target: SuiteTarget; mode: SuiteModeName },
  runs: readonly SuiteRun[],
  ceilings: readonly SuiteRun[],
): SuiteRow {
  const { target } = scenario;
  const rates = runs.map((run) => runRate(target, run.result));
  const middle = median(rates);
  const first = runs[0];
  if (first === undefined) throw new RangeError(`no runs of ${target}, ${scenario.mode}`);
  const closest = runs.reduce((best, run) =>
    Math.abs(runRate(target, run.result) - middle) < Math.abs(runRate(target, best.result) - middle)
      ? run
      : best
  );
  // A round whose echo run answered nothing gives no ratio: it counts as 0.
  const ratios = rates.map((rate, index) =>
    rate / (ceilings[index]?.result.requestsPerSecond || Infinity)
  );
  const cpu = runs.map(cpuPerRequest).filter((value) => value !== undefined);
  return {
    ...scenario,
    result: closest.result,
    latencyMs: {
      p50: median(runs.map((run) => run.result.latencyMs.p50)),
      p99: median(runs.map((run) => run.result.latencyMs.p99)),
    },
    rates,
    rate: middle,
    errors: allErrors(runs),
    ratio: median(ratios),
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
    cpuUs: cpu.length === 0 ? undefined : median(cpu),
  };
}
