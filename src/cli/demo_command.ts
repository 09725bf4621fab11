/**
 * `calcnet demo`.
 *
 * @module
 */

import type { ExitCode } from "../base/mod.ts";
import { runDemo } from "../demo/mod.ts";
import { printLine } from "../term/mod.ts";
import { type Command, command, type CommandSpec, type ParsedArgs } from "../term/mod.ts";
import { RECORD_FLAGS, startRecording } from "./record_flags.ts";

/** Flags of `calcnet demo`. */
export const DEMO_FLAGS: typeof RECORD_FLAGS = { ...RECORD_FLAGS };

/** The interface of `calcnet demo`. */
export const DEMO_SPEC: CommandSpec<typeof DEMO_FLAGS> = {
  name: "demo",
  summary: "replay the assignment's three experiments with a server and a proxy, step by step",
  flags: DEMO_FLAGS,
  examples: ["calcnet demo", "calcnet demo --record demo.pcapng", "deno task demo"],
  notes: [
    "Starts a server and a proxy in this process on free ports, then: (3.1) asks the server a",
    "question twice and another once; (3.2) the same through the proxy: miss, hit, miss;",
    "(3.3) stops the server: the cached question is still answered, a new one gets the error.",
    "With --record, every connection is recorded once (at the server, and at the proxy its",
    "clients' side), each marked with its experiment in a packet comment (Wireshark:",
    'frame.comment contains "3.2"). Open the file with the dissector installed',
    "('calcnet wireshark install').",
  ],
  permissions: [{ flag: "--allow-net" }, { flag: "--allow-write", when: "--record FILE" }],
};

async function demoMain({ flags }: ParsedArgs<typeof DEMO_FLAGS>): Promise<ExitCode> {
  using recording = flags.record === undefined
    ? undefined
    : startRecording(flags.record, flags.recordMaxBytes, (line) => console.error(line));
  const code = await runDemo((pieces) => printLine("stdout", pieces), recording?.tap);
  if (recording) console.error(`recorded the experiments into ${recording.path}`);
  return code;
}

/** `calcnet demo`. */
export const demoCommand: Command = command(DEMO_SPEC, demoMain);
