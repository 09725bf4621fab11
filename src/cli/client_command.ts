/**
 * `calcnet client`: send expressions and print the answers as the course
 * client does, or run the interactive session the assignment asks for.
 *
 * @module
 */

import * as readline from "node:readline/promises";
import process from "node:process";
import { ExitCode, ProtocolError, UsageError } from "../base/mod.ts";
import { COURSE_EXAMPLES } from "../calc/mod.ts";
import {
  answeredOk,
  answerLines,
  answerRecord,
  CalcConnection,
  readAnswer,
  requestData,
} from "../client/mod.ts";
import type { RequestFlags } from "../protocol/mod.ts";
import { type Command, command, type CommandSpec, flag, type ParsedArgs } from "../term/mod.ts";
import { printLine } from "../term/mod.ts";

/** Flags of `calcnet client`. */
export const CLIENT_FLAGS = {
  host: flag.string("server or proxy host", {
    value: "HOST",
    default: "127.0.0.1",
    aliases: ["-H"],
  }),
  port: flag.integer("server or proxy port (the proxy: 9998)", {
    value: "PORT",
    short: "p",
    min: 1,
    max: 65535,
    default: 9999,
  }),
  steps: flag.boolean("ask for the computation steps", { short: "s" }),
  "no-cache": flag.boolean("send C=0: the answer must not be cached"),
  "max-age": flag.integer(
    "oldest cached answer accepted, 0-65535 (0: compute afresh; 65535: any)",
    { value: "SECONDS", min: 0, max: 65535, default: 65535 },
  ),
  json: flag.boolean("print one JSON object per answer (for scripts)"),
  timeout: flag.seconds("give up connecting or waiting for an answer after this long", {
    default: 10,
  }),
  quiet: flag.boolean("no connection lines on stderr", { short: "q" }),
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
    "With expressions, sends each over one connection. Without, starts an interactive",
    "session: type an expression or an example's number (1-6), again and again, until exit.",
    "Exit status: 0 all answered, 1 the server answered an error, 2 usage or parse error,",
    "3 connection or protocol failure.",
  ],
};

interface ClientSettings {
  readonly flags: RequestFlags;
  readonly json: boolean;
  readonly quiet: boolean;
}

/** Runs `calcnet client`. */
async function clientMain(args: ParsedArgs<typeof CLIENT_FLAGS>): Promise<ExitCode> {
  const { flags } = args;
  const settings: ClientSettings = {
    flags: {
      steps: flags.steps,
      cache: !flags.noCache,
      maxAge: flags.noCache ? 0 : flags.maxAge,
    },
    json: flags.json,
    quiet: flags.quiet,
  };
  const timeoutMs = flags.timeout;
  // Parse everything before connecting: a typo should not send half the list.
  const expressions = args.positionals.map((text) => ({
    text,
    data: requestData(text),
  }));
  using conn = await CalcConnection.open(flags.host, flags.port, {
    connectTimeoutMs: timeoutMs,
    answerTimeoutMs: timeoutMs,
  });
  diagnostic(settings, `{${conn.peer}} Connection established`);
  try {
    if (expressions.length === 0) return await interactive(conn, settings);
    let exitCode: ExitCode = ExitCode.Ok;
    for (const { text, data } of expressions) {
      const code = await ask(conn, settings, text, data);
      if (code !== ExitCode.Ok && exitCode === ExitCode.Ok) exitCode = code;
      if (code === ExitCode.Connection) break;
    }
    return exitCode;
  } finally {
    diagnostic(settings, `{${conn.peer}} Connection closed`);
  }
}

async function ask(
  conn: CalcConnection,
  settings: ClientSettings,
  text: string,
  data: Uint8Array,
): Promise<ExitCode> {
  diagnostic(settings, `{${conn.peer}} Sending request of length ${data.length + 12} bytes`);
  const exchange = await conn.request(data, settings.flags);
  diagnostic(settings, `{${conn.peer}} Got response of length ${exchange.response.length} bytes`);
  const answer = readAnswer(exchange);
  if (settings.json) {
    console.log(JSON.stringify(answerRecord(text, exchange, answer)));
  } else {
    for (const line of answerLines(answer)) {
      printLine("stdout", [[line, answer.kind === "result" ? "" : "color: red"]]);
    }
  }
  if (answer.kind === "invalid") throw new ProtocolError(answer.message);
  return answeredOk(exchange, answer) ? ExitCode.Ok : ExitCode.Failure;
}

function diagnostic(settings: ClientSettings, line: string): void {
  if (!settings.quiet) printLine("stderr", [[line, "color: gray"]]);
}

/** The assignment's client: one expression after another until `exit`. */
async function interactive(conn: CalcConnection, settings: ClientSettings): Promise<ExitCode> {
  const terminal = Deno.stdin.isTerminal();
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal });
  const menu = (): void => {
    console.error(
      `Connected to ${conn.peer}. Type an expression, or a number to send a course example:`,
    );
    COURSE_EXAMPLES.forEach((example, i) => console.error(`  ${i + 1}  ${example.text}`));
    console.error("Type exit to disconnect, help to see this again.");
  };
  menu();
  let exitCode: ExitCode = ExitCode.Ok;
  try {
    rl.setPrompt("calc> ");
    if (terminal) rl.prompt();
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === "exit" || line === "quit") break;
      if (line === "help" || line === "?") menu();
      else if (line !== "") {
        const example = /^\d+$/.test(line) ? COURSE_EXAMPLES[Number(line) - 1] : undefined;
        const text = example?.text ?? line;
        try {
          const code = await ask(conn, settings, text, requestData(text));
          if (code !== ExitCode.Ok) exitCode = code;
        } catch (error: unknown) {
          if (!(error instanceof UsageError)) throw error;
          printLine("stderr", [[error.message, "color: red"]]);
        }
      }
      if (terminal) rl.prompt();
    }
  } finally {
    rl.close();
  }
  return exitCode;
}

/** `calcnet client`. */
export const clientCommand: Command = command(CLIENT_SPEC, clientMain);
