/**
 * `calcnet wireshark`: print the embedded Wireshark dissector, or install it
 * into the user's personal Lua plugin folder.
 *
 * @module
 */

import { ExitCode, UsageError } from "../errors.ts";
import { DISSECTOR_LUA, installDissector, personalPluginFolder } from "../wireshark/mod.ts";
import { type CommandSpec, optionalStringFlag, type ParsedArgs } from "./flags.ts";

/** Flags of `calcnet wireshark`. */
export const WIRESHARK_SPEC: CommandSpec = {
  name: "wireshark",
  summary: "print or install the Wireshark dissector (Lua) for this protocol",
  positionals: "print | install",
  flags: {
    dir: {
      type: "string",
      value: "DIR",
      description: "install into DIR instead of Wireshark's personal Lua plugin folder",
    },
  },
  examples: [
    "calcnet wireshark install",
    "calcnet wireshark print > calcnet.lua && tshark -X lua_script:calcnet.lua -r capture.pcapng",
  ],
  notes: [
    "print writes the dissector to stdout. install writes calcnet.lua into the personal Lua",
    "plugin folder (~/.local/lib/wireshark/plugins; %APPDATA%\\Wireshark\\plugins on Windows)",
    "and prints its path; restart Wireshark or use Analyze → Reload Lua Plugins.",
    "It decodes TCP ports 9998 and 9999, and other ports by recognising the header.",
  ],
};

/** Runs `calcnet wireshark print` or `calcnet wireshark install [--dir DIR]`. */
export async function wiresharkCommand(args: ParsedArgs): Promise<ExitCode> {
  const [action, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  if (action === "print") {
    if (args.strings.has("dir")) throw new UsageError("--dir goes with install, not print");
    await writeStdout(DISSECTOR_LUA);
    return ExitCode.Ok;
  }
  if (action === "install") {
    const folder = optionalStringFlag(args, "dir") ??
      personalPluginFolder({ os: Deno.build.os, env: (name) => Deno.env.get(name) });
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
