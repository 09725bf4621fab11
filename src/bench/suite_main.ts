/**
 * `deno task bench-suite`: the side-by-side benchmark (echo ceiling, proxy hits,
 * proxy misses, server; 1 and 32 connections and a connection per request)
 * and the memory scenario, printed and written to `docs/BENCHMARKS.md`.
 *
 * Options: `--rounds N` (runs of every scenario, interleaved; default 5),
 * `--duration S` (measuring time of each run, default 1.5), `--memory`
 * (only the memory scenario), `--no-memory` (skip it), `--no-write` (print
 * only). The whole default run takes about two minutes.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { runSuite, type SuiteResult } from "./suite.ts";
import { type MemoryResult, runMemoryScenario } from "./memory_scenario.ts";
import { checkBudget } from "./budget.ts";
import { describeMachine } from "./machine.ts";
import { benchmarksDocument, budgetList, memoryList, suiteTables } from "./benchmarks_doc.ts";
import { projectFile } from "./service_process.ts";
import { serviceCpus } from "./cpu_pinning.ts";
import { courseExample } from "./request_packet.ts";

/** Warm-up before every throughput run. */
const WARMUP_MS = 500;

/** Measuring time of each latency run of the memory scenario. */
const MEMORY_RUN_MS = 3000;

/** Runs the benchmark; returns the process exit code. */
async function benchMain(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: "string", default: "1.5" },
      rounds: { type: "string", default: "5" },
      memory: { type: "boolean", default: false },
      "no-memory": { type: "boolean", default: false },
      "no-write": { type: "boolean", default: false },
    },
  });
  const durationMs = Number(values.duration) * 1000;
  if (!(durationMs > 0)) {
    console.error(
      `bench: --duration must be a positive number of seconds, not '${values.duration}'`,
    );
    return 2;
  }
  const rounds = Number(values.rounds);
  if (!Number.isSafeInteger(rounds) || rounds < 1) {
    console.error(`bench: --rounds must be a whole number from 1, not '${values.rounds}'`);
    return 2;
  }
  const log = (line: string): void => console.error(`  ${line}`);
  const machine = await describeMachine();
  const cpus = await serviceCpus();
  const started = performance.now();
  const expression = courseExample(2);
  let suite: SuiteResult = { request: `${expression} with steps`, rows: [] };
  if (!values.memory) {
    console.error(
      `Throughput: ${rounds} rounds of every scenario, ${durationMs / 1000} s each after a ` +
        `${WARMUP_MS / 1000} s warm-up`,
    );
    suite = await runSuite({
      expression,
      steps: true,
      durationMs,
      warmupMs: WARMUP_MS,
      rounds,
      cpus,
      log,
    });
    console.log(`\n${suiteTables(suite)}\n`);
  }
  let memory: MemoryResult | undefined;
  if (!values["no-memory"]) {
    console.error("Memory: 100,000 cached entries of course example 1's size");
    const directory = await Deno.makeTempDir({ prefix: "calcnet-bench-" });
    try {
      memory = await runMemoryScenario({
        entries: 100_000,
        durationMs: MEMORY_RUN_MS,
        connections: 8,
        rounds,
        // Unpinned: this scenario is about memory and stalls, and a proxy with a big heap does
        // its garbage collection on other threads, which pinning would squeeze onto its core.
        cpus: undefined,
        directory,
        log,
      });
    } finally {
      await Deno.remove(directory, { recursive: true });
    }
    console.log(`\n${memoryList(memory)}\n`);
  }
  const checks = checkBudget(suite, memory);
  console.log(`Budget:\n${budgetList(checks)}`);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  const placement = cpus === undefined
    ? "services placed by the OS"
    : `throughput services pinned to core ${cpus}, the load generator free`;
  const settings = `${rounds} rounds of ${durationMs / 1000} s per scenario after a ` +
    `${WARMUP_MS / 1000} s warm-up; ${placement}; the whole run took ${seconds} s`;
  if (!values["no-write"] && !values.memory) {
    const path = projectFile("docs/BENCHMARKS.md");
    await Deno.writeTextFile(path, benchmarksDocument(machine, suite, memory, checks, settings));
    console.error(`\nWrote ${path} (${seconds} s).`);
  }
  return 0;
}

if (import.meta.main) {
  Deno.exitCode = await benchMain(Deno.args);
}
