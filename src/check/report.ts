/**
 * How a check run is shown: a line per case (with what was sent, expected
 * and got for failures) and a summary line for people, or one JSON document
 * for CI. Pure: the caller prints.
 *
 * @module
 */

import type { Styled } from "../term/mod.ts";
import type { CaseResult, Verdict } from "./case.ts";
import type { CheckReport, Summary } from "./run.ts";
import type { SetupProblemReport } from "./setup_problem.ts";

const VERDICT_STYLE: Readonly<Record<Verdict, readonly [label: string, css: string]>> = {
  pass: ["PASS", "color: green"],
  fail: ["FAIL", "color: red; font-weight: bold"],
  warn: ["WARN", "color: yellow"],
};

/** The first line of a run: what is checked and how to replay it. */
export function headerLine(
  targets: { readonly server: string; readonly proxy?: string },
  seed: number,
  strict: boolean,
): string {
  return `calcnet check: server ${targets.server}${
    targets.proxy ? `, proxy ${targets.proxy}` : ""
  }, ` +
    `seed ${seed} (replay with --seed ${seed})${strict ? ", strict" : ""}`;
}

/** The lines of one case: the verdict line, then sent / expected / got for a FAIL or WARN. */
export function caseLines(result: CaseResult): Styled[][] {
  const [label, css] = VERDICT_STYLE[result.verdict];
  const lines: Styled[][] = [[
    [label, css],
    [`  ${result.id}`, "font-weight: bold"],
    [`  ${result.title}`],
    [` (${formatMs(result.ms)})`, "color: gray"],
  ]];
  const failure = result.failure;
  if (failure === undefined) return lines;
  if (failure.sent !== undefined) {
    const { description, length, hex } = failure.sent;
    lines.push([["      sent:     ", "color: gray"], [`${description}, ${length} bytes: ${hex}`]]);
  }
  lines.push([["      expected: ", "color: gray"], [failure.expected]]);
  lines.push([["      got:      ", "color: gray"], [failure.got, css]]);
  return lines;
}

/** The lines of a setup problem: what kept the run from checking everything, and a hint. */
export function setupLines(problem: SetupProblemReport): Styled[][] {
  const [, css] = VERDICT_STYLE.fail;
  return [
    [["SETUP", css], [`  ${problem.message}`], [` (${plural(problem.skipped, "case")} not run)`]],
    [["      hint: ", "color: gray"], [problem.hint]],
  ];
}

/** "N passed, N failed, N warnings", and ", N setup problem(s)" when there were any. */
export function summaryLine(summary: Summary, setupProblems = 0): string {
  return `${summary.passed} passed, ${summary.failed} failed, ${
    plural(summary.warnings, "warning")
  }` + (setupProblems > 0 ? `, ${plural(setupProblems, "setup problem")}` : "");
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The whole run as one JSON document (snake_case keys, as `calcnet client --json`). */
export function reportJson(report: CheckReport, version: string, exitCode: number): string {
  return JSON.stringify(
    {
      tool: "calcnet check",
      version,
      server: report.server,
      proxy: report.proxy ?? null,
      seed: report.seed,
      strict: report.strict,
      ok: report.ok,
      exit_code: exitCode,
      summary: report.summary,
      setup_problems: report.setupProblems,
      cases: report.results.map((result) => ({
        id: result.id,
        title: result.title,
        kind: result.kind,
        verdict: result.verdict,
        ms: Math.round(result.ms * 10) / 10,
        ...(result.failure === undefined ? {} : {
          failure: {
            sent: result.failure.sent ?? null,
            expected: result.failure.expected,
            got: result.failure.got,
          },
        }),
      })),
    },
    null,
    2,
  );
}

/** The settings of a run, as its JSON document names them. */
export interface RunSettings {
  /** "host:port" of the server. */
  readonly server: string;
  /** "host:port" of the proxy, if one was to be checked. */
  readonly proxy?: string;
  /** The seed. */
  readonly seed: number;
  /** Whether robustness gaps were to be failures. */
  readonly strict: boolean;
}

/**
 * A run that ended before any case (a target that accepts no connection, a
 * usage error): the JSON document of {@linkcode reportJson}, with the error,
 * the exit code, and no cases.
 */
export function failureJson(
  run: RunSettings,
  version: string,
  error: { readonly message: string; readonly exitCode: number },
): string {
  return JSON.stringify(
    {
      tool: "calcnet check",
      version,
      server: run.server,
      proxy: run.proxy ?? null,
      seed: run.seed,
      strict: run.strict,
      ok: false,
      exit_code: error.exitCode,
      error: error.message,
      summary: null,
      setup_problems: [],
      cases: [],
    },
    null,
    2,
  );
}
