/**
 * The performance budget of issue 5, checked against one run's figures.
 *
 * @module
 */

import type { MemoryResult } from "./memory_scenario.ts";
import { formatMemory } from "./report.ts";
import { type SuiteResult, suiteRowAt } from "./suite.ts";
import type { SuiteTarget } from "./suite_row.ts";

/** One line of the budget and how the run did. */
export interface BudgetCheck {
  /** What is required. */
  readonly requirement: string;
  /** What was measured. */
  readonly measured: string;
  /** Whether it holds; undefined when not measured. */
  readonly met: boolean | undefined;
}

/** Resident memory allowed for a proxy holding 100,000 entries (250 MB). */
export const MAX_RSS_BYTES = 250e6;
/** Time allowed to load the cache file of 100,000 entries. */
export const MAX_LOAD_MS = 2000;
/** Latency periodic saves may add. */
export const MAX_SAVE_LATENCY_MS = 10;

/** The row of `target` in the `column`-th of {@linkcode SUITE_MODES}, if measured. */
/** A ratio check: `target`'s rate in `column` over the echo server's, at least `minimum`. */
function ratioCheck(
  suite: SuiteResult,
  target: SuiteTarget,
  column: number,
  minimum: number,
  requirement: string,
): BudgetCheck {
  const ratio = suiteRowAt(suite, target, column)?.ratio;
  if (ratio === undefined || suiteRowAt(suite, "echo", column) === undefined) {
    return { requirement, measured: "not measured", met: undefined };
  }
  return { requirement, measured: ratio.toFixed(2), met: ratio >= minimum };
}

/**
 * Checks the budget: proxy hits ≥ 0.70 of the ceiling at 32 connections
 * and with a new connection per request, the server ≥ 0.40 at 32, proxy
 * hits' p99 ≤ 2× the ceiling's at 32, and the memory figures.
 */
export function checkBudget(suite: SuiteResult, memory: MemoryResult | undefined): BudgetCheck[] {
  const checks = [
    ratioCheck(suite, "proxy-hit", 1, 0.7, "proxy hits ≥ 0.70 × echo, 32 connections"),
    ratioCheck(suite, "proxy-hit", 2, 0.7, "proxy hits ≥ 0.70 × echo, new connection per request"),
    ratioCheck(suite, "server", 1, 0.4, "server ≥ 0.40 × echo, 32 connections"),
  ];
  const hitP99 = suiteRowAt(suite, "proxy-hit", 1)?.latencyMs.p99;
  const echoP99 = suiteRowAt(suite, "echo", 1)?.latencyMs.p99;
  const latencyRequirement = "proxy hits' p99 ≤ 2 × echo's p99, 32 connections";
  checks.push(
    hitP99 === undefined || echoP99 === undefined
      ? { requirement: latencyRequirement, measured: "not measured", met: undefined }
      : {
        requirement: latencyRequirement,
        measured: `${hitP99.toFixed(3)} ms vs ${echoP99.toFixed(3)} ms (${
          (hitP99 / echoP99).toFixed(2)
        } ×)`,
        met: hitP99 <= 2 * echoP99,
      },
  );
  if (memory === undefined) return checks;
  checks.push(
    {
      requirement: `proxy with ${
        memory.entries.toLocaleString("en-US")
      } entries stays < 250 MB resident`,
      measured:
        `peak ${formatMemory(memory.rssPeak)} (${formatMemory(memory.rssLoaded)} idle after ` +
        `loading, ${formatMemory(memory.rssAfter)} after the load runs)`,
      met: memory.rssPeak === undefined ? undefined : memory.rssPeak < MAX_RSS_BYTES,
    },
    {
      requirement: "cache file loads in < 2 s",
      measured: `${(memory.loadMs / 1000).toFixed(2)} s (${formatMemory(memory.fileBytes)} file)`,
      met: memory.loadMs < MAX_LOAD_MS,
    },
    {
      requirement: "periodic saves add ≤ 10 ms of request latency",
      measured: `max ${memory.withSaves.latencyMs.max.toFixed(1)} ms with saves (${memory.saves} ` +
        `saves), ${memory.withoutSaves.latencyMs.max.toFixed(1)} ms without (the median of ` +
        `${memory.rounds} runs each)`,
      met: memory.saves > 0 &&
        memory.withSaves.latencyMs.max - memory.withoutSaves.latencyMs.max <= MAX_SAVE_LATENCY_MS,
    },
  );
  return checks;
}
