/**
 * Where the proxy keeps its cache file by default: the per-user cache
 * directory of the operating system.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** The cache file's name inside the application's cache directory. */
export const CACHE_FILE_NAME = "proxy-cache.json";

/** The application's directory name inside the per-user cache directory. */
const APP_DIR = "calcnet";

/** What {@linkcode defaultCacheFile} looks at (injected in tests). */
export interface CacheDirEnvironment {
  /** The operating system, as `Deno.build.os` names it. */
  readonly os: typeof Deno.build.os;
  /** Reads an environment variable (undefined when unset). */
  readonly env: (name: string) => string | undefined;
}

/** The running process's operating system and environment. */
const PROCESS_ENVIRONMENT: CacheDirEnvironment = {
  os: Deno.build.os,
  env: (name) => Deno.env.get(name),
};

/** An environment variable's value, treating the empty string as unset. */
function variable(environment: CacheDirEnvironment, name: string): string | undefined {
  const value = environment.env(name);
  return value === "" ? undefined : value;
}

/**
 * The default cache file:
 * - Windows: `%LOCALAPPDATA%\calcnet\proxy-cache.json` (else
 *   `%USERPROFILE%\AppData\Local\...`);
 * - macOS: `~/Library/Caches/calcnet/proxy-cache.json`;
 * - Linux and other Unix systems: `$XDG_CACHE_HOME/calcnet/proxy-cache.json`
 *   when XDG_CACHE_HOME is an absolute path (the XDG rule), else
 *   `~/.cache/calcnet/proxy-cache.json`.
 *
 * Reads the environment (needs `--allow-env`); the directory is created by
 * the first save, not here.
 *
 * @throws {UsageError} when the environment names no home directory, so the
 *   cache file has to be given explicitly.
 */
export function defaultCacheFile(environment: CacheDirEnvironment = PROCESS_ENVIRONMENT): string {
  if (environment.os === "windows") {
    const local = variable(environment, "LOCALAPPDATA");
    if (local !== undefined) return `${local}\\${APP_DIR}\\${CACHE_FILE_NAME}`;
    const profile = variable(environment, "USERPROFILE");
    if (profile !== undefined) {
      return `${profile}\\AppData\\Local\\${APP_DIR}\\${CACHE_FILE_NAME}`;
    }
    throw new UsageError(
      "cannot find the user's cache directory: LOCALAPPDATA and USERPROFILE are unset; " +
        "name a cache file explicitly",
    );
  }
  const xdg = variable(environment, "XDG_CACHE_HOME");
  if (environment.os !== "darwin" && xdg !== undefined && xdg.startsWith("/")) {
    return `${xdg}/${APP_DIR}/${CACHE_FILE_NAME}`;
  }
  const home = variable(environment, "HOME");
  if (home === undefined) {
    throw new UsageError(
      "cannot find the user's cache directory: HOME is unset; name a cache file explicitly",
    );
  }
  const base = environment.os === "darwin" ? `${home}/Library/Caches` : `${home}/.cache`;
  return `${base}/${APP_DIR}/${CACHE_FILE_NAME}`;
}
