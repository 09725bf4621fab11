/**
 * Times as `calcnet decode` shows them: UTC, with the capture's
 * microseconds.
 *
 * @module
 */

const NANOS_PER_MICRO = 1000n;
const MICROS_PER_SECOND = 1_000_000n;
const MS_PER_SECOND = 1000;
const NANOS_PER_SECOND = 1e9;

/** `2024-05-01 12:00:00.004200` (UTC) for a Unix time in nanoseconds. */
export function captureTimeText(timeNs: bigint): string {
  const micros = timeNs / NANOS_PER_MICRO;
  const seconds = micros / MICROS_PER_SECOND;
  const fraction = (micros % MICROS_PER_SECOND + MICROS_PER_SECOND) % MICROS_PER_SECOND;
  const whole = fraction === 0n || micros >= 0n ? seconds : seconds - 1n;
  return `${secondsText(Number(whole))}.${fraction.toString().padStart(6, "0")}`;
}

/** `2024-05-01 12:00:00` (UTC) for Unix seconds; beyond JavaScript's dates, the number. */
export function secondsText(seconds: number): string {
  const date = new Date(seconds * MS_PER_SECOND);
  if (Number.isNaN(date.getTime())) return String(seconds);
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/** A Unix time in nanoseconds as seconds (a float, microsecond-exact for current dates). */
export function epochSeconds(timeNs: bigint): number {
  return Number(timeNs / NANOS_PER_MICRO) / Number(MICROS_PER_SECOND);
}

/** A duration in nanoseconds as seconds (a float). */
export function durationSeconds(ns: bigint): number {
  return Number(ns) / NANOS_PER_SECOND;
}

/** `0.412 ms` (below a second) or `2.500 s` for a duration in nanoseconds. */
export function durationText(ns: bigint): string {
  const seconds = durationSeconds(ns);
  return seconds < 1 ? `${(seconds * MS_PER_SECOND).toFixed(3)} ms` : `${seconds.toFixed(3)} s`;
}
