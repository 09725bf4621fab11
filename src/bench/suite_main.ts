/**
 * `deno task bench-suite`: the side-by-side benchmark (`suite.ts`) and the
 * memory scenario, printed and written to `docs/BENCHMARKS.md`. See
 * `deno task bench-suite --help` for the flags; the whole default run takes
 * about eight minutes.
 *
 * @module
 */

import { ExitCode, UsageError } from "../base/mod.ts";
import { type Command, command, type CommandSpec, flag, type ParsedArgs } from "../term/mod.ts";
import { runSuite, type SuiteResult } from "./suite.ts";
import { type MemoryResult, runMemoryScenario } from "./memory_scenario.ts";
import { checkBudget } from "./budget.ts";
import { describeMachine } from "./machine.ts";
import { benchmarksDocument, budgetList, memoryList, suiteTables } from "./benchmarks_doc.ts";
import { projectFile } from "./service_process.ts";
import { serviceCpus } from "./cpu_pinning.ts";
import { runScript } from "./script_main.ts";
import { SUITE_SETTINGS, type SuiteSetting } from "./suite_plan.ts";

/** Entries of the memory scenario's cache (the budget's 100,000). */
const MEMORY_ENTRIES = 100_000;
/** Measuring time of each latency run of the memory scenario. */
const MEMORY_RUN_MS = 3000;
/** Concurrent connections of the memory scenario's latency runs. */
const MEMORY_CONNECTIONS = 8;
/** The most rounds a run may ask for. */
const MAX_ROUNDS = 100;

/**
 * The settings named in `text` ("all", or names of {@linkcode SUITE_SETTINGS}
 * separated by commas), in the suite's order.
 *
 * @throws {UsageError} for a name that is not a setting's.
 */
function parseSettings(text: string, name: string): readonly SuiteSetting[] {
  if (text === "all") return SUITE_SETTINGS;
  const names = text.split(",").map((part) => part.trim());
  const known = SUITE_SETTINGS.map((setting) => setting.name as string);
  const unknown = names.find((one) => !known.includes(one));
  if (unknown !== undefined) {
    throw new UsageError(`--${name}: '${unknown}' is none of all, ${known.join(", ")}`);
  }
  return SUITE_SETTINGS.filter((setting) => names.includes(setting.name));
}

/** Flags of the bench suite. */
export const SUITE_FLAGS = {
  rounds: flag.integer("runs of every scenario, interleaved", {
    min: 1,
    max: MAX_ROUNDS,
    default: 5,
  }),
  duration: flag.seconds("measuring time of each run", { default: 1, positive: true }),
  warmup: flag.seconds("warm-up before each run (not counted)", { default: 0.3 }),
  memory: flag.boolean("only the memory scenario (nothing is written)"),
  "no-memory": flag.boolean("skip the memory scenario"),
  "no-write": flag.boolean("print only; leave docs/BENCHMARKS.md as it is"),
  note: flag.string("a sentence for the document, e.g. that the machine was busy", {
    value: "TEXT",
  }),
  settings: flag.of("the settings to measure, comma-separated", {
    value: "NAMES",
    default: "all",
    parse: parseSettings,
  }),
} as const;

/** The bench suite's interface. */
export const SUITE_SPEC: CommandSpec<typeof SUITE_FLAGS> = {
  name: "bench-suite",
  summary: "the side-by-side benchmark and the memory scenario, written to docs/BENCHMARKS.md",
  flags: SUITE_FLAGS,
  examples: [
    "deno task bench-suite",
    "deno task bench-suite --rounds 3 --duration 0.5 --no-memory --no-write",
    "deno task bench-suite --settings shipped,quiet --no-memory",
    'deno task bench-suite --note "the machine was shared with other jobs"',
  ],
  permissions: [
    { flag: "--allow-net" },
    { flag: "--allow-read" },
    { flag: "--allow-write" },
    { flag: "--allow-run" },
  ],
};

/** Runs the throughput scenarios and prints their tables. */
async function throughput(
  flags: ParsedArgs<typeof SUITE_FLAGS>["flags"],
  cpus: string | undefined,
  log: (line: string) => void,
): Promise<SuiteResult> {
  console.error(
    `Throughput: ${flags.rounds} rounds of every scenario, ${flags.duration / 1000} s each ` +
      `after a ${flags.warmup / 1000} s warm-up`,
  );
  const suite = await runSuite({
    durationMs: flags.duration,
    warmupMs: flags.warmup,
    rounds: flags.rounds,
    cpus,
    settings: flags.settings,
    log,
  });
  console.log(`\n${suiteTables(suite)}\n`);
  return suite;
}

/** Runs the memory scenario in a temporary directory and prints its figures. */
async function memoryScenario(
  rounds: number,
  log: (line: string) => void,
): Promise<MemoryResult> {
  console.error("Memory: 100,000 cached entries of course example 1's size");
  const directory = await Deno.makeTempDir({ prefix: "calcnet-bench-" });
  try {
    const memory = await runMemoryScenario({
      entries: MEMORY_ENTRIES,
      durationMs: MEMORY_RUN_MS,
      connections: MEMORY_CONNECTIONS,
      rounds,
      // Unpinned: this scenario is about memory and stalls, and a proxy with a big heap does
      // its garbage collection on other threads, which pinning would squeeze onto its core.
      cpus: undefined,
      directory,
      log,
    });
    console.log(`\n${memoryList(memory)}\n`);
    return memory;
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

/** The document's line about how the run was made. */
function runSettings(
  flags: ParsedArgs<typeof SUITE_FLAGS>["flags"],
  cpus: string | undefined,
  seconds: string,
): string {
  const pinned = cpus === undefined
    ? "no pinned runs (taskset is missing)"
    : `pinned services on core ${cpus}`;
  return `${flags.rounds} rounds of ${flags.duration / 1000} s per scenario after a ` +
    `${flags.warmup / 1000} s warm-up; ${pinned}, the load generator free; the whole run took ` +
    `${seconds} s`;
}

/** Runs the suite; returns the process exit code. */
async function suiteMain({ flags }: ParsedArgs<typeof SUITE_FLAGS>): Promise<ExitCode> {
  if (flags.memory && flags.noMemory) {
    throw new UsageError("give --memory or --no-memory, not both");
  }
  const log = (line: string): void => console.error(`  ${line}`);
  const machine = await describeMachine();
  const cpus = await serviceCpus();
  const started = performance.now();
  const suite = flags.memory
    ? { requests: { 1: "", 2: "" }, settings: [], rows: [] }
    : await throughput(flags, cpus, log);
  const memory = flags.noMemory ? undefined : await memoryScenario(flags.rounds, log);
  const checks = checkBudget(suite, memory);
  console.log(`Budget:\n${budgetList(checks)}`);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  if (!flags.noWrite && !flags.memory) {
    const path = projectFile("docs/BENCHMARKS.md");
    const settings = runSettings(flags, cpus, seconds);
    await Deno.writeTextFile(
      path,
      benchmarksDocument(machine, suite, memory, checks, settings, flags.note),
    );
    console.error(`\nWrote ${path} (${seconds} s).`);
  }
  return ExitCode.Ok;
}

/** The bench suite as a command. */
export const suiteCommand: Command = command(SUITE_SPEC, suiteMain);

if (import.meta.main) {
  Deno.exitCode = await runScript(suiteCommand, Deno.args);
}
