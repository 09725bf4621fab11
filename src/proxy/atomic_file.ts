/**
 * Crash-safe file replacement: write a uniquely named temporary file next to
 * the target, `fsync` it, close it, then rename it over the target. A rename
 * within one directory is atomic, so a process killed at any moment (even by
 * SIGKILL) leaves either the previous file or the new complete one. A killed
 * writer may leave its temporary file behind; {@linkcode removeStaleTempFiles}
 * removes those (and only those) on the next start.
 *
 * A target that is a symbolic link is written through: the temporary file
 * goes next to the file the link names and replaces that file, and the link
 * stays a link.
 *
 * Temporary files are named `<target name>.tmp-<pid>-<8 hex digits>`. One
 * process at a time should own a target file (see `cache_lock.ts`).
 *
 * @module
 */

import { ioReason, isIoError } from "./io_error.ts";
import { directoryOf, linkTarget } from "./link_target.ts";
import { writeAll } from "../protocol/mod.ts";

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

/** The steps of {@linkcode writeFileAtomic} that can fail, as its messages name them. */
export type AtomicWriteStep =
  | "follow the link"
  | "create the directory"
  | "create a temporary file"
  | "write"
  | "replace the file";

/**
 * An I/O failure of {@linkcode writeFileAtomic}: which step failed for which
 * target, and why, in words that stay the same from one attempt to the next
 * (the random temporary file name is left out), so that a repeated failure
 * can be recognised.
 */
export class AtomicWriteError extends Error {
  /** The class name, as error messages show it. */
  /** The class name, as messages and logs show it. */
  override name: string = "AtomicWriteError";
  /** The step that failed. */
  readonly step: AtomicWriteStep;
  /** The system's error code (`EACCES`, `ENOSPC`, ...) or the error's class name. */
  readonly code: string;
  /** The system's reason, e.g. "Permission denied (os error 13)". */
  readonly reason: string;

  /** Wraps `cause`, the error of `step` while writing `target`. */
  constructor(step: AtomicWriteStep, target: string, cause: Error) {
    const reason = ioReason(cause);
    super(`cannot ${step} for ${target}: ${reason}`, { cause });
    this.step = step;
    this.reason = reason;
    this.code = "code" in cause && typeof cause.code === "string" ? cause.code : cause.name;
  }
}

/** A path split into its directory (with its trailing separator, or "") and its last part. */
function splitPath(path: string): { readonly dir: string; readonly name: string } {
  const dir = directoryOf(path);
  return { dir, name: path.slice(dir.length) };
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

/** Runs `action`; an I/O failure becomes an {@linkcode AtomicWriteError} of `step`. */
async function step<T>(
  name: AtomicWriteStep,
  target: string,
  action: () => Promise<T>,
): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (isIoError(error) && !(error instanceof AtomicWriteError)) {
      throw new AtomicWriteError(name, target, error);
    }
    throw error;
  }
}

/** Creates `dir` and its missing parents (0700) unless it is the current directory. */
async function makeDirectory(dir: string, target: string, mode: number): Promise<void> {
  if (dir === "") return;
  await step(
    "create the directory",
    target,
    () => Deno.mkdir(dir, withMode({ recursive: true }, mode)),
  );
}

/** Creates a fresh temporary file next to `target`; returns its path and handle. */
async function createTemp(
  target: string,
  mode: number,
): Promise<{ readonly temp: string; readonly file: Deno.FsFile }> {
  const { dir, name } = splitPath(target);
  const temp = dir + tempFileName(name);
  const file = await step(
    "create a temporary file",
    target,
    () => Deno.open(temp, withMode({ write: true, createNew: true }, mode)),
  );
  return { temp, file };
}

/**
 * Replaces the file at `path` (or, when `path` is a symbolic link, at the
 * file it names) with the concatenated `chunks`, atomically: creates
 * missing parent directories, writes a temporary file in the same directory
 * (awaiting each chunk's write, so a lazily produced chunk sequence is built
 * across event-loop turns), syncs it to disk, closes it and renames it over
 * the target. On failure the temporary file is removed and the target is
 * untouched.
 *
 * @throws {AtomicWriteError} for a failed step (disk full, permission).
 * @throws the chunk source's own errors unchanged.
 */
export async function writeFileAtomic(
  path: string,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const target = await step("follow the link", path, () => linkTarget(path));
  await makeDirectory(directoryOf(target), target, options.dirMode ?? DEFAULT_DIR_MODE);
  const { temp, file } = await createTemp(target, options.mode ?? DEFAULT_FILE_MODE);
  let renamed = false;
  try {
    await step("write", target, async () => {
      try {
        for await (const chunk of chunks) await writeAll(file, chunk);
        await file.sync();
      } finally {
        file.close();
      }
    });
    await step("replace the file", target, () => Deno.rename(temp, target));
    renamed = true;
  } finally {
    if (!renamed) await removeQuietly(temp);
  }
}

/**
 * Checks that {@linkcode writeFileAtomic} can write `path`: creates its
 * missing parent directories and a temporary file next to its (link)
 * target, then removes that file.
 *
 * @throws {AtomicWriteError} when it cannot.
 */
export async function checkWritable(path: string): Promise<void> {
  const target = await step("follow the link", path, () => linkTarget(path));
  await makeDirectory(directoryOf(target), target, DEFAULT_DIR_MODE);
  const { temp, file } = await createTemp(target, DEFAULT_FILE_MODE);
  file.close();
  await removeQuietly(temp);
}

/**
 * Removes the temporary files that interrupted {@linkcode writeFileAtomic}
 * calls for `path` (or its link target) left behind: files in its directory
 * named `<name>.tmp-<digits>-<8 hex digits>`, nothing else. Returns how many
 * were removed; a missing directory counts as none.
 */
export async function removeStaleTempFiles(path: string): Promise<number> {
  const { dir, name } = splitPath(await linkTarget(path));
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
