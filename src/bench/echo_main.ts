/**
 * Entry point of the benchmark's framed echo server, run as its own process
 * by `deno task bench-suite`: `deno run --allow-net src/bench/echo_main.ts
 * [--port PORT]`. Prints "echo server listening on HOST:PORT" to stderr and
 * runs until SIGINT or SIGTERM.
 *
 * @module
 */

import { ExitCode } from "../base/mod.ts";
import {
  type Command,
  command,
  type CommandSpec,
  flag,
  MAX_PORT,
  type ParsedArgs,
  stopSignal,
} from "../term/mod.ts";
import { startEchoServer } from "./echo_server.ts";
import { runScript } from "./script_main.ts";

/** Flags of the echo server. */
export const ECHO_FLAGS = {
  host: flag.host("interface to listen on", { default: "127.0.0.1" }),
  port: flag.integer("port to listen on (0: any free port)", { min: 0, max: MAX_PORT, default: 0 }),
} as const;

/** The echo server's interface. */
export const ECHO_SPEC: CommandSpec<typeof ECHO_FLAGS> = {
  name: "echo_main.ts",
  summary: "the benchmark's framed echo server: every packet straight back",
  flags: ECHO_FLAGS,
  examples: ["deno run --allow-net src/bench/echo_main.ts --port 9997"],
  permissions: [{ flag: "--allow-net" }],
};

/** Serves until stopped by a signal. */
async function echoMain({ flags }: ParsedArgs<typeof ECHO_FLAGS>): Promise<ExitCode> {
  using stop = stopSignal();
  const echo = startEchoServer({ hostname: flags.host, port: flags.port, signal: stop.signal });
  console.error(`echo server listening on ${echo.addr.hostname}:${echo.addr.port}`);
  await echo.finished;
  return ExitCode.Ok;
}

/** The echo server as a command. */
export const echoCommand: Command = command(ECHO_SPEC, echoMain);

if (import.meta.main) {
  Deno.exitCode = await runScript(echoCommand, Deno.args);
}
