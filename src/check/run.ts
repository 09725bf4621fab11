/**
 * Runs `calcnet check`: builds the suites for the targets, runs their steps
 * in order, and collects a verdict per case.
 *
 * @module
 */

import { ConnectionError } from "../base/mod.ts";
import { type CaseContext, type CaseResult, type CheckCase, failureOf, type Step } from "./case.ts";
import { CaseFailure, type Sent, type Target, targetName } from "./case_failure.ts";
import type { CacheControlRule } from "./expectation.ts";
import { notListening, Probe } from "./probe.ts";
import { freshNonce, proxySuite } from "./proxy_suite.ts";
import { robustnessSuite } from "./robustness_suite.ts";
import { serverSuite } from "./server_suite.ts";
import { SetupProblem, type SetupProblemReport } from "./setup_problem.ts";

/** The suites a run can include. */
export type SuiteName = "server" | "robustness" | "proxy";

/** Every suite, in the order they run. */
export const SUITE_NAMES: readonly SuiteName[] = ["server", "robustness", "proxy"];

/** Options of {@linkcode runCheck}. */
export interface CheckOptions {
  /** The server (behind the proxy, when there is one). */
  readonly server: Target;
  /** The proxy; without it the proxy suite does not run. */
  readonly proxy?: Target;
  /** The suites to run (default: all that the targets allow). */
  readonly suites?: ReadonlySet<SuiteName>;
  /** The seed of everything random except the proxy suite's fresh numbers. */
  readonly seed: number;
  /** How many random expressions `server/random` sends. */
  readonly randomCount: number;
  /** Robustness gaps fail the run instead of warning. */
  readonly strict: boolean;
  /** How long to wait for any one answer or connection, in milliseconds. */
  readonly timeoutMs: number;
  /** The C flag and max-age the server's answers must carry. */
  readonly cacheControl: CacheControlRule;
  /**
   * Stops the server; when given (with a proxy), the server-down cases run.
   * The server then has twice the timeout to stop accepting connections.
   */
  readonly stopServer?: () => Promise<void>;
  /** The proxy suite's fresh number (default: drawn from the system's generator). */
  readonly nonce?: bigint;
  /** Told about each case as it finishes. */
  readonly onResult?: (result: CaseResult) => void;
  /** Told what the run is doing between cases (waits, priming, stopping the server). */
  readonly onNotice?: (line: string) => void;
  /** Told of a setup problem, which ends the run. */
  readonly onSetupProblem?: (problem: SetupProblemReport) => void;
}

/** Counts of the verdicts. */
export interface Summary {
  /** Cases that passed. */
  readonly passed: number;
  /** Cases that failed. */
  readonly failed: number;
  /** Robustness cases that failed in a run that is not strict. */
  readonly warnings: number;
}

/** The outcome of a run. */
export interface CheckReport {
  /** The seed, to replay the run with `--seed`. */
  readonly seed: number;
  /** "host:port" of the server. */
  readonly server: string;
  /** "host:port" of the proxy, if one was checked. */
  readonly proxy?: string;
  /** Whether robustness gaps were failures. */
  readonly strict: boolean;
  /** Every case, in the order it ran. */
  readonly results: readonly CaseResult[];
  /** The counts. */
  readonly summary: Summary;
  /** What kept the run from checking everything (it stopped there). */
  readonly setupProblems: readonly SetupProblemReport[];
  /** No case failed and nothing kept the run from checking everything. */
  readonly ok: boolean;
}

/** The suites a run includes when none are named. */
export function defaultSuites(hasProxy: boolean): Set<SuiteName> {
  return new Set(SUITE_NAMES.filter((name) => name !== "proxy" || hasProxy));
}

/**
 * Checks the targets and reports every case.
 *
 * @throws {ConnectionError} when a target does not accept connections at all.
 */
export async function runCheck(options: CheckOptions): Promise<CheckReport> {
  const suites = options.suites ?? defaultSuites(options.proxy !== undefined);
  for (const target of [options.server, ...(options.proxy ? [options.proxy] : [])]) {
    const why = await notListening(target, options.timeoutMs);
    if (why !== null) throw new ConnectionError(`cannot connect to ${targetName(target)}: ${why}`);
  }
  const steps: Step[] = [];
  if (suites.has("server")) steps.push(...serverSuite(options.server, options));
  if (suites.has("robustness")) steps.push(...robustnessSuite(options.server, options));
  if (suites.has("proxy") && options.proxy !== undefined) {
    steps.push(...proxySuite(options.proxy, {
      server: options.server,
      cacheControl: options.cacheControl,
      nonce: options.nonce ?? freshNonce(),
      stopWaitMs: 2 * options.timeoutMs,
      ...(options.stopServer ? { stopServer: options.stopServer } : {}),
    }));
  }
  const { results, setupProblems } = await runSteps(steps, options);
  const count = (verdict: CaseResult["verdict"]): number =>
    results.filter((result) => result.verdict === verdict).length;
  const summary = { passed: count("pass"), failed: count("fail"), warnings: count("warn") };
  return {
    seed: options.seed,
    server: targetName(options.server),
    ...(options.proxy ? { proxy: targetName(options.proxy) } : {}),
    strict: options.strict,
    results,
    summary,
    setupProblems,
    ok: summary.failed === 0 && setupProblems.length === 0,
  };
}

/** Runs `steps` in order; a setup problem is reported and ends the run. */
async function runSteps(
  steps: readonly Step[],
  options: CheckOptions,
): Promise<{ results: CaseResult[]; setupProblems: SetupProblemReport[] }> {
  const results: CaseResult[] = [];
  for (const [index, step] of steps.entries()) {
    const scope = new CaseScope(options.timeoutMs);
    try {
      if (step.kind === "action") {
        options.onNotice?.(step.describe);
        await step.run(scope.context);
      } else {
        const result = await runCase(step.check, scope, options.strict);
        results.push(result);
        options.onResult?.(result);
      }
    } catch (error: unknown) {
      if (!(error instanceof SetupProblem)) throw error;
      const skipped = steps.slice(index + 1).filter((later) => later.kind === "case").length;
      const problem = { message: error.message, hint: error.hint, skipped };
      options.onSetupProblem?.(problem);
      return { results, setupProblems: [problem] };
    } finally {
      scope.close();
    }
  }
  return { results, setupProblems: [] };
}

async function runCase(check: CheckCase, scope: CaseScope, strict: boolean): Promise<CaseResult> {
  const started = performance.now();
  const base = { id: check.id, title: check.title, kind: check.kind };
  try {
    await check.run(scope.context);
    return { ...base, verdict: "pass", ms: performance.now() - started };
  } catch (error: unknown) {
    if (!(error instanceof CaseFailure)) throw error;
    return {
      ...base,
      verdict: check.kind === "robustness" && !strict ? "warn" : "fail",
      ms: performance.now() - started,
      failure: failureOf(error, scope.lastSent),
    };
  }
}

/** The connections one step opened and what it sent last. */
class CaseScope {
  readonly #probes: Probe[] = [];
  lastSent: Sent | undefined;
  readonly context: CaseContext;

  constructor(timeoutMs: number) {
    this.context = {
      timeoutMs,
      open: async (target) => {
        const probe = await Probe.open(target, {
          connectTimeoutMs: timeoutMs,
          record: (sent) => {
            this.lastSent = sent;
          },
        });
        this.#probes.push(probe);
        return probe;
      },
      lastSent: () => this.lastSent,
    };
  }

  /** Closes every connection the step opened. */
  close(): void {
    for (const probe of this.#probes) probe.close();
  }
}
