/**
 * `calcnet wireshark`: print the embedded Wireshark dissector, or install it
 * into the user's personal Lua plugin folder.
 *
 * @module
 */

import { ExitCode, UsageError } from "../base/mod.ts";
import { DISSECTOR_LUA, installDissector, personalPluginFolder } from "../wireshark/mod.ts";
import { type Command, command, type CommandSpec, flag, type ParsedArgs } from "../term/mod.ts";
import { requirePermission } from "./permissions.ts";

/** Flags of `calcnet wireshark`. */
export const WIRESHARK_FLAGS = {
  dir: flag.string("install into DIR instead of Wireshark's personal Lua plugin folder", {
    value: "DIR",
  }),
} as const;

/** The interface of `calcnet wireshark`. */
export const WIRESHARK_SPEC: CommandSpec<typeof WIRESHARK_FLAGS> = {
  name: "wireshark",
  summary: "print or install the Wireshark dissector (Lua) for this protocol",
  positionals: "print | install",
  flags: WIRESHARK_FLAGS,
  examples: [
    "calcnet wireshark install",
    "calcnet wireshark print > calcnet.lua && tshark -X lua_script:calcnet.lua -r capture.pcapng",
  ],
  notes: [
    "print writes the dissector to stdout. install writes calcnet.lua into the personal Lua",
    "plugin folder (~/.local/lib/wireshark/plugins; %APPDATA%\\Wireshark\\plugins on Windows)",
    "and prints its path; restart Wireshark or use Analyze → Reload Lua Plugins.",
    "It decodes TCP ports 9998 and 9999, and other ports by recognising the header.",
    "Exit status: 0 done, 1 the folder cannot be made or written, 2 usage error or a",
    "missing permission.",
  ],
  permissions: [
    { flag: "--allow-env", when: "install: the personal plugin folder" },
    { flag: "--allow-write", when: "install" },
  ],
};

/** Runs `calcnet wireshark print` or `calcnet wireshark install [--dir DIR]`. */
async function wiresharkMain(args: ParsedArgs<typeof WIRESHARK_FLAGS>): Promise<ExitCode> {
  const [action, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  if (action === "print") {
    if (args.flags.dir !== undefined) throw new UsageError("--dir goes with install, not print");
    await writeStdout(DISSECTOR_LUA);
    return ExitCode.Ok;
  }
  if (action === "install") {
    const folder = args.flags.dir ??
      personalPluginFolder({ os: Deno.build.os, env: (name) => Deno.env.get(name) });
    requirePermission({ name: "write", path: folder }, "--allow-write", `writing into ${folder}`);
    console.log(await installDissector(folder));
    return ExitCode.Ok;
  }
  throw new UsageError(
    action === undefined
      ? "say what to do: 'calcnet wireshark print' or 'calcnet wireshark install'"
      : `unknown action '${action}': use print or install`,
  );
}

/** Writes all of `text` to stdout (console.log would add a newline). */
async function writeStdout(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}

/** `calcnet wireshark`. */
export const wiresharkCommand: Command = command(WIRESHARK_SPEC, wiresharkMain);
