/**
 * `calcnet check`: a conformance tester for any server or proxy that speaks
 * the course protocol.
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };
import { CalcnetError, ExitCode, UsageError } from "../base/mod.ts";
import { MAX_AGE_FOREVER } from "../protocol/mod.ts";
import {
  type CacheControlRule,
  caseLines,
  type CheckReport,
  defaultSuites,
  failureJson,
  freshSeed,
  headerLine,
  MAX_SEED,
  reportJson,
  runCheck,
  type RunSettings,
  setupLines,
  SUITE_NAMES,
  type SuiteName,
  summaryLine,
  type Target,
  targetName,
} from "../check/mod.ts";
import { type Command, command, type CommandSpec, flag, type ParsedArgs } from "../term/mod.ts";
import { permissionErrorOf, requirePermission } from "./permissions.ts";
import { printLine } from "../term/mod.ts";

/** The shell `--stop-server-cmd` runs its command with. */
const SHELL: readonly [string, string] = Deno.build.os === "windows" ? ["cmd", "/c"] : ["sh", "-c"];

/** Flags of `calcnet check`. */
export const CHECK_FLAGS = {
  server: flag.hostPort("the server to check (with --proxy: the server behind it)", {
    default: "127.0.0.1:9999",
  }),
  proxy: flag.hostPort("also check this proxy (in front of --server)"),
  only: flag.string(`run only these suites, comma-separated: ${SUITE_NAMES.join(", ")}`, {
    value: "SUITES",
  }),
  seed: flag.integer(
    `seed of the random cases, 0-${MAX_SEED} (default: a fresh one, always printed)`,
    { min: 0, max: MAX_SEED },
  ),
  random: flag.integer("random expressions to send", { min: 0, max: 10_000, default: 50 }),
  strict: flag.boolean("robustness gaps fail the run instead of warning"),
  json: flag.boolean("print one JSON document (for CI) instead of lines"),
  timeout: flag.seconds("longest wait for a connection or an answer", {
    default: 5,
    positive: true,
  }),
  "max-age": flag.of(
    "the C flag and max-age the server puts on answers (0: C=0; any: accept any)",
    { value: "SECONDS|any", default: String(MAX_AGE_FOREVER), parse: parseCacheControlRule },
  ),
  "server-down": flag.boolean(
    "after the proxy suite, ask you to stop the server (it then has twice --timeout " +
      "to go), and check the proxy without it; needs a terminal, or --stop-server-cmd",
  ),
  "stop-server-cmd": flag.string(
    "run COMMAND (with sh -c) to stop the server instead of asking (implies --server-down; " +
      "needs --allow-run)",
    { value: "COMMAND" },
  ),
} as const;

/** The interface of `calcnet check`. */
export const CHECK_SPEC: CommandSpec<typeof CHECK_FLAGS> = {
  name: "check",
  summary: "test a server (and a proxy) against the course protocol, case by case",
  flags: CHECK_FLAGS,
  examples: [
    "calcnet check --server 127.0.0.1:9999",
    "calcnet check --proxy 127.0.0.1:9998 --server 127.0.0.1:9999 --server-down",
    "calcnet check --seed 1234 --strict --json > check.json",
    'calcnet check --proxy 127.0.0.1:9998 --stop-server-cmd "kill 12345"',
  ],
  notes: [
    "Suites: server (conformance: the course examples, number semantics, error answers,",
    "flags, random expressions), robustness (split and joined packets, stalled peers, lying",
    "lengths, undecodable data: WARN unless --strict), proxy (hits, misses, the S flag in the",
    "key, max-age 0, C=0, expiry, cached errors; and with --server-down the server-down cases).",
    "The proxy suite waits 1.1 s once: a hit is an answer byte for byte equal to one stored",
    "before, old time stamp included; after the wait the server stamps any fresh answer later.",
    "Stopping the course's server.py: 'kill <pid>' ends it; one Ctrl-C may leave it listening.",
    "A server still accepting connections after the stop is one setup problem (SETUP), and",
    "the server-down cases are not run.",
    "Exit status: 0 all conformance cases passed (and with --strict all robustness cases),",
    "1 a case failed or a setup problem, 2 usage error or a missing permission, 3 a target",
    "accepts no connections. With --json the document says exit_code in every case.",
  ],
  permissions: [{ flag: "--allow-net" }, { flag: "--allow-run", when: "for --stop-server-cmd" }],
};

/** Runs `calcnet check`; with --json, a run that cannot start is a JSON document too. */
async function checkMain({ flags }: ParsedArgs<typeof CHECK_FLAGS>): Promise<ExitCode> {
  const { server, proxy, json, strict } = flags;
  const seed = flags.seed ?? freshSeed();
  const run: RunSettings = {
    server: targetName(server),
    ...(proxy ? { proxy: targetName(proxy) } : {}),
    seed,
    strict,
  };
  try {
    return await checkRun(flags, run);
  } catch (error: unknown) {
    const failure = error instanceof Deno.errors.NotCapable ? permissionErrorOf(error) : error;
    if (json && failure instanceof CalcnetError) {
      console.log(failureJson(run, denoConfig.version, failure));
    }
    throw failure;
  }
}

