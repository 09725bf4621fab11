/**
 * The result model of `calcnet check`: what a case is, how it fails, and
 * what is reported for it.
 *
 * @module
 */

import type { Probe } from "./probe.ts";
import type { CaseFailure, Sent, Target } from "./case_failure.ts";

/**
 * Conformance cases test what the protocol requires (a failure fails the
 * run); robustness cases test what a careful implementation also survives
 * (a failure is a warning unless the run is strict).
 */
export type CaseKind = "conformance" | "robustness";

/** The outcome of one case. */
export type Verdict = "pass" | "fail" | "warn";

/** The details of a FAIL or WARN. */
export interface Failure {
  /** What was sent last, if anything was. */
  readonly sent?: {
    readonly description: string;
    /** The first bytes, in hex. */
    readonly hex: string;
    /** The full length in bytes. */
    readonly length: number;
  };
  /** What was expected. */
  readonly expected: string;
  /** What came back. */
  readonly got: string;
}

/** One reported case. */
export interface CaseResult {
  /** A stable name, e.g. "server/example-2-steps" or "proxy/miss-then-hit". */
  readonly id: string;
  /** One line: what the case checks. */
  readonly title: string;
  /** Conformance or robustness. */
  readonly kind: CaseKind;
  /** Its outcome. */
  readonly verdict: Verdict;
  /** How long it took, in milliseconds. */
  readonly ms: number;
  /** Present for FAIL and WARN. */
  readonly failure?: Failure;
}

/** Bytes of a sent packet shown in a report. */
export const HEX_PREFIX_BYTES = 48;

/** The first {@linkcode HEX_PREFIX_BYTES} bytes in hex, "…" when longer. */
export function hexPrefix(bytes: Uint8Array): string {
  const shown = bytes.subarray(0, HEX_PREFIX_BYTES);
  const hex = Array.from(shown, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return bytes.length > HEX_PREFIX_BYTES ? `${hex}…` : hex;
}

/** The report form of a failure and what was sent. */
export function failureOf(failure: CaseFailure, sent: Sent | undefined): Failure {
  const shown = failure.sent ?? sent;
  return {
    ...(shown === undefined ? {} : {
      sent: {
        description: shown.description,
        hex: hexPrefix(shown.bytes),
        length: shown.bytes.length,
      },
    }),
    expected: failure.expected,
    got: failure.got,
  };
}

/** What a case runs with; the runner closes every connection it opened when it ends. */
export interface CaseContext {
  /**
   * Opens a connection to `target`.
   *
   * @throws {CaseFailure} when it cannot connect.
   */
  open(target: Target): Promise<Probe>;
  /** How long to wait for any one answer, in milliseconds. */
  readonly timeoutMs: number;
  /** What the case sent last. */
  lastSent(): Sent | undefined;
}

/** One check: throws {@linkcode CaseFailure} when the peer misbehaves. */
export interface CheckCase {
  /** A stable name, e.g. "server/example-2-steps". */
  readonly id: string;
  /** One line: what it checks. */
  readonly title: string;
  /** Conformance or robustness. */
  readonly kind: CaseKind;
  /** Runs the check. */
  run(context: CaseContext): Promise<void>;
}

/**
 * What a suite is made of: cases, and actions between them (priming a
 * cache, waiting for the clock, stopping the server). An action must not
 * throw {@linkcode CaseFailure}: what it finds is for later cases to report.
 */
export type Step =
  | { readonly kind: "case"; readonly check: CheckCase }
  | {
    readonly kind: "action";
    /** What it does, announced before it runs ("waiting 1.2 s …"). */
    readonly describe: string;
    run(context: CaseContext): Promise<void>;
  };
