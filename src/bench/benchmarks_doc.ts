/**
 * The benchmark's tables as Markdown: printed by `deno task bench-suite` and
 * written to `docs/BENCHMARKS.md` with the machine's description.
 *
 * @module
 */

import { type BudgetCheck, formatRatio } from "./budget.ts";
import type { MachineDescription } from "./machine.ts";
import type { MemoryResult } from "./memory_scenario.ts";
import { formatCount, formatErrors, formatMemory } from "./report.ts";
import { type SuiteResult, suiteRowAt } from "./suite.ts";
import {
  SUITE_MODES,
  SUITE_TARGETS,
  type SuiteModeName,
  type SuiteSetting,
  type SuiteTarget,
  TARGET_TITLES,
} from "./suite_plan.ts";
import type { SuiteRow } from "./suite_row.ts";

/** The cells of one setting's table: a row per target measured, a column per mode. */
function table(
  suite: SuiteResult,
  setting: SuiteSetting,
  cell: (row: SuiteRow) => string,
): string[] {
  const targets = SUITE_TARGETS.filter((target) => setting.targets.includes(target));
  const at = (target: SuiteTarget, mode: SuiteModeName): string => {
    const row = suiteRowAt(suite, setting.name, target, mode);
    return row === undefined ? "–" : cell(row);
  };
  return [
    `| | ${setting.modes.map((mode) => SUITE_MODES[mode].title).join(" | ")} |`,
    `|---|${setting.modes.map(() => "---:").join("|")}|`,
    ...targets.map((target) =>
      `| ${TARGET_TITLES[target]} | ${setting.modes.map((mode) => at(target, mode)).join(" | ")} |`
    ),
  ];
}

/** A CPU time per request in microseconds, or "–". */
function formatCpu(us: number | undefined): string {
  return us === undefined ? "–" : `${us.toFixed(1)} µs`;
}

/** One setting's tables: throughput with ratios, CPU per request, latency. */
function settingTables(suite: SuiteResult, setting: SuiteSetting): string[] {
  return [
    `### ${setting.title}`,
    "",
    `Request: ${suite.requests[setting.example]}.`,
    "",
    ...table(
      suite,
      setting,
      (row) => `${formatCount(row.rate)}/s ${formatRatio(row.ratio, row.ratioRange)}`,
    ),
    "",
    "CPU time of the service under test per request (per connection with a new connection per " +
    "request; for misses, the proxy's alone):",
    "",
    ...table(suite, setting, (row) => formatCpu(row.cpuUs)),
    "",
    "Latency p50 / p99 in milliseconds:",
    "",
    ...table(
      suite,
      setting,
      (row) => `${row.latencyMs.p50.toFixed(3)} / ${row.latencyMs.p99.toFixed(3)}`,
    ),
    "",
  ];
}

/**
 * The tables of every setting measured: requests per second with the ratio
 * to the echo server (median and range over the rounds), CPU time per
 * request, latency, and any errors.
 */
export function suiteTables(suite: SuiteResult): string {
  const rounds = suite.rows[0]?.rates.length ?? 0;
  const errors = suite.rows.filter((row) => Object.keys(row.errors).length > 0).map((row) =>
    `- ${row.setting}: ${TARGET_TITLES[row.target]}, ${SUITE_MODES[row.mode].title}: ` +
    formatErrors(row.errors)
  );
  return [
    `Each cell is the median of ${rounds} runs: requests answered per second, then the ratio to ` +
    "the echo server in the same column — the median of the ratios of runs made moments apart, " +
    "with the lowest and highest in brackets. For hits mixed with misses, only the hits are " +
    "counted. Misses carry cache control 0: the proxy asks the server every time, over a new " +
    "connection as it does by default.",
    "",
    ...suite.settings.flatMap((setting) => settingTables(suite, setting)),
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

/**
 * How a user checks the ratios with `calcnet bench` against services started
 * as users start them, and why one budget line cannot be met by any proxy.
 */
export const BY_HAND_SECTIONS: readonly string[] = [
  "## The same ratios by hand",
  "",
  "Start the services with their default flags (logging on), each in its own terminal, then load",
  "each in turn with the same request and divide each rate by the echo server's:",
  "",
  "```sh",
  "deno task server                                   # 127.0.0.1:9999",
  "deno task proxy --fresh                            # 127.0.0.1:9998, in front of it",
  "deno run --allow-net src/bench/echo_main.ts --port 9997",
  "deno task bench --target 127.0.0.1:9997 --conns 32 --duration 5 --steps --echo  # the ceiling",
  "deno task bench --target 127.0.0.1:9998 --conns 32 --duration 5 --steps  # proxy hits",
  "deno task bench --target 127.0.0.1:9999 --conns 32 --duration 5 --steps  # server",
  "deno task bench --target 127.0.0.1:9998 --conns 1 --window 64 --duration 5 --steps",
  "deno task bench --target 127.0.0.1:9998 --conns 1 --window 64 --duration 5 --steps --mixed",
  "```",
  "",
  "Run each twice and alternate: on a shared machine one run's rate moves by tens of percent.",
  "",
  "## Why hits mixed with misses stay near the misses' rate",
  "",
  "The protocol has no request id: answers leave a connection in the order of its requests. A hit",
  "queued behind a miss is answered at once (its answer is ready) but can only be sent after the",
  "miss's, so with every other request a miss, hits per second can never exceed misses per",
  "second, and misses are bounded by the server behind the proxy (its own rate at window 64 in the",
  "table above) and by the connection the proxy opens to it per miss, as the course proxy does.",
  "On this kind of machine the server alone answers fewer requests per second than half the",
  "proxy's hits at window 64, so the budget line \"hits ≥ 0.5 × all hits with every other request a",
  'miss" cannot be met by any proxy in front of it; what calcnet guarantees is that a miss never',
  "delays the work on the hits behind it, only their sending.",
];

/** The whole of `docs/BENCHMARKS.md`. */
export function benchmarksDocument(
  machine: MachineDescription,
  suite: SuiteResult,
  memory: MemoryResult | undefined,
  checks: readonly BudgetCheck[],
  settings: string,
  note?: string,
): string {
  return [
    "# Benchmarks",
    "",
    "Written by `deno task bench-suite`, which measures, side by side on loopback and with the same",
    "requests, a minimal framed echo server (the ceiling: what a request/response hop costs here),",
    "calcnet's proxy on cache hits, on misses and on hits mixed with misses, and calcnet's server.",
    "Each service runs in its own process; the load generator (`calcnet bench`'s) runs in another.",
    "The first table is what users get: default flags (logging on, to a pipe the suite drains) and",
    "services placed by the OS; the others run quiet, pinned, or with another request. Closed",
    "loop: each connection sends a request when the answer to the last one is in; window N: each",
    "connection keeps N requests in flight. Figures compare within one run on one machine: the",
    "ratios and the CPU time per request travel, the rates do not; rerun to compare with yours.",
    "",
    "## Machine",
    "",
    `- ${machine.cores} cores, ${machine.cpu}`,
    `- ${machine.os}`,
    `- ${machine.runtime}`,
    `- ${machine.date}; ${settings}`,
    ...(note === undefined ? [] : [`- Note: ${note}`]),
    "",
    "## Throughput and latency",
    "",
    suiteTables(suite),
    "",
    ...(memory === undefined ? [] : ["## Memory and the cache file", "", memoryList(memory), ""]),
    "## Budget (issue 13; memory: issue 5)",
    "",
    budgetList(checks),
    "",
    ...BY_HAND_SECTIONS,
    "",
  ].join("\n");
}
