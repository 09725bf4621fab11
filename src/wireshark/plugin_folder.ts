/**
 * Where Wireshark looks for a user's own Lua plugins, per platform, and
 * writing the dissector there.
 *
 * @module
 */

import { CalcnetError, ExitCode } from "../base/mod.ts";
import { DISSECTOR_LUA } from "./dissector_lua.ts";

/** The dissector's file name in a plugin folder. */
export const PLUGIN_FILE_NAME = "calcnet.lua";

/** Read and write for the owner, read for everyone (Wireshark only reads it). */
const PLUGIN_FILE_MODE = 0o644;

/** What {@linkcode personalPluginFolder} needs to know about the system. */
export interface PlatformInfo {
  /** `Deno.build.os`. */
  readonly os: typeof Deno.build.os;
  /** An environment variable's value, or undefined. */
  readonly env: (name: string) => string | undefined;
}

/** A plugin folder that cannot be found or written. */
export class InstallError extends CalcnetError {
  /** The command failed: {@linkcode ExitCode.Failure}. */
  readonly exitCode: ExitCode = ExitCode.Failure;
  /** The class name, as messages and logs show it. */
  override name: string = "InstallError";
}

/**
 * Wireshark's personal Lua plugin folder (the "Personal Lua Plugins" line of
 * its About → Folders, or `tshark -G folders`): `%APPDATA%\Wireshark\plugins`
 * on Windows, `~/.local/lib/wireshark/plugins` on Linux, macOS and other
 * Unix-like systems (Wireshark 2.5 and later; 4.0 included).
 *
 * @throws {InstallError} when the variable it is built on (APPDATA, HOME) is unset.
 */
export function personalPluginFolder(platform: PlatformInfo): string {
  if (platform.os === "windows") {
    const appData = platform.env("APPDATA");
    if (!appData) throw new InstallError("APPDATA is not set: choose a folder with --dir");
    return `${appData}\\Wireshark\\plugins`;
  }
  const home = platform.env("HOME");
  if (!home) throw new InstallError("HOME is not set: choose a folder with --dir");
  return `${home}/.local/lib/wireshark/plugins`;
}

/**
 * Writes the dissector into `folder` (made if missing) as
 * {@linkcode PLUGIN_FILE_NAME}, replacing an older copy, and returns the
 * file's path.
 *
 * @throws {InstallError} with a one-line reason when the folder cannot be made or written.
 */
export async function installDissector(folder: string): Promise<string> {
  const separator = folder.includes("\\") && !folder.includes("/") ? "\\" : "/";
  const path = folder.endsWith(separator)
    ? folder + PLUGIN_FILE_NAME
    : folder + separator + PLUGIN_FILE_NAME;
  try {
    await Deno.mkdir(folder, { recursive: true });
    await Deno.writeTextFile(path, DISSECTOR_LUA, { mode: PLUGIN_FILE_MODE });
  } catch (error: unknown) {
    if (isFileSystemError(error)) {
      throw new InstallError(`cannot write ${path}: ${error.message.split("\n")[0]}`);
    }
    throw error;
  }
  return path;
}

/** Whether `error` is one of Deno's file-system errors (NotFound, PermissionDenied, …). */
function isFileSystemError(error: unknown): error is Error {
  return Object.values(Deno.errors).some((errorClass) => error instanceof errorClass);
}
