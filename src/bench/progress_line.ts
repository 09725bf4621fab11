/**
 * The live progress line of a load run: one line on a terminal's stderr,
 * rewritten in place with a carriage return. Off the terminal it writes
 * nothing, so piped output holds only the final report.
 *
 * @module
 */

import type { LoadProgress } from "./load_generator.ts";
import { formatCount } from "./report.ts";

/** A progress line that can be updated and finally cleared. */
export interface ProgressLine {
  /** Shows the latest counters. */
  update(progress: LoadProgress): void;
  /** Erases the line (before the final report). */
  clear(): void;
}

/** What the line is written to (stderr by default). */
export interface TerminalSink {
  /** Writes bytes synchronously. */
  writeSync(bytes: Uint8Array): number;
  /** Whether it is a terminal. */
  isTerminal(): boolean;
}

/** Writes `text` whole, looping over partial writes. */
function writeText(sink: TerminalSink, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += sink.writeSync(bytes.subarray(offset));
}

/**
 * Makes a progress line for a run with `total` seconds or requests planned.
 * On a non-terminal sink both methods do nothing.
 *
 * @example
 * ```ts
 * const line = progressLine(Deno.stderr, "of 10 s");
 * line.update({ phase: "measuring", elapsedMs: 1500, ok: 30000, errors: 0 });
 * line.clear();
 * ```
 */
export function progressLine(sink: TerminalSink, plan: string): ProgressLine {
  if (!sink.isTerminal()) return { update: () => {}, clear: () => {} };
  let lastOk = 0;
  let lastElapsed = 0;
  return {
    update(progress: LoadProgress): void {
      if (progress.phase === "warmup") {
        writeText(sink, "\r\x1b[Kwarming up…");
        return;
      }
      // The rate over the last interval: what the target does now, not the average.
      const window = progress.elapsedMs - lastElapsed;
      const rate = window > 0 ? (progress.ok - lastOk) / (window / 1000) : 0;
      lastOk = progress.ok;
      lastElapsed = progress.elapsedMs;
      writeText(
        sink,
        `\r\x1b[K${(progress.elapsedMs / 1000).toFixed(1)} s ${plan}: ` +
          `${formatCount(rate)} requests/s, ${formatCount(progress.ok)} answered, ` +
          `${formatCount(progress.errors)} errors`,
      );
    },
    clear(): void {
      writeText(sink, "\r\x1b[K");
    },
  };
}
