/**
 * `--record FILE.pcapng` and `--record-max-bytes N`, shared by `calcnet proxy`
 * and `calcnet demo`: the capture file they record into, opened with a
 * one-line error when the path cannot be used.
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };
import { UsageError } from "../base/mod.ts";
import { CaptureFile, DEFAULT_MAX_CAPTURE_BYTES, RecordingTap } from "../capture/mod.ts";
import { flag } from "../term/mod.ts";

/** The recording flags. */
export const RECORD_FLAGS = {
  record: flag.string(
    "record every byte read and written into FILE, a pcapng capture Wireshark opens (no root needed)",
    { value: "FILE" },
  ),
  "record-max-bytes": flag.integer("stop recording when the capture file reaches this size", {
    min: 4096,
    max: Number.MAX_SAFE_INTEGER,
    default: DEFAULT_MAX_CAPTURE_BYTES,
  }),
} as const;

/** A recording in progress: the tap that records, and the file to finish. */
export interface Recording extends Disposable {
  /** The tap to give the services. */
  readonly tap: RecordingTap;
  /** The file's path. */
  readonly path: string;
}

/**
 * Creates the capture file `path` (truncating it) and a tap that records into it;
 * `warn` is told once if recording stops early (size limit, write error).
 *
 * @throws {UsageError} when the file cannot be created (one line, naming it).
 */
export function startRecording(
  path: string,
  maxBytes: number,
  warn: (line: string) => void,
): Recording {
  let file: CaptureFile;
  try {
    file = CaptureFile.create(path, {
      maxBytes,
      application: `calcnet ${denoConfig.version}`,
      onStop: (reason) => warn(`recording into ${path} stopped: ${reason}`),
    });
  } catch (error: unknown) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new UsageError(`cannot record into ${path}: run with --allow-write`);
    }
    if (!(error instanceof Error) || error instanceof RangeError) throw error;
    throw new UsageError(`cannot record into ${path}: ${error.message}`);
  }
  return {
    tap: new RecordingTap(file),
    path,
    [Symbol.dispose]() {
      file.finish();
    },
  };
}
