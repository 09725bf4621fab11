/**
 * The human-readable report of one load run, and the number formats the
 * benchmark tables share.
 *
 * @module
 */

import type { ErrorKind } from "./error_kind.ts";
import type { LoadResult, TargetTally } from "./load_generator.ts";

/** A count with thousands separators: 123,456. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** Milliseconds with a precision that suits their size: 0.042 ms, 1.25 ms, 310 ms. */
export function formatMs(ms: number): string {
  const digits = ms < 1 ? 3 : ms < 10 ? 2 : ms < 100 ? 1 : 0;
  return `${ms.toFixed(digits)} ms`;
}

/** Bytes in B, kB, MB or GB (powers of 1000). */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB"] as const;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Resident memory in MB (10^6 bytes, as the budget counts), or "unknown" when not measured. */
export function formatMemory(bytes: number | undefined): string {
  return bytes === undefined ? "unknown" : `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Failures by kind as "refused 3, status 400 12", or "none". */
export function formatErrors(errors: Readonly<Partial<Record<ErrorKind, number>>>): string {
  const parts = Object.entries(errors).map(([kind, count]) => `${kind} ${formatCount(count ?? 0)}`);
  return parts.length === 0 ? "none" : parts.join(", ");
}

/** Each target's share: "127.0.0.1:9998 1,000 answered, 127.0.0.1:9997 990 answered (2 errors)". */
function formatTargets(byTarget: readonly TargetTally[]): string {
  return byTarget.map(({ target, ok, errorCount }) => {
    const errors = errorCount === 0
      ? ""
      : ` (${formatCount(errorCount)} error${errorCount === 1 ? "" : "s"})`;
    return `${target} ${formatCount(ok)} answered${errors}`;
  }).join(", ");
}

/**
 * The final report of `calcnet bench`: throughput, latency percentiles,
 * errors by kind and bytes each way; with several targets, each one's
 * answered requests under the total.
 *
 * @example
 * ```ts
 * console.log(formatReport(result, "max(2, 3) + 3 with steps"));
 * ```
 */
export function formatReport(result: LoadResult, request: string): string {
  const mode = result.newConnection ? "a new connection per request" : "persistent";
  const perRequest = (bytes: number): string => {
    const exchanges = result.ok + result.errorCount;
    return exchanges === 0 ? "" : ` (${formatCount(bytes / exchanges)} B per request)`;
  };
  const latency = result.latencyMs;
  const several = result.byTarget.length > 1;
  return [
    `target${several ? "s    " : "     "}${result.target}, ${result.connections} connection${
      result.connections === 1 ? "" : "s"
    } (${mode}${several ? ", spread round robin" : ""})`,
    `request    ${request}`,
    `throughput ${formatCount(result.requestsPerSecond)} requests/s ` +
    `(${formatCount(result.ok)} answered in ${(result.elapsedMs / 1000).toFixed(2)} s)`,
    ...(several ? [`by target  ${formatTargets(result.byTarget)}`] : []),
    `latency    p50 ${formatMs(latency.p50)}, p90 ${formatMs(latency.p90)}, ` +
    `p99 ${formatMs(latency.p99)}, max ${formatMs(latency.max)}`,
    `errors     ${formatErrors(result.errors)}`,
    `sent       ${formatBytes(result.bytesSent)}${perRequest(result.bytesSent)}`,
    `received   ${formatBytes(result.bytesReceived)}${perRequest(result.bytesReceived)}`,
  ].join("\n");
}
