/**
 * The interactive client the assignment asks for: expressions one after
 * another over one connection until the user says exit. `#1` to `#6` send
 * the course's examples; a bare number is an expression like any other.
 *
 * @module
 */

import * as readline from "node:readline/promises";
import process from "node:process";
import { ExitCode, UsageError } from "../base/mod.ts";
import { COURSE_EXAMPLES } from "../calc/mod.ts";
import { type LastingConnection, requestData } from "../client/mod.ts";
import { printLine } from "../term/mod.ts";
import { ask, type ClientSettings, isConnectionFailure, reportFailure } from "./client_output.ts";

/** What the user typed: a request to send, or something the session answers itself. */
export type PromptInput =
  | { readonly kind: "send"; readonly text: string }
  | { readonly kind: "nothing" | "help" | "exit" }
  | { readonly kind: "mistake"; readonly message: string };

/** Reads one line typed at the prompt. `#N` is course example N; anything else is sent as typed. */
export function readPromptLine(raw: string): PromptInput {
  const line = raw.trim();
  if (line === "") return { kind: "nothing" };
  if (line === "exit" || line === "quit") return { kind: "exit" };
  if (line === "help" || line === "?") return { kind: "help" };
  if (!line.startsWith("#")) return { kind: "send", text: line };
  const number = /^#\s*(\d+)$/.exec(line)?.[1];
  const example = number === undefined ? undefined : COURSE_EXAMPLES[Number(number) - 1];
  if (example !== undefined) return { kind: "send", text: example.text };
  return {
    kind: "mistake",
    message: `${number === undefined ? `'${line}'` : `no example #${number}`}: ` +
      `the course examples are #1 to #${COURSE_EXAMPLES.length}`,
  };
}

/** The lines that open the session (and `help` shows again), for stderr. */
export function menuLines(peer: string): string[] {
  return [
    `Connected to ${peer}. Type an expression, or #1 to #${COURSE_EXAMPLES.length} ` +
    "to send a course example:",
    ...COURSE_EXAMPLES.map((example, i) => `  #${i + 1}  ${example.text}`),
    "Type exit to disconnect, help to see this again.",
  ];
}

/**
 * Runs the session until exit, the end of input, or Ctrl-C (exit status
 * 130). A failed connection is told and the session goes on: the next
 * request connects afresh.
 */
export async function promptSession(
  conn: LastingConnection,
  settings: ClientSettings,
): Promise<ExitCode> {
  const terminal = Deno.stdin.isTerminal();
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal });
  let interrupted = false;
  // On a terminal Ctrl-C reaches readline as a key, not as a signal.
  rl.on("SIGINT", () => {
    interrupted = true;
    rl.close();
  });
  const menu = (): void => menuLines(conn.peer).forEach((line) => console.error(line));
  menu();
  let exitCode: ExitCode = ExitCode.Ok;
  let typedExit = false;
  try {
    rl.setPrompt("calc> ");
    if (terminal) rl.prompt();
    for await (const raw of rl) {
      const input = readPromptLine(raw);
      if (input.kind === "exit") {
        typedExit = true;
        break;
      }
      if (input.kind === "help") menu();
      if (input.kind === "mistake") printLine("stderr", [[input.message, "color: red"]]);
      if (input.kind === "send") {
        const code = await send(conn, settings, input.text);
        if (code !== ExitCode.Ok) exitCode = code;
      }
      if (terminal && !interrupted) rl.prompt();
    }
  } finally {
    rl.close();
  }
  // Ctrl-C and Ctrl-D leave the cursor after "calc> ": end that line for what follows.
  if (terminal && !typedExit) console.log("");
  return interrupted ? ExitCode.Interrupted : exitCode;
}

/** Sends one line's expression; a mistake or a failed connection is told, not thrown. */
async function send(
  conn: LastingConnection,
  settings: ClientSettings,
  text: string,
): Promise<ExitCode> {
  try {
    return await ask(conn, settings, text, requestData(text));
  } catch (error: unknown) {
    if (error instanceof UsageError) {
      printLine("stderr", [[error.message, "color: red"]]);
      return ExitCode.Ok;
    }
    if (!isConnectionFailure(error)) throw error;
    printLine("stderr", [[error.message, "color: red"]]);
    reportFailure(settings, text, error);
    return error.exitCode;
  }
}
