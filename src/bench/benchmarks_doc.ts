/**
 * The benchmark's tables as Markdown: printed by `deno task bench-suite` and
 * written to `docs/BENCHMARKS.md` with the machine's description.
 *
 * @module
 */

import type { BudgetCheck } from "./budget.ts";
import type { MachineDescription } from "./machine.ts";
import type { MemoryResult } from "./memory_scenario.ts";
import { formatCount, formatErrors, formatMemory } from "./report.ts";
import { type SuiteResult, suiteRowAt, TARGET_TITLES } from "./suite.ts";
import { SUITE_MODES, SUITE_TARGETS, type SuiteTarget } from "./suite_row.ts";

/** The cells of one table: a row per target, a column per mode. */
function table(
  suite: SuiteResult,
  cell: (target: SuiteTarget, column: number) => string,
): string[] {
  return [
    `| | ${SUITE_MODES.map((mode) => mode.title).join(" | ")} |`,
    `|---|${SUITE_MODES.map(() => "---:").join("|")}|`,
    ...SUITE_TARGETS.filter((target) => suite.rows.some((row) => row.target === target)).map(
      (target) =>
        `| ${TARGET_TITLES[target]} | ${
          SUITE_MODES.map((_, column) => cell(target, column)).join(" | ")
        } |`,
    ),
  ];
}

/**
 * The throughput table (requests/s and the ratio to the echo server in the
 * same column), the latency table (p50 / p99) and any errors.
 */
export function suiteTables(suite: SuiteResult): string {
  const throughput = table(suite, (target, column) => {
    const row = suiteRowAt(suite, target, column);
    return row === undefined
      ? "–"
      : `${formatCount(row.result.requestsPerSecond)}/s (${row.ratio.toFixed(2)})`;
  });
  const latency = table(suite, (target, column) => {
    const latency = suiteRowAt(suite, target, column)?.latencyMs;
    return latency === undefined ? "–" : `${latency.p50.toFixed(3)} / ${latency.p99.toFixed(3)}`;
  });
  const errors = suite.rows.filter((row) => Object.keys(row.errors).length > 0).map((row) =>
    `- ${TARGET_TITLES[row.target]}, ${row.mode.title}: ${formatErrors(row.errors)}`
  );
  const rounds = suite.rows[0]?.rates.length ?? 0;
  return [
    `Requests per second answered, the median of ${rounds} runs, and in brackets the ratio to ` +
    "the echo server in the same column (the median of the ratios of runs made moments apart). " +
    `Request: ${suite.request}.`,
    "",
    ...throughput,
    "",
    "Latency p50 / p99 in milliseconds, each the median over the runs (with a new connection per " +
    "request, connecting included).",
    "",
    ...latency,
    "",
    errors.length === 0
      ? "No request failed."
      : ["Failed requests (all runs):", ...errors].join("\n"),
  ].join("\n");
}

/** The memory scenario's figures as a list. */
export function memoryList(memory: MemoryResult): string {
  const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 0)} ms`;
  return [
    `A proxy holding ${formatCount(memory.entries)} cached entries of course example 1's size ` +
    `(request ${memory.requestBytes} B, response ${memory.responseBytes} B, with steps):`,
    "",
    `- cache file: ${formatMemory(memory.fileBytes)}; one save of the whole cache takes ` +
    `${ms(memory.saveMs)}, ` +
    `loading it ${ms(memory.loadMs)} (both measured in the benchmark's process)`,
    `- proxy start-up to listening: ${ms(memory.startMs.loaded)} with the file, ` +
    `${ms(memory.startMs.empty)} with no cache`,
    `- resident memory of the proxy: ${
      formatMemory(memory.rssEmpty)
    } with no cache; with the cache ` +
    `${formatMemory(memory.rssLoaded)} idle a second after loading it, ` +
    `${formatMemory(memory.rssAfter)} after the load runs below, peak ${
      formatMemory(memory.rssPeak)
    } ` +
    "(loading included)",
    `- ${memory.withoutSaves.connections} connections of cache hits over all entries, every ` +
    "hundredth request a new one sent with C=0 (asked of the server, not stored): " +
    `${formatCount(memory.withoutSaves.requestsPerSecond)}/s, p99 ` +
    `${ms(memory.withoutSaves.latencyMs.p99)}, max ${ms(memory.withoutSaves.latencyMs.max)}`,
    "- the same requests with C=1, so that the new answers are stored and the proxy saves its " +
    `cache every second or so (${memory.saves} saves over ${memory.rounds} runs): ` +
    `${formatCount(memory.withSaves.requestsPerSecond)}/s, p99 ` +
    `${ms(memory.withSaves.latencyMs.p99)}, max ${ms(memory.withSaves.latencyMs.max)}`,
    `- each figure is from the run with the median maximum latency of ${memory.rounds} runs ` +
    `of ${(memory.withoutSaves.elapsedMs / 1000).toFixed(0)} s, alternating without and with ` +
    `saves${memory.strays === 0 ? "" : ` (${memory.strays} late saves fell into runs without)`}`,
  ].join("\n");
}

/** The budget checks as a list with ✅ / ❌ / "not measured". */
export function budgetList(checks: readonly BudgetCheck[]): string {
  return checks.map((check) =>
    `- ${
      check.met === undefined ? "–" : check.met ? "✅" : "❌"
    } ${check.requirement}: ${check.measured}`
  ).join("\n");
}

/** The whole of `docs/BENCHMARKS.md`. */
export function benchmarksDocument(
  machine: MachineDescription,
  suite: SuiteResult,
  memory: MemoryResult | undefined,
  checks: readonly BudgetCheck[],
  settings: string,
): string {
  return [
    "# Benchmarks",
    "",
    "Written by `deno task bench-suite`, which measures, side by side on loopback and with the same",
    "request, a minimal framed echo server (the ceiling: what a request/response hop costs here),",
    "calcnet's proxy on cache hits, calcnet's proxy on misses (every request carries cache control",
    "0, so the proxy asks the server behind it each time), and calcnet's server. Each service runs",
    "in its own process with logging off; the closed-loop load generator (`calcnet bench`'s) runs",
    "in another. Figures compare within one run on one machine; rerun to compare with yours.",
    "",
    "## Machine",
    "",
    `- ${machine.cores} cores, ${machine.cpu}`,
    `- ${machine.os}`,
    `- ${machine.runtime}`,
    `- ${machine.date}; ${settings}`,
    "",
    "## Throughput and latency",
    "",
    suiteTables(suite),
    "",
    ...(memory === undefined ? [] : ["## Memory and the cache file", "", memoryList(memory), ""]),
    "## Budget (issue 5)",
    "",
    budgetList(checks),
    "",
  ].join("\n");
}
