/**
 * `calcnet check`'s engine: conformance and robustness suites for any
 * server and proxy that speak the protocol, each case compared with the
 * course's recorded answers ({@linkcode runCheck}), and the report in text
 * or JSON. Above `client/`-level code: it talks to its targets through raw
 * probes (`probe.ts`).
 *
 * @module
 */

export { type Target, targetName } from "./case_failure.ts";
export { type CacheControlRule } from "./expectation.ts";
export {
  caseLines,
  failureJson,
  headerLine,
  reportJson,
  type RunSettings,
  setupLines,
  summaryLine,
} from "./report.ts";
export { type SetupProblemReport } from "./setup_problem.ts";
export { type CheckReport, defaultSuites, runCheck, SUITE_NAMES, type SuiteName } from "./run.ts";
export { freshSeed, MAX_SEED } from "./seeded_random.ts";
