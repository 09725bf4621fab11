/**
 * The thin file shell around {@linkcode PcapngWriter}: each block goes to
 * the file in one synchronous write, straight to the operating system (no
 * buffer in the process), so a process that is killed leaves a file that
 * Wireshark reads up to the last whole block.
 *
 * @module
 */

import { PcapngWriter } from "./pcapng_writer.ts";
import type { RecordedConnection, Recorder, Side } from "./recorder.ts";

/** Options of {@linkcode CaptureFile.create}. */
export interface CaptureFileOptions {
  /** The most bytes the file may take (default 64 MiB). */
  readonly maxBytes?: number;
  /** The recording application, for the file's section header. */
  readonly application?: string;
  /** Called once when recording stops early (size limit reached, write error). */
  readonly onStop?: (reason: string) => void;
}

/**
 * A pcapng file being recorded: a {@linkcode Recorder} that writes each
 * packet as it happens. `finish()` (or `using`) closes the file.
 *
 * @example
 * ```ts
 * using capture = CaptureFile.create("proxy.pcapng", { maxBytes: 10_000_000 });
 * capture.open(conn);
 * capture.data(conn, "client", bytes);
 * capture.close(conn, "client");
 * ```
 */
export class CaptureFile implements Recorder, Disposable {
  readonly #file: Deno.FsFile;
  readonly #writer: PcapngWriter;
  #finished = false;

  private constructor(file: Deno.FsFile, options: CaptureFileOptions) {
    this.#file = file;
    this.#writer = new PcapngWriter({
      write: (block) => writeAllSync(file, block),
      ...options,
    });
  }

  /**
   * Creates (or truncates) `path` and writes the capture's header.
   *
   * @throws {Deno.errors.NotFound} and the like when the file cannot be created.
   * @throws {RangeError} when `maxBytes` is too small for a single packet.
   */
  static create(path: string, options: CaptureFileOptions = {}): CaptureFile {
    const file = Deno.openSync(path, { write: true, create: true, truncate: true });
    try {
      return new CaptureFile(file, options);
    } catch (error: unknown) {
      file.close();
      throw error;
    }
  }

  /** Bytes in the file. */
  get bytesWritten(): number {
    return this.#writer.bytesWritten;
  }

  /** Why recording stopped early, or undefined. */
  get stopReason(): string | undefined {
    return this.#writer.stopReason;
  }

  /** See {@linkcode Recorder.open}. */
  open(conn: RecordedConnection, timeMs?: number): void {
    if (!this.#finished) this.#writer.open(conn, timeMs);
  }

  /** See {@linkcode Recorder.data}. */
  data(conn: RecordedConnection, from: Side, bytes: Uint8Array, timeMs?: number): void {
    if (!this.#finished) this.#writer.data(conn, from, bytes, timeMs);
  }

  /** See {@linkcode Recorder.close}. */
  close(conn: RecordedConnection, by: Side, timeMs?: number): void {
    if (!this.#finished) this.#writer.close(conn, by, timeMs);
  }

  /** Closes the file; later calls record nothing. Connections still open stay without FIN. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#file.close();
  }

  /** Same as {@linkcode finish}. */
  [Symbol.dispose](): void {
    this.finish();
  }
}

function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}
