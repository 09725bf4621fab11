/**
 * Where the proxy keeps its cache file by default: one file per upstream
 * server in the per-user cache directory of the operating system, so that
 * a proxy in front of one server never answers with another server's
 * results.
 *
 * @module
 */

import { UsageError } from "../base/mod.ts";

/** The application's directory name inside the per-user cache directory. */
const APP_DIR = "calcnet";

/** The characters a host name keeps in a file name (after lower-casing). */
const PLAIN_CHARACTER = /[a-z0-9.-]/;

/**
 * The longest host part of a file name; longer ones are cut and end in a
 * hash of the whole, so the name stays within the 255 bytes file systems allow.
 */
const MAX_HOST_CHARS = 100;

/** What a shortened host part keeps of the escaped host before its hash. */
const SHORTENED_HOST_CHARS = MAX_HOST_CHARS - 9;

/** FNV-1a's 32-bit offset basis and prime. */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** What {@linkcode defaultCacheFile} looks at (injected in tests). */
export interface CacheDirEnvironment {
  /** The operating system, as `Deno.build.os` names it. */
  readonly os: typeof Deno.build.os;
  /** Reads an environment variable (undefined when unset). */
  readonly env: (name: string) => string | undefined;
}

/** An upstream server's address, as `--server` gives it. */
export interface ServerAddress {
  /** A host name, IPv4 address or IPv6 address (without brackets). */
  readonly hostname: string;
  /** The TCP port. */
  readonly port: number;
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

/** FNV-1a of `text`'s UTF-16 code units, as 8 hex digits. */
function fnv1a(text: string): string {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/**
 * A host as part of a file name, distinct hosts giving distinct parts:
 * lower case (host names ignore case); letters, digits, `.` and `-` kept;
 * `:` as `_` (IPv6: `::1` → `__1`); any other character as `%` and its
 * UTF-8 bytes in hex (`%25` for `%`, `%5f` for `_`).
 */
function hostPart(hostname: string): string {
  let part = "";
  for (const character of hostname.toLowerCase()) {
    if (PLAIN_CHARACTER.test(character)) {
      part += character;
    } else if (character === ":") {
      part += "_";
    } else {
      for (const byte of new TextEncoder().encode(character)) {
        part += `%${byte.toString(16).padStart(2, "0")}`;
      }
    }
  }
  return part.length <= MAX_HOST_CHARS
    ? part
    : `${part.slice(0, SHORTENED_HOST_CHARS)}~${fnv1a(part)}`;
}

/**
 * The cache file's name for a server, safe on every file system:
 * `cache-127.0.0.1-9999.json`, `cache-__1-9999.json` for `[::1]:9999`,
 * `cache-localhost-9999.json`.
 */
export function cacheFileName(server: ServerAddress): string {
  return `cache-${hostPart(server.hostname)}-${server.port}.json`;
}

/**
 * The per-user cache directory calcnet uses:
 * - Windows: `%LOCALAPPDATA%\calcnet` (else `%USERPROFILE%\AppData\Local\calcnet`);
 * - macOS: `~/Library/Caches/calcnet`;
 * - Linux and other Unix systems: `$XDG_CACHE_HOME/calcnet` when
 *   XDG_CACHE_HOME is an absolute path (the XDG rule), else `~/.cache/calcnet`.
 *
 * Reads the environment (needs `--allow-env`).
 *
 * @throws {UsageError} when the environment names no home directory, so the
 *   cache file has to be given explicitly.
 */
export function defaultCacheDir(environment: CacheDirEnvironment = PROCESS_ENVIRONMENT): string {
  if (environment.os === "windows") {
    const local = variable(environment, "LOCALAPPDATA");
    if (local !== undefined) return `${local}\\${APP_DIR}`;
    const profile = variable(environment, "USERPROFILE");
    if (profile !== undefined) return `${profile}\\AppData\\Local\\${APP_DIR}`;
    throw new UsageError(
      "cannot find the user's cache directory: LOCALAPPDATA and USERPROFILE are unset; " +
        "name a cache file with --cache-file",
    );
  }
  const xdg = variable(environment, "XDG_CACHE_HOME");
  if (environment.os !== "darwin" && xdg !== undefined && xdg.startsWith("/")) {
    return `${xdg}/${APP_DIR}`;
  }
  const home = variable(environment, "HOME");
  if (home === undefined) {
    throw new UsageError(
      "cannot find the user's cache directory: HOME is unset; name a cache file with --cache-file",
    );
  }
  return environment.os === "darwin"
    ? `${home}/Library/Caches/${APP_DIR}`
    : `${home}/.cache/${APP_DIR}`;
}

/**
 * The default cache file of a proxy in front of `server`: its
 * {@linkcode cacheFileName} in the {@linkcode defaultCacheDir}, e.g.
 * `~/.cache/calcnet/cache-127.0.0.1-9999.json`. The directory is created
 * when the proxy starts, not here.
 *
 * @throws {UsageError} when the environment names no home directory.
 */
export function defaultCacheFile(
  server: ServerAddress,
  environment: CacheDirEnvironment = PROCESS_ENVIRONMENT,
): string {
  const separator = environment.os === "windows" ? "\\" : "/";
  return `${defaultCacheDir(environment)}${separator}${cacheFileName(server)}`;
}
