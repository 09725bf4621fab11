/**
 * The performance budget (issue 13, with the memory lines of issue 5),
 * checked against one run's figures.
 *
 * @module
 */

import type { MemoryResult } from "./memory_scenario.ts";
import { formatMemory } from "./report.ts";
import { type SuiteResult, suiteRowAt } from "./suite.ts";
import { median, type SuiteRow } from "./suite_row.ts";

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

/** The ratios to the echo server required at 32 connections. */
const MIN_RATIO = { hits: 0.85, quietHits: 0.95, server: 0.5 } as const;
/** How much more CPU per connection than the echo's the proxy may use with a new connection per request. */
const MAX_CONNECTION_CPU_RATIO = 1.1;
/** Pipelined hits at window 64 against the closed loop at 32 connections. */
const MIN_PIPELINE_GAIN = 2;
/** Hits with every other request a miss against all hits, at window 64. */
const MIN_MIXED_SHARE = 0.5;

/** A check that could not be made. */
function unmeasured(requirement: string): BudgetCheck {
  return { requirement, measured: "not measured", met: undefined };
}

/** A ratio with its spread over the rounds: "0.87 (0.84–0.90)". */
export function formatRatio(ratio: number, range: readonly [number, number]): string {
  return `${ratio.toFixed(2)} (${range[0].toFixed(2)}–${range[1].toFixed(2)})`;
}

/**
 * A ratio check: a row's median ratio to the echo server, at least
 * `minimum`; the CPU time per request of both is told beside it (the
 * steadier figure on a busy machine).
 */
function ratioCheck(
  row: SuiteRow | undefined,
  echo: SuiteRow | undefined,
  minimum: number,
  requirement: string,
): BudgetCheck {
  if (row === undefined || echo === undefined) return unmeasured(requirement);
  const cpu = row.cpuUs === undefined || echo.cpuUs === undefined
    ? ""
    : `; CPU per request ${row.cpuUs.toFixed(1)} µs vs the echo's ${echo.cpuUs.toFixed(1)} µs`;
  return {
    requirement,
    measured: formatRatio(row.ratio, row.ratioRange) + cpu,
    met: row.ratio >= minimum,
  };
}

/**
 * The median over the rounds of `top`'s rate over `bottom`'s in the same
 * round, with the lowest and highest.
 */
function roundRatios(top: SuiteRow, bottom: SuiteRow): { ratio: number; range: [number, number] } {
  const ratios = top.rates.map((rate, index) => rate / (bottom.rates[index] || Infinity));
  return { ratio: median(ratios), range: [Math.min(...ratios), Math.max(...ratios)] };
}

/** A check of two rows' rates against each other, round by round. */
function gainCheck(
  top: SuiteRow | undefined,
  bottom: SuiteRow | undefined,
  minimum: number,
  requirement: string,
): BudgetCheck {
  if (top === undefined || bottom === undefined) return unmeasured(requirement);
  const { ratio, range } = roundRatios(top, bottom);
  return { requirement, measured: formatRatio(ratio, range), met: ratio >= minimum };
}

/** The CPU time per connection of the proxy against the echo server's, a new connection per request. */
function connectionCpuCheck(suite: SuiteResult): BudgetCheck {
  const requirement = "new connection per request: the proxy's CPU per connection ≤ 1.10 × " +
    "the echo server's";
  const proxy = suiteRowAt(suite, "shipped", "proxy-hit", "perRequest")?.cpuUs;
  const echo = suiteRowAt(suite, "shipped", "echo", "perRequest")?.cpuUs;
  if (proxy === undefined || echo === undefined) return unmeasured(requirement);
  return {
    requirement,
    measured: `${proxy.toFixed(1)} µs vs ${echo.toFixed(1)} µs (${(proxy / echo).toFixed(2)} ×)`,
    met: proxy <= MAX_CONNECTION_CPU_RATIO * echo,
  };
}

/** The throughput lines of the budget, from the suite. */
function throughputChecks(suite: SuiteResult): BudgetCheck[] {
  const at = (
    setting: SuiteRow["setting"],
    target: SuiteRow["target"],
    mode: SuiteRow["mode"],
  ): SuiteRow | undefined => suiteRowAt(suite, setting, target, mode);
  return [
    ratioCheck(
      at("shipped", "proxy-hit", "many"),
      at("shipped", "echo", "many"),
      MIN_RATIO.hits,
      "proxy hits ≥ 0.85 × echo, 32 connections, logging on",
    ),
    ratioCheck(
      at("quiet", "proxy-hit", "many"),
      at("quiet", "echo", "many"),
      MIN_RATIO.quietHits,
      "proxy hits ≥ 0.95 × echo, 32 connections, --quiet",
    ),
    ratioCheck(
      at("shipped", "server", "many"),
      at("shipped", "echo", "many"),
      MIN_RATIO.server,
      "server ≥ 0.50 × echo, 32 connections, logging on",
    ),
    connectionCpuCheck(suite),
    gainCheck(
      at("shipped", "proxy-hit", "window64"),
      at("shipped", "proxy-hit", "many"),
      MIN_PIPELINE_GAIN,
      "pipelined hits, 1 connection at window 64 ≥ 2 × the closed loop at 32 connections",
    ),
    gainCheck(
      at("shipped", "proxy-mixed", "window64"),
      at("shipped", "proxy-hit", "window64"),
      MIN_MIXED_SHARE,
      "every other request a miss: hits/s ≥ 0.5 × all hits, 1 connection at window 64",
    ),
  ];
}

/** The memory lines of the budget. */
function memoryChecks(memory: MemoryResult): BudgetCheck[] {
  return [
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
  ];
}

/**
 * Checks the budget: proxy hits ≥ 0.85 of the echo at 32 connections with
 * logging on (≥ 0.95 quiet), the server ≥ 0.50, the proxy's CPU per new
 * connection within 10% of the echo's, pipelined hits at window 64 ≥ 2× the
 * closed loop, hits mixed with misses ≥ 0.5 of all hits, and the memory
 * figures when measured.
 */
export function checkBudget(suite: SuiteResult, memory: MemoryResult | undefined): BudgetCheck[] {
  return [...throughputChecks(suite), ...(memory === undefined ? [] : memoryChecks(memory))];
}