async function checkRun(
  flags: ParsedArgs<typeof CHECK_FLAGS>["flags"],
  run: RunSettings,
): Promise<ExitCode> {
  const { server, proxy, json, strict } = flags;
  const seed = run.seed;
  const suites = suitesOf(flags.only, proxy !== undefined);
  const stopServer = stopServerOf(flags, suites);
  if (!json) console.log(headerLine(run, seed, strict));
  const report = await runCheck({
    server,
    suites,
    seed,
    strict,
    randomCount: flags.random,
    timeoutMs: flags.timeout,
    cacheControl: flags.maxAge,
    ...(proxy === undefined ? {} : { proxy }),
    ...(stopServer ? { stopServer } : {}),
    onNotice: (line) => printLine("stderr", [[`… ${line}`, "color: gray"]]),
    onResult: (result) => {
      if (!json) { for (const line of caseLines(result)) printLine("stdout", line); }
    },
    onSetupProblem: (problem) => {
      if (!json) { for (const line of setupLines(problem)) printLine("stdout", line); }
    },
  });
  const exitCode = report.ok ? ExitCode.Ok : ExitCode.Failure;
  if (json) console.log(reportJson(report, denoConfig.version, exitCode));
  else printSummary(report);
  return exitCode;
}

function printSummary(report: CheckReport): void {
  printLine("stdout", [[
    summaryLine(report.summary, report.setupProblems.length),
    report.ok ? "color: green" : "color: red; font-weight: bold",
  ]]);
}

/**
 * How the server is stopped for the server-down cases, if they run. Known
 * before the first case: a missing permission or terminal must not surface
 * after the whole suite.
 */
function stopServerOf(
  flags: ParsedArgs<typeof CHECK_FLAGS>["flags"],
  suites: ReadonlySet<SuiteName>,
): (() => Promise<void>) | undefined {
  const { proxy, server, stopServerCmd: command } = flags;
  if (!flags.serverDown && command === undefined) return undefined;
  if (proxy === undefined || !suites.has("proxy")) {
    throw new UsageError("--server-down and --stop-server-cmd need --proxy (and the proxy suite)");
  }
  if (command !== undefined) {
    requirePermission(
      { name: "run", command: SHELL[0] },
      "--allow-run",
      "--stop-server-cmd",
      "run it with deno run --allow-run (deno task check does), or leave --stop-server-cmd " +
        "out and stop the server yourself when asked",
    );
    return () => runStopCommand(command);
  }
  if (!Deno.stdin.isTerminal()) {
    throw new UsageError(
      "--server-down asks you to stop the server and waits for Enter, which needs a terminal; " +
        "without one, give --stop-server-cmd COMMAND (e.g. 'kill <pid>')",
    );
  }
  return () => askToStop(server);
}

function suitesOf(text: string | undefined, hasProxy: boolean): Set<SuiteName> {
  if (text === undefined) return defaultSuites(hasProxy);
  const suites = new Set<SuiteName>();
  for (const name of text.split(",").map((part) => part.trim())) {
    const suite = SUITE_NAMES.find((known) => known === name);
    if (suite === undefined) {
      throw new UsageError(`--only takes suites from ${SUITE_NAMES.join(", ")}, not '${name}'`);
    }
    suites.add(suite);
  }
  if (suites.has("proxy") && !hasProxy) {
    throw new UsageError("--only proxy needs --proxy HOST:PORT");
  }
  return suites;
}

function parseCacheControlRule(text: string): CacheControlRule {
  if (text === "any") return "any";
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value > MAX_AGE_FOREVER) {
    throw new UsageError(
      `--max-age must be a whole number from 0 to 65535 or 'any', not '${text}'`,
    );
  }
  return value;
}

/** Stops the server with `command`, run by the shell. */
async function runStopCommand(command: string): Promise<void> {
  const output = await new Deno.Command(SHELL[0], {
    args: [SHELL[1], command],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const printed = (decoder.decode(output.stdout) + decoder.decode(output.stderr)).trimEnd();
  if (printed !== "") console.error(printed);
  if (!output.success) {
    printLine("stderr", [[
      `… the stop command exited with status ${output.code}`,
      "color: yellow",
    ]]);
  }
}

/** Asks the user to stop the server and waits for Enter. */
async function askToStop(server: Target): Promise<void> {
  printLine("stderr", [[
    `Stop the server at ${targetName(server)} now (leave the proxy running), then press Enter.`,
    "font-weight: bold",
  ]]);
  await readLine();
}

/** Waits for a line (or the end) of standard input. */
async function readLine(): Promise<void> {
  const reader = Deno.stdin.readable.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || value.includes(0x0a)) return;
    }
  } finally {
    reader.releaseLock();
  }
}

/** `calcnet check`. */
export const checkCommand: Command = command(CHECK_SPEC, checkMain);
