/**
 * calcnet: the course's calculator server, caching proxy and client, in one
 * program. This file only picks the subcommand and dispatches; only it exits.
 *
 * @module
 */

import denoConfig from "./deno.json" with { type: "json" };
import { CalcnetError, ExitCode } from "./src/base/mod.ts";
import {
  benchCommand,
  cacheCommand,
  checkCommand,
  clientCommand,
  closestMatch,
  type Command,
  decodeCommand,
  demoCommand,
  permissionErrorOf,
  proxyCommand,
  serverCommand,
  wiresharkCommand,
} from "./src/cli/mod.ts";

/** Every subcommand, by name. */
export const COMMANDS = {
  server: serverCommand,
  proxy: proxyCommand,
  client: clientCommand,
  demo: demoCommand,
  bench: benchCommand,
  check: checkCommand,
  cache: cacheCommand,
  decode: decodeCommand,
  wireshark: wiresharkCommand,
} as const satisfies Record<string, Command>;

type CommandName = keyof typeof COMMANDS;

function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

function usage(): string {
  const names = Object.keys(COMMANDS) as CommandName[];
  const width = Math.max(...names.map((name) => name.length)) + 2;
  return [
    `calcnet ${denoConfig.version} — the course's calculator protocol: server, caching proxy, client`,
    "",
    "Usage: calcnet <command> [options]",
    "",
    "Commands:",
    ...names.map((name) => `  ${name.padEnd(width)}${COMMANDS[name].spec.summary}`),
    "",
    "Options:",
    "  -h, --help     show this help (a command's: calcnet help <command>, calcnet <command> -h)",
    "  -V, --version  print the version",
    "",
    "Exit status: 0 done, 1 a failure the command reports (an error answer, a failed check),",
    "2 usage error or a missing permission, 3 connection or protocol failure.",
    "",
    "Examples:",
    "  calcnet demo",
    "  calcnet server",
    "  calcnet proxy --server 127.0.0.1:9999",
    '  calcnet client --steps "max(2, 3) + 3"',
  ].join("\n");
}

/** Runs calcnet with `args` and returns the exit code. */
export async function main(args: readonly string[]): Promise<ExitCode> {
  const [name, ...rest] = args;
  if (name === undefined) {
    // Not what was asked for: the help goes where errors go.
    console.error(usage());
    return ExitCode.Usage;
  }
  if (name === "-h" || name === "--help" || (name === "help" && rest.length === 0)) {
    console.log(usage());
    return ExitCode.Ok;
  }
  if (name === "-V" || name === "--version") {
    console.log(`calcnet ${denoConfig.version}`);
    return ExitCode.Ok;
  }
  if (name === "help") return await main([rest[0] ?? "", "--help", ...rest.slice(1)]);
  if (!isCommandName(name)) {
    const suggestion = closestMatch(name, Object.keys(COMMANDS));
    console.error(
      `calcnet: unknown command '${name}'${
        suggestion ? ` (did you mean '${suggestion}'?)` : ""
      }; ` +
        "see 'calcnet --help'",
    );
    return ExitCode.Usage;
  }
  try {
    return await COMMANDS[name].run(rest);
  } catch (error: unknown) {
    const failure = error instanceof Deno.errors.NotCapable ? permissionErrorOf(error) : error;
    if (!(failure instanceof CalcnetError)) throw error;
    console.error(`calcnet ${name}: ${failure.message}`);
    return failure.exitCode;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
