/**
 * One proxy per cache file: a lock file beside it, `<cache file>.lock`,
 * held with an exclusive advisory lock of the operating system (`flock` on
 * Unix, `LockFileEx` on Windows) and naming its holder (pid, host name,
 * since when) for the error message a second proxy gives.
 *
 * Why the system's lock and not "is that pid alive?": the kernel releases
 * the lock when its holder ends in any way (SIGKILL and power loss
 * included), it needs no permission beyond reading and writing the file
 * (the release binary has neither `--allow-run` for `Deno.kill(pid, 0)` nor
 * access to `/proc`, which Deno grants only with `--allow-all`), it works the
 * same on macOS and Windows, and a recycled pid cannot fool it. A lock file
 * that names a holder but that no process holds was left by a proxy that
 * ended without releasing it: it is stale and taken over, and the caller
 * logs that.
 *
 * @module
 */

import { UsageError } from "../base/mod.ts";
import { unixSeconds, writeAll } from "../protocol/mod.ts";
import { localHostName } from "./host_name.ts";
import { isIoError } from "./io_error.ts";

/** Permissions of the lock file: the owner only, as the cache file. */
const LOCK_FILE_MODE = 0o600;

/** The most bytes of a lock file read: a holder line is well under 400. */
const MAX_LOCK_FILE_BYTES = 1024;

/** Tries before giving up when the lock file keeps being replaced under us. */
const MAX_ATTEMPTS = 5;

/** Who holds (or held) a lock. */
export interface LockHolder {
  /** Its process id. */
  readonly pid: number;
  /** Its machine's name ("" when unknown). */
  readonly host: string;
  /** When it took the lock, Unix seconds. */
  readonly since: number;
}

/** The lock file of a cache file. */
export function lockFileOf(cacheFile: string): string {
  return `${cacheFile}.lock`;
}

/** `holder` in words: "pid 123 on host lab-7". */
export function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid}${holder.host === "" ? "" : ` on host ${holder.host}`}`;
}

/** Another process holds the lock: a usage error (exit 2), in one line. */
export class CacheLockedError extends UsageError {
  /** The class name, as error messages show it. */
  /** The class name, as messages and logs show it. */
  override name: string = "CacheLockedError";
  /** The holder the lock file names, when it could be read. */
  readonly holder: LockHolder | undefined;

  /** The error for `cacheFile`, whose lock file names `holder`. */
  constructor(cacheFile: string, holder: LockHolder | undefined) {
    super(
      `cache file ${cacheFile} is in use by another calcnet proxy (${
        holder === undefined ? "its pid is unknown" : describeHolder(holder)
      }; lock file ${lockFileOf(cacheFile)}); stop that proxy first or name another --cache-file`,
    );
    this.holder = holder;
  }
}

/** This process as a lock holder. */
export function thisProcess(): LockHolder {
  return { pid: Deno.pid, host: localHostName(), since: unixSeconds(Date.now()) };
}

/** The holder a lock file's text names, or undefined when it names none. */
function parseHolder(text: string): LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { pid, host, since } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(pid) || typeof host !== "string" || typeof since !== "number") {
    return undefined;
  }
  return { pid: pid as number, host, since };
}

/** The holder `file` names; undefined when empty, unreadable or not ours. */
async function readHolder(file: Deno.FsFile): Promise<LockHolder | undefined> {
  const buffer = new Uint8Array(MAX_LOCK_FILE_BYTES);
  let used = 0;
  try {
    await file.seek(0, Deno.SeekMode.Start);
    while (used < buffer.length) {
      const read = await file.read(buffer.subarray(used));
      if (read === null) break;
      used += read;
    }
  } catch (error) {
    // Windows refuses to read a range another process has locked.
    if (isIoError(error)) return undefined;
    throw error;
  }
  return parseHolder(new TextDecoder().decode(buffer.subarray(0, used)));
}

/** Whether `path` still names the file open as `file` (a releasing holder may have removed it). */
async function stillNamed(file: Deno.FsFile, path: string): Promise<boolean> {
  const open = await file.stat();
  if (open.ino === null) return true; // no inode numbers to compare (Windows)
  try {
    const named = await Deno.stat(path);
    return named.ino === open.ino && named.dev === open.dev;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * A held cache lock. {@linkcode CacheLock.release} (or disposing it) removes
 * the lock file and releases the lock.
 */
export class CacheLock implements Disposable {
  /** The lock file. */
  readonly path: string;
  /**
   * The holder a lock file no process held named: it ended without
   * releasing the lock (killed), and this lock took over from it.
   */
  readonly stale: LockHolder | undefined;
  #file: Deno.FsFile | undefined;

  /** Wraps an open, locked lock file. Use {@linkcode acquireCacheLock}. */
  constructor(path: string, file: Deno.FsFile, stale: LockHolder | undefined) {
    this.path = path;
    this.#file = file;
    this.stale = stale;
  }

  /** Whether the lock is still held. */
  get held(): boolean {
    return this.#file !== undefined;
  }

  /**
   * Empties and removes the lock file, then releases the lock (closing the
   * file). Synchronous, so that it can run on any way out. A second call
   * does nothing.
   */
  release(): void {
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    try {
      // Emptied first: should the removal fail, the file left names no one (not stale).
      file.truncateSync(0);
      Deno.removeSync(this.path);
    } catch (error) {
      if (!isIoError(error)) throw error;
    } finally {
      file.close();
    }
  }

  /** Releases the lock. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/** Opens (creating) the lock file and tries to lock it; the file when locked, else the holder. */
async function tryLockFile(
  path: string,
): Promise<{ file: Deno.FsFile } | { holder: LockHolder | undefined }> {
  const file = await Deno.open(
    path,
    Deno.build.os === "windows"
      ? { read: true, write: true, create: true }
      : { read: true, write: true, create: true, mode: LOCK_FILE_MODE },
  );
  try {
    if (await file.tryLock(true)) return { file };
    const holder = await readHolder(file);
    file.close();
    return { holder };
  } catch (error) {
    file.close();
    throw error;
  }
}

/**
 * Takes the lock of `cacheFile` for `holder` (default: this process): opens
 * or creates `<cacheFile>.lock` (the directory must exist), locks it
 * without waiting, and writes the holder into it as one line of JSON,
 * e.g. `{"pid":4242,"host":"lab-7","since":1767225660}`.
 *
 * @throws {CacheLockedError} when another process holds it.
 * @throws the I/O error of creating, locking or writing the lock file.
 */
export async function acquireCacheLock(
  cacheFile: string,
  holder: LockHolder = thisProcess(),
): Promise<CacheLock> {
  const path = lockFileOf(cacheFile);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const tried = await tryLockFile(path);
    if (!("file" in tried)) throw new CacheLockedError(cacheFile, tried.holder);
    const { file } = tried;
    try {
      if (!(await stillNamed(file, path))) {
        file.close();
        continue;
      }
      const stale = await readHolder(file);
      await file.truncate(0);
      await file.seek(0, Deno.SeekMode.Start);
      await writeAll(file, new TextEncoder().encode(`${JSON.stringify(holder)}\n`));
      return new CacheLock(path, file, stale);
    } catch (error) {
      file.close();
      throw error;
    }
  }
  throw new CacheLockedError(cacheFile, undefined);
}
