/**
 * Crash-safe file replacement: write a uniquely named temporary file next to
 * the target, `fsync` it, close it, then rename it over the target. A rename
 * within one directory is atomic, so a process killed at any moment (even by
 * SIGKILL) leaves either the previous file or the new complete one. A killed
 * writer may leave its temporary file behind; {@linkcode removeStaleTempFiles}
 * removes those (and only those) on the next start.
 *
 * Temporary files are named `<target name>.tmp-<pid>-<8 hex digits>`. One
 * process at a time should own a target file.
 *
 * @module
 */

import { isIoError } from "./io_error.ts";
import { writeAll } from "../protocol/packet_stream.ts";

/** The part of a temporary file's name after the target's name. */
const TEMP_SUFFIX = /^\.tmp-\d+-[0-9a-f]{8}$/;

/** Permissions of a written file: read and write for the owner only. */
const DEFAULT_FILE_MODE = 0o600;

/** Permissions of a created parent directory: the owner only. */
const DEFAULT_DIR_MODE = 0o700;

/** Options of {@linkcode writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** The new file's permission bits on POSIX systems (default 0o600; ignored on Windows). */
  readonly mode?: number;
  /** The permission bits of parent directories it creates (default 0o700; ignored on Windows). */
  readonly dirMode?: number;
}

/** A path split into its directory (with its trailing separator, or "") and its last part. */
function splitPath(path: string): { readonly dir: string; readonly name: string } {
  const slash = path.lastIndexOf("/");
  const cut = Deno.build.os === "windows" ? Math.max(slash, path.lastIndexOf("\\")) : slash;
  return { dir: path.slice(0, cut + 1), name: path.slice(cut + 1) };
}

/** `options` plus `mode` on systems that have permission bits. */
function withMode<T extends object>(options: T, mode: number): T & { mode?: number } {
  return Deno.build.os === "windows" ? options : { ...options, mode };
}

/** A fresh temporary file name for target `name`. */
function tempFileName(name: string): string {
  const random = crypto.getRandomValues(new Uint8Array(4)).toHex();
  return `${name}.tmp-${Deno.pid}-${random}`;
}

/** Removes `path`, ignoring I/O failures: a leftover is cleaned up on the next start. */
async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!isIoError(error)) throw error;
  }
}

/**
 * Replaces the file at `path` with the concatenated `chunks`, atomically:
 * creates missing parent directories, writes a temporary file in the same
 * directory (awaiting each chunk's write, so a lazily produced chunk sequence
 * is built across event-loop turns), syncs it to disk, closes it and renames
 * it over `path`. On failure the temporary file is removed and the error is
 * rethrown; `path` is then untouched.
 */
export async function writeFileAtomic(
  path: string,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const { dir, name } = splitPath(path);
  if (dir !== "") {
    await Deno.mkdir(dir, withMode({ recursive: true }, options.dirMode ?? DEFAULT_DIR_MODE));
  }
  const temp = dir + tempFileName(name);
  const file = await Deno.open(
    temp,
    withMode({ write: true, createNew: true }, options.mode ?? DEFAULT_FILE_MODE),
  );
  let renamed = false;
  try {
    try {
      for await (const chunk of chunks) await writeAll(file, chunk);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
    renamed = true;
  } finally {
    if (!renamed) await removeQuietly(temp);
  }
}

/**
 * Removes the temporary files that interrupted {@linkcode writeFileAtomic}
 * calls for `path` left behind: files in its directory named
 * `<name>.tmp-<digits>-<8 hex digits>`, nothing else. Returns how many were
 * removed; a missing directory counts as none.
 */
export async function removeStaleTempFiles(path: string): Promise<number> {
  const { dir, name } = splitPath(path);
  const prefix = `${name}.tmp-`;
  const stale: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir === "" ? "." : dir)) {
      if (
        entry.isFile && entry.name.startsWith(prefix) &&
        TEMP_SUFFIX.test(entry.name.slice(name.length))
      ) {
        stale.push(dir + entry.name);
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
  for (const temp of stale) await Deno.remove(temp);
  return stale.length;
}
