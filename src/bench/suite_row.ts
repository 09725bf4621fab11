/**
 * One scenario of the side-by-side benchmark, summarised from its runs: the
 * median rate, the median ratio to the echo server, median latencies, and
 * the failures of all runs.
 *
 * @module
 */

import type { ErrorKind } from "./error_kind.ts";
import type { LoadResult } from "./load_generator.ts";

/** What is measured. */
export type SuiteTarget = "echo" | "proxy-hit" | "proxy-miss" | "server";

/** The targets in the order the table shows them. */
export const SUITE_TARGETS: readonly SuiteTarget[] = ["echo", "proxy-hit", "proxy-miss", "server"];

/** How the load is applied. */
export interface SuiteMode {
  /** Its column title. */
  readonly title: string;
  /** Concurrent connections. */
  readonly connections: number;
  /** A new connection per request. */
  readonly newConnection: boolean;
}

/** The connection modes, in the order the table shows them. */
export const SUITE_MODES: readonly SuiteMode[] = [
  { title: "1 connection", connections: 1, newConnection: false },
  { title: "32 connections", connections: 32, newConnection: false },
  { title: "new connection per request (32 at a time)", connections: 32, newConnection: true },
];

/** One scenario: the figures of its median run and its ratio to the echo server. */
export interface SuiteRow {
  /** What was measured. */
  readonly target: SuiteTarget;
  /** How. */
  readonly mode: SuiteMode;
  /** The run whose rate is closest to the median rate (the figure the table shows). */
  readonly result: LoadResult;
  /** The medians over the rounds of each run's latency percentiles, in milliseconds. */
  readonly latencyMs: { readonly p50: number; readonly p99: number };
  /** The rate of every round, in order. */
  readonly rates: readonly number[];
  /** Failed requests by kind, over all rounds. */
  readonly errors: Readonly<Partial<Record<ErrorKind, number>>>;
  /**
   * The median over the rounds of this scenario's rate divided by the echo
   * server's rate in the same mode and round.
   */
  readonly ratio: number;
}

/** The median of a list (0 for an empty one). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[middle] ?? 0
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/**
 * Summarises a scenario's runs, round by round, against the echo server's
 * runs in the same mode and rounds (for the echo server itself, its own).
 *
 * @throws {RangeError} when there are no runs.
 */
export function suiteRow(
  target: SuiteTarget,
  mode: SuiteMode,
  runs: readonly LoadResult[],
  ceilings: readonly LoadResult[],
): SuiteRow {
  const rates = runs.map((run) => run.requestsPerSecond);
  const middle = median(rates);
  const first = runs[0];
  if (first === undefined) throw new RangeError(`no runs of ${target}, ${mode.title}`);
  const result = runs.reduce(
    (closest, run) =>
      Math.abs(run.requestsPerSecond - middle) < Math.abs(closest.requestsPerSecond - middle)
        ? run
        : closest,
    first,
  );
  // A round whose echo run answered nothing gives no ratio: it counts as 0.
  const ratios = runs.map((run, index) =>
    run.requestsPerSecond / (ceilings[index]?.requestsPerSecond || Infinity)
  );
  const errors: Partial<Record<ErrorKind, number>> = {};
  for (const run of runs) {
    for (const [kind, count] of Object.entries(run.errors) as [ErrorKind, number][]) {
      errors[kind] = (errors[kind] ?? 0) + count;
    }
  }
  return {
    target,
    mode,
    result,
    latencyMs: {
      p50: median(runs.map((run) => run.latencyMs.p50)),
      p99: median(runs.map((run) => run.latencyMs.p99)),
    },
    rates,
    errors,
    ratio: median(ratios),
  };
}
