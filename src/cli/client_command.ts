/**
 * `calcnet client`: send expressions and print the answers as the course
 * client does, or run the interactive session the assignment asks for.
 *
 * @module
 */

import { ExitCode } from "../base/mod.ts";
import { LastingConnection, requestData } from "../client/mod.ts";
import {
  type Command,
  command,
  type CommandSpec,
  flag,
  MAX_PORT,
  type ParsedArgs,
} from "../term/mod.ts";
import { MAX_AGE_FOREVER } from "../protocol/mod.ts";
import {
  ask,
  type ClientSettings,
  diagnostic,
  isConnectionFailure,
  reportFailure,
} from "./client_output.ts";
import { promptSession } from "./client_prompt.ts";

/** Flags of `calcnet client`. */
export const CLIENT_FLAGS = {
  host: flag.host("server or proxy host (the port goes in --port)", {
    value: "HOST",
    default: "127.0.0.1",
    aliases: ["-H"],
  }),
  port: flag.integer("server or proxy port (the proxy: 9998)", {
    value: "PORT",
    short: "p",
    min: 1,
    max: MAX_PORT,
    default: 9999,
  }),
  steps: flag.boolean("ask for the computation steps", { short: "s" }),
  "no-cache": flag.boolean("send C=0: the answer must not be cached"),
  "max-age": flag.integer(
    "oldest cached answer accepted, 0-65535 (0: compute afresh; 65535: any)",
    { value: "SECONDS", min: 0, max: MAX_AGE_FOREVER, default: MAX_AGE_FOREVER },
  ),
  json: flag.boolean(
    "print JSON Lines: one object per line for each answer, and for a connection failure",
  ),
  timeout: flag.seconds("give up connecting or waiting for an answer after this long", {
    default: 10,
  }),
  quiet: flag.boolean("no connection lines on stderr (answers and cached notes still print)", {
    short: "q",
  }),
} as const;

/** The interface of `calcnet client`. */
export const CLIENT_SPEC: CommandSpec<typeof CLIENT_FLAGS> = {
  name: "client",
  summary: "send expressions to a calcnet or course server or proxy and print the answers",
  positionals: "[EXPR...]",
  flags: CLIENT_FLAGS,
  examples: [
    'calcnet client "sin(max(2, 3 * 4)) / 12 * 13"',
    'calcnet client --steps "max(2, 3) + 3" "1 / 0"',
    "calcnet client -p 9998 --steps            # interactive, through the proxy",
    'calcnet client --json --max-age 0 "2 ** 100"',
  ],
  notes: [
    "With expressions, sends each over one connection; an answer that cannot be printed is",
    "reported in its place and the next is still sent. Without, starts an interactive session:",
    "type an expression, or #1 to #6 for a course example, again and again, until exit (a bare",
    "number such as 7 is an expression). A connection the server or proxy closed meanwhile (an",
    "idle timeout, a restart) is reopened quietly before the next request; only a failure to",
    "reconnect is reported.",
    "An answer made before the second it was asked in came from a cache: its first line ends",
    "in '(cached, N s old)' (JSON: cached, age_seconds). Fresh answers print exactly as the",
    "course's client prints them.",
    "Exit status: 0 all answered, 1 an error answer or one that cannot be read, 2 usage or",
    "parse error or a missing permission, 3 connection or protocol failure, 130 Ctrl-C at the",
    "prompt.",
  ],
  permissions: [{ flag: "--allow-net" }],
};

/** Runs `calcnet client`. */
async function clientMain(args: ParsedArgs<typeof CLIENT_FLAGS>): Promise<ExitCode> {
  const { flags } = args;
  const settings: ClientSettings = {
    flags: {
      showSteps: flags.steps,
      cacheResult: !flags.noCache,
      cacheControl: flags.noCache ? 0 : flags.maxAge,
    },
    json: flags.json,
    quiet: flags.quiet,
  };
  // Parse everything before connecting: a typo should not send half the list.
  const expressions = args.positionals.map((text) => ({ text, data: requestData(text) }));
  let conn: LastingConnection;
  try {
    conn = await LastingConnection.open(flags.host, flags.port, {
      connectTimeoutMs: flags.timeout,
      answerTimeoutMs: flags.timeout,
    });
  } catch (error: unknown) {
    if (isConnectionFailure(error)) reportFailure(settings, null, error);
    throw error;
  }
  using _conn = conn;
  diagnostic(settings, `{${conn.peer}} Connection established`);
  try {
    if (expressions.length === 0) return await promptSession(conn, settings);
    return await batch(conn, settings, expressions);
  } finally {
    diagnostic(settings, `{${conn.peer}} Connection closed`);
  }
}

/**
 * Sends each expression in turn. An error answer, or one that cannot be
 * read, is printed in its place and the next is sent; a connection that
 * cannot be had ends the batch.
 */
async function batch(
  conn: LastingConnection,
  settings: ClientSettings,
  expressions: readonly { readonly text: string; readonly data: Uint8Array }[],
): Promise<ExitCode> {
  let exitCode: ExitCode = ExitCode.Ok;
  for (const { text, data } of expressions) {
    try {
      if (await ask(conn, settings, text, data) !== ExitCode.Ok) exitCode = ExitCode.Failure;
    } catch (error: unknown) {
      if (isConnectionFailure(error)) reportFailure(settings, text, error);
      throw error;
    }
  }
  return exitCode;
}

/** `calcnet client`. */
export const clientCommand: Command = command(CLIENT_SPEC, clientMain);
