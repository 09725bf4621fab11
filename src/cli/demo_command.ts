/**
 * `calcnet demo`.
 *
 * @module
 */

import { runDemo } from "../demo/mod.ts";
import { type Command, command, type CommandSpec } from "./flags.ts";
import { printLine } from "../term/mod.ts";

/** The interface of `calcnet demo`: no flags. */
export const DEMO_SPEC: CommandSpec<Record<never, never>> = {
  name: "demo",
  summary: "replay the assignment's three experiments with a server and a proxy, step by step",
  flags: {},
  examples: ["calcnet demo", "deno task demo"],
  notes: [
    "Starts a server and a proxy in this process on free ports, then: (3.1) asks the server a",
    "question twice and another once; (3.2) the same through the proxy: miss, hit, miss;",
    "(3.3) stops the server: the cached question is still answered, a new one gets the error.",
  ],
  permissions: [{ flag: "--allow-net" }],
};

/** `calcnet demo`. */
export const demoCommand: Command = command(
  DEMO_SPEC,
  () => runDemo((pieces) => printLine("stdout", pieces)),
);
